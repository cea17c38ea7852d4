import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { GetQueueUrlCommand, SQSClient } from '@aws-sdk/client-sqs';
import { parseArgs } from 'node:util';
import { ActionApprovalsClient } from './index';

export interface RequestIo {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
}

export const REQUEST_USAGE = `Usage: action-approvals request --agent ID --operation SERVICE:ACTION --resource ARN
                                --justification TEXT [--parameters JSON] [--ttl SECONDS]
                                [--request-id ID] [--bus NAME] [--queue-url URL]
                                [--endpoint URL] [--timeout SECONDS]

Asks for one action and waits for its outcome, printed as JSON.
  --endpoint  send every AWS call here (the local runtime's gateway, printed by npm start)
  --queue-url the agent's outcome queue; default: looked up by name action-approvals-outcomes-<agent>
Exit codes: 0 executed, 1 denied/expired/failed/rejected, 2 usage, 3 no outcome before --timeout.`;

/** `action-approvals request …`: the agent client from a shell. */
export async function requestCommand(argv: readonly string[], io: RequestIo): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        agent: { type: 'string' },
        operation: { type: 'string' },
        resource: { type: 'string' },
        justification: { type: 'string' },
        parameters: { type: 'string', default: '{}' },
        ttl: { type: 'string' },
        'request-id': { type: 'string' },
        bus: { type: 'string', default: 'action-approvals' },
        'queue-url': { type: 'string' },
        endpoint: { type: 'string' },
        timeout: { type: 'string', default: '900' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (error) {
    io.stderr.write(`${(error as Error).message}\n\n${REQUEST_USAGE}\n`);
    return 2;
  }
  if (values.help) {
    io.stdout.write(`${REQUEST_USAGE}\n`);
    return 0;
  }
  const { agent, operation, resource, justification } = values;
  let parameters: unknown;
  try {
    parameters = JSON.parse(values.parameters);
  } catch {
    parameters = undefined;
  }
  const problems = [
    ...(agent ? [] : ['--agent is required']),
    ...(operation ? [] : ['--operation is required']),
    ...(resource ? [] : ['--resource is required']),
    ...(justification ? [] : ['--justification is required']),
    ...(typeof parameters === 'object' && parameters !== null && !Array.isArray(parameters)
      ? []
      : ['--parameters must be a JSON object']),
  ];
  if (problems.length > 0 || !agent || !operation || !resource || !justification) {
    io.stderr.write(`${problems.join('\n')}\n\n${REQUEST_USAGE}\n`);
    return 2;
  }

  const config = values.endpoint ? { endpoint: values.endpoint } : {};
  const sqs = new SQSClient(config);
  const queueUrl =
    values['queue-url'] ??
    (await sqs.send(new GetQueueUrlCommand({ QueueName: `action-approvals-outcomes-${agent}` }))).QueueUrl ??
    '';
  const client = new ActionApprovalsClient({
    events: new EventBridgeClient(config),
    sqs,
    eventBusName: values.bus,
    outcomeQueueUrl: queueUrl,
  });
  const outcome = await client.requestAction(
    {
      agentId: agent,
      operation,
      resource,
      justification,
      parameters: parameters as Record<string, unknown>,
      ...(values['request-id'] ? { requestId: values['request-id'] } : {}),
      ...(values.ttl ? { ttlSeconds: Number(values.ttl) } : {}),
    },
    Number(values.timeout) * 1000,
  );
  io.stdout.write(`${JSON.stringify(outcome, null, 2)}\n`);
  if (outcome.outcome === 'timed-out') return 3;
  return outcome.outcome === 'executed' ? 0 : 1;
}
