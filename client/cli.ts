import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { GetQueueUrlCommand, SQSClient } from '@aws-sdk/client-sqs';
import { Command, CommanderError } from 'commander';
import { ActionApprovalsClient } from './index';

export interface RequestIo {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
}

/** Exit code of a command line commander refused (unknown option, missing argument). */
const USAGE_EXIT = 2;

/**
 * Parses `argv` with a commander program and resolves to the exit code its command chose. Help
 * and errors go to `io`, never to the process, so a test reads what a user would see; commander's
 * own exits (help shown, a usage error) become 0 and 2 instead of ending the process.
 */
export async function runProgram(
  program: Command,
  argv: readonly string[],
  io: RequestIo,
  exitCode: () => number,
): Promise<number> {
  // Commands copy these settings only when created, and they were registered first: set them on every level.
  const configure = (command: Command): void => {
    command
      .exitOverride()
      .configureOutput({
        writeOut: (text) => io.stdout.write(text),
        writeErr: (text) => io.stderr.write(text),
      })
      .showHelpAfterError('(add --help for usage)');
    command.commands.forEach(configure);
  };
  configure(program);
  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (error) {
    if (!(error instanceof CommanderError)) throw error;
    return error.code === 'commander.helpDisplayed' || error.code === 'commander.version' ? 0 : USAGE_EXIT;
  }
  return exitCode();
}

interface RequestFlags {
  readonly agent?: string;
  readonly operation?: string;
  readonly resource?: string;
  readonly justification?: string;
  readonly parameters: string;
  readonly ttl?: string;
  readonly requestId?: string;
  readonly bus: string;
  readonly queueUrl?: string;
  readonly endpoint?: string;
  readonly timeout: string;
}

/** `action-approvals request …`: the agent client from a shell. */
export function registerRequestCommand(program: Command, io: RequestIo, exit: (code: number) => void): void {
  program
    .command('request')
    .description('ask for one action as an agent and wait for its outcome, printed as JSON')
    .option('--agent <id>', 'the requesting agent (required)')
    .option('--operation <service:action>', 'the IAM action (required)')
    .option('--resource <arn>', 'the resource ARN (required)')
    .option('--justification <text>', 'why the agent needs it (required)')
    .option('--parameters <json>', 'the action’s parameters as a JSON object', '{}')
    .option('--ttl <seconds>', 'how long the request may wait for approval')
    .option('--request-id <id>', 'the request’s id (default: a new UUID)')
    .option('--bus <name>', 'the EventBridge bus', 'action-approvals')
    .option(
      '--queue-url <url>',
      'the agent’s outcome queue (default: looked up as action-approvals-outcomes-<agent>)',
    )
    .option(
      '--endpoint <url>',
      'send every AWS call here (the local runtime’s gateway, printed by npm start)',
    )
    .option('--timeout <seconds>', 'how long to wait for the outcome', '900')
    .addHelpText(
      'after',
      '\nExit codes: 0 executed, 1 denied/expired/failed/rejected, 2 usage, 3 no outcome before --timeout.',
    )
    .action(async (values: RequestFlags) => exit(await runRequest(values, io)));
}

/** `action-approvals request …` on its own, for callers that hold the arguments after `request`. */
export async function requestCommand(argv: readonly string[], io: RequestIo): Promise<number> {
  let code = 0;
  const program = new Command('action-approvals');
  registerRequestCommand(program, io, (chosen) => {
    code = chosen;
  });
  return runProgram(program, ['request', ...argv], io, () => code);
}

async function runRequest(values: RequestFlags, io: RequestIo): Promise<number> {
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
    io.stderr.write(`${problems.join('\n')}\n(add --help for usage)\n`);
    return USAGE_EXIT;
  }

  const config = values.endpoint ? { endpoint: values.endpoint } : {};
  const sqs = new SQSClient(config);
  const queueUrl =
    values.queueUrl ??
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
      ...(values.requestId ? { requestId: values.requestId } : {}),
      ...(values.ttl ? { ttlSeconds: Number(values.ttl) } : {}),
    },
    Number(values.timeout) * 1000,
  );
  io.stdout.write(`${JSON.stringify(outcome, null, 2)}\n`);
  if (outcome.outcome === 'timed-out') return 3;
  return outcome.outcome === 'executed' ? 0 : 1;
}
