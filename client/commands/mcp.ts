import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { Command, InvalidArgumentError } from 'commander';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { IamDataReference } from '../../lambdas/adapters/iam-reference';
import { loadPolicySources } from '../../lambdas/adapters/policy-files';
import { explainPolicy, type ExplainDeps } from '../../lambdas/app/explain-policy';
import { systemClock } from '../../lambdas/app/ports';
import { Directory } from '../../lambdas/core/directory';
import { PolicyEngine } from '../../lambdas/core/policy';
import { createMcpServer, type McpServerDeps } from '../mcp/server';
import { AGENT_ENVIRONMENT, connectAgent } from './agent-settings';

/** Long enough for most decisions, short enough for MCP clients' usual 60 s request timeout. */
const DEFAULT_WAIT_SECONDS = 50;

/**
 * Cedar's policies and IAM's reference, loaded on the first explain_policy call. Without a
 * directory, every resource is placed in the default environment, `production`: the strict one.
 */
function explainer(agentId: string, environment: NodeJS.ProcessEnv): McpServerDeps['explain'] {
  let deps: ExplainDeps | undefined;
  return async (query) => {
    if (!deps) {
      const loaded = PolicyEngine.load(loadPolicySources(environment[AGENT_ENVIRONMENT.policyDir]));
      if (!loaded.ok) throw loaded.error;
      const directory = Directory.parse({
        agents: {},
        reviewers: [],
        environments: JSON.parse(
          environment[AGENT_ENVIRONMENT.environments] ?? '{"accounts":{},"default":"production"}',
        ) as unknown,
      });
      if (!directory.ok) throw new Error(`${AGENT_ENVIRONMENT.environments}: ${directory.error}`);
      deps = {
        iam: new IamDataReference(),
        policy: loaded.value,
        directory: directory.value,
        clock: systemClock,
      };
    }
    const account = environment[AGENT_ENVIRONMENT.account];
    return explainPolicy({ ...query, agentId, ...(account ? { account } : {}) }, deps);
  };
}

/** What the MCP server needs, from the environment the MCP client starts it with. */
export async function mcpDepsFromEnvironment(environment: NodeJS.ProcessEnv): Promise<McpServerDeps> {
  const connection = await connectAgent(environment);
  const waitSeconds = Number(environment[AGENT_ENVIRONMENT.waitSeconds] ?? DEFAULT_WAIT_SECONDS);
  return { ...connection, explain: explainer(connection.agentId, environment), waitMs: waitSeconds * 1000 };
}

/**
 * Streamable HTTP on `host:port`, stateless: each POST gets a server of its own. Host headers
 * other than the listening address are refused (DNS rebinding).
 */
export async function serveHttp(deps: McpServerDeps, host: string, port: number): Promise<Server> {
  const http = createServer((request, response) => {
    if (new URL(request.url ?? '/', 'http://mcp').pathname !== '/mcp') {
      response.writeHead(404).end();
      return;
    }
    const server = createMcpServer(deps);
    const { port: listening } = http.address() as AddressInfo;
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
      enableDnsRebindingProtection: true,
      allowedHosts: [`${host}:${listening}`, `localhost:${listening}`],
    });
    response.on('close', () => {
      void transport.close();
      void server.close();
    });
    server
      .connect(transport)
      .then(() => transport.handleRequest(request, response))
      .catch((error: unknown) => {
        if (!response.headersSent) response.writeHead(500).end(String(error));
      });
  });
  await new Promise<void>((resolve) => http.listen(port, host, resolve));
  return http;
}

function portNumber(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65_535)
    throw new InvalidArgumentError('not a port number');
  return port;
}

/** `action-approvals mcp [--http <port>]`: the agent tools over MCP, as the agent the environment names. */
export function mcpCommand(): Command {
  return new Command('mcp')
    .description(
      'serve the agent tools (request_action, get_request, list_requests, explain_policy) over MCP',
    )
    .option('--http <port>', 'serve streamable HTTP on this port (path /mcp) instead of stdio', portNumber)
    .option('--host <address>', 'the address to listen on with --http', '127.0.0.1')
    .addHelpText(
      'after',
      `\nSettings (environment): ${Object.values(AGENT_ENVIRONMENT).join(', ')}, and the AWS SDK's own (AWS_REGION, AWS_PROFILE, AWS_ENDPOINT_URL).`,
    )
    .action(async (options: { http?: number; host: string }) => {
      const deps = await mcpDepsFromEnvironment(process.env);
      if (options.http === undefined) {
        await createMcpServer(deps).connect(new StdioServerTransport());
        return;
      }
      const http = await serveHttp(deps, options.host, options.http);
      const { port } = http.address() as AddressInfo;
      process.stderr.write(`MCP server for agent "${deps.agentId}" on http://${options.host}:${port}/mcp\n`);
    });
}
