import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { GetQueueUrlCommand, SQSClient } from '@aws-sdk/client-sqs';
import { Command, CommanderError } from 'commander';
import { ActionApprovalsClient, type ActionOutcome } from './index';

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
      'the agent’s outcome queue, the stack output OutcomeQueueUrl<agent> (default: $ACTION_APPROVALS_OUTCOME_QUEUE_URL; with --endpoint, looked up by name)',
    )
    .option(
      '--endpoint <url>',
      'send every AWS call here (the local runtime’s gateway, printed by npm start)',
    )
    .option('--timeout <seconds>', 'how long to wait for the outcome', '900')
    .addHelpText(
      'after',
      '\nExit codes: 0 executed, 1 denied/expired/failed/rejected, 2 usage, 3 no outcome before --timeout,\n4 simulated (approved, but a local stand-in answered: nothing in AWS changed).',
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

  const config = values.endpoint ? localRuntimeConfig(values.endpoint) : {};
  const sqs = new SQSClient(config);
  // A deployed stack names each agent's queue itself (its OutcomeQueueUrl<agent> output); the
  // local runtime keeps the name it always had, so only there is the queue looked up by name.
  const queueUrl =
    values.queueUrl ??
    process.env.ACTION_APPROVALS_OUTCOME_QUEUE_URL ??
    (values.endpoint
      ? (await sqs.send(new GetQueueUrlCommand({ QueueName: `action-approvals-outcomes-${agent}` }))).QueueUrl
      : undefined);
  if (!queueUrl) {
    io.stderr.write(
      'name the outcome queue: --queue-url or ACTION_APPROVALS_OUTCOME_QUEUE_URL (the stack output OutcomeQueueUrl<agent>)\n(add --help for usage)\n',
    );
    return USAGE_EXIT;
  }
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
  return exitCodeFor(outcome);
}

/** Only a real run exits 0: a pipeline must not mistake a local stand-in's answer for a change. */
export function exitCodeFor(outcome: ActionOutcome): number {
  return EXIT_CODE_OF[outcome.outcome];
}

const EXIT_CODE_OF: Readonly<Record<ActionOutcome['outcome'], number>> = {
  executed: 0,
  denied: 1,
  expired: 1,
  failed: 1,
  rejected: 1,
  'timed-out': 3,
  simulated: 4,
};

/**
 * SDK settings for the local runtime's gateway: it answers any credentials and one region, so a
 * shell with no AWS configuration can talk to it; what the shell sets still wins.
 */
function localRuntimeConfig(endpoint: string) {
  const { AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY } = process.env;
  return {
    endpoint,
    region: AWS_REGION ?? 'us-east-1',
    ...(AWS_ACCESS_KEY_ID && AWS_SECRET_ACCESS_KEY
      ? {}
      : { credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }),
  };
}
