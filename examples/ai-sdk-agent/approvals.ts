import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';

/** Where the action-approvals checkout is; the MCP server runs from it. */
const CHECKOUT = process.env.ACTION_APPROVALS_CHECKOUT ?? new URL('../..', import.meta.url).pathname;

/** People decide: a call may wait for minutes, and progress notifications keep it alive. */
const WAIT_MS = 15 * 60_000;

/** The action-approvals MCP server, started as this agent (ACTION_APPROVALS_* and AWS_* from the environment). */
export async function connectApprovals(): Promise<Client> {
  const client = new Client({ name: 'ai-sdk-agent', version: '0.1.0' });
  const env = Object.fromEntries(
    Object.entries(process.env).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
  await client.connect(
    new StdioClientTransport({
      command: `${CHECKOUT}/node_modules/.bin/tsx`,
      args: [`${CHECKOUT}/bin/cli.ts`, 'mcp'],
      env: { ...env, ACTION_APPROVALS_WAIT_SECONDS: String(WAIT_MS / 1000) },
    }),
  );
  return client;
}

/** Calls one of the server's tools and hands back its JSON answer; progress lines go to stderr. */
export async function callApprovals(
  client: Client,
  name: 'request_action' | 'get_request' | 'list_requests' | 'explain_policy',
  args: Record<string, unknown>,
): Promise<unknown> {
  const result = (await client.callTool({ name, arguments: args }, undefined, {
    timeout: WAIT_MS,
    resetTimeoutOnProgress: true,
    onprogress: (progress) => process.stderr.write(`  ${name}: ${progress.message ?? progress.progress}\n`),
  })) as CallToolResult;
  const text = result.content.find((part) => part.type === 'text');
  return text && text.type === 'text' ? (JSON.parse(text.text) as unknown) : result.content;
}
