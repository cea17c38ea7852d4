import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { Command } from 'commander';
import { StatusApiClient } from '../status';
import { AGENT_ENVIRONMENT } from './agent-settings';

export interface CommandIo {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
}

const processIo: CommandIo = { stdout: process.stdout, stderr: process.stderr };

interface StatusOptions {
  readonly agent?: string;
  readonly statusUrl?: string;
}

/** The status API as the agent, with the SDK's credentials and region (and `AWS_ENDPOINT_URL`). */
function statusApi(
  options: StatusOptions,
  io: CommandIo,
): { agentId: string; api: StatusApiClient } | undefined {
  const agentId = options.agent ?? process.env[AGENT_ENVIRONMENT.agentId];
  const url = options.statusUrl ?? process.env[AGENT_ENVIRONMENT.statusUrl];
  if (!agentId || !url) {
    io.stderr.write(
      `name the agent and the status API: --agent or ${AGENT_ENVIRONMENT.agentId}, --status-url or ${AGENT_ENVIRONMENT.statusUrl}\n`,
    );
    process.exitCode = 2;
    return undefined;
  }
  const { config } = new EventBridgeClient({});
  return {
    agentId,
    api: new StatusApiClient({ url, region: config.region, credentials: config.credentials }),
  };
}

const withStatusOptions = (command: Command) =>
  command
    .option('--agent <id>', `the agent (default: $${AGENT_ENVIRONMENT.agentId})`)
    .option('--status-url <url>', `the status API (default: $${AGENT_ENVIRONMENT.statusUrl})`);

/** `action-approvals status <id>`: one of the agent's requests, as JSON. Exit 1 when unknown. */
export function statusCommand(io: CommandIo = processIo): Command {
  return withStatusOptions(new Command('status'))
    .description('show one of the agent’s requests: state, votes, expiry, parameters, receipt')
    .argument('<id>', 'the request id')
    .action(async (requestId: string, options: StatusOptions) => {
      const found = statusApi(options, io);
      if (!found) return;
      const status = await found.api.getRequest(found.agentId, requestId);
      if (!status) {
        io.stderr.write(`no request "${requestId}"\n`);
        process.exitCode = 1;
        return;
      }
      io.stdout.write(`${JSON.stringify(status, null, 2)}\n`);
    });
}

/** `action-approvals list`: the agent's recent requests, one line each. */
export function listCommand(io: CommandIo = processIo): Command {
  return withStatusOptions(new Command('list'))
    .description('list the agent’s recent requests and their states')
    .option('--limit <n>', 'at most this many', '25')
    .option('--json', 'print the full statuses as JSON')
    .action(async (options: StatusOptions & { limit: string; json?: boolean }) => {
      const found = statusApi(options, io);
      if (!found) return;
      const requests = await found.api.listRequests(found.agentId, Number(options.limit));
      if (options.json) {
        io.stdout.write(`${JSON.stringify(requests, null, 2)}\n`);
        return;
      }
      for (const request of requests) {
        io.stdout.write(
          `${request.createdAt}  ${request.state.padEnd(17)}  ${request.requestId}  ${request.operation} ${request.resource}\n`,
        );
      }
    });
}
