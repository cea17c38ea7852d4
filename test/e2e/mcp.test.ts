import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalRuntime } from '../../local/runtime';
import { SAMPLE_ACCOUNTS, sampleExportRequest } from '../../local/samples';

// One runtime for the file; approval waits end after APPROVAL_SECONDS instead of the TTL.
const APPROVAL_SECONDS = 10;
let local: LocalRuntime;
let agent: Client;

async function connect(agentId: string, extraEnv: Record<string, string> = {}): Promise<Client> {
  const config = local.mcpServerConfig(agentId);
  const client = new Client({ name: 'e2e-agent', version: '1.0.0' });
  await client.connect(
    new StdioClientTransport({
      command: config.command,
      args: config.args,
      env: { ...config.env, PATH: process.env.PATH ?? '', ...extraEnv },
      stderr: 'ignore',
    }),
  );
  return client;
}

beforeAll(async () => {
  local = await LocalRuntime.start({
    dataDir: await mkdtemp(join(tmpdir(), 'action-approvals-mcp-')),
    approvalTimeoutSeconds: APPROVAL_SECONDS,
  });
  agent = await connect('reporting-bot');
}, 90_000);

afterAll(async () => {
  await agent?.close();
  await local?.workflow.drain();
  await local?.stop();
});

/** Calls request_action, collecting its progress messages. */
function requestAction(client: Client, args: Record<string, unknown>) {
  const progress: string[] = [];
  const result = client.callTool({ name: 'request_action', arguments: args }, undefined, {
    onprogress: (update) => progress.push(update.message ?? ''),
    timeout: 90_000,
  });
  return { progress, result: result.then(answerOf) };
}

function answerOf(result: unknown): Record<string, unknown> {
  const [first] = (result as { content: { type: string; text: string }[] }).content;
  return JSON.parse(first.text) as Record<string, unknown>;
}

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 400; i += 1) {
    if (condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`gave up waiting for ${what}`);
}

function exportArguments(requestId: string) {
  const { operation, resource, parameters, justification } = sampleExportRequest(requestId);
  return { requestId, operation, resource, parameters, justification };
}

test('an export needing two approvals reports its progress and returns the executed result', async () => {
  const call = requestAction(agent, exportArguments('mcp-approve'));

  await until(() => call.progress.includes('waiting for 2 approvals: 0 of 2'), 'the approval wait');
  await local.vote('mcp-approve', 'alice@example.com', 'approve');
  await until(() => call.progress.includes('waiting for 2 approvals: 1 of 2'), 'the first approval');
  await local.vote('mcp-approve', 'bob@example.com', 'approve');
  const answer = await call.result;

  expect(call.progress).toEqual([
    'evaluating',
    'waiting for 2 approvals: 0 of 2',
    'waiting for 2 approvals: 1 of 2',
    'executing',
  ]);
  expect(answer).toMatchObject({
    requestId: 'mcp-approve',
    outcome: 'executed',
    approvedBy: ['alice@example.com', 'bob@example.com'],
    result: expect.objectContaining({}),
    receipt: expect.stringMatching(/^[\w-]+\.[\w-]+\.[\w-]+$/),
  });
}, 60_000);

test('get_request and list_requests show the agent its executed request', async () => {
  const status = answerOf(
    await agent.callTool({ name: 'get_request', arguments: { requestId: 'mcp-approve' } }),
  );
  const listed = answerOf(await agent.callTool({ name: 'list_requests', arguments: {} }));

  expect(status).toMatchObject({
    state: 'executed',
    approval: { quorum: 2, approvals: 2, votes: [{ reviewer: 'alice@example.com', channel: 'console' }, {}] },
    receipt: expect.any(String),
  });
  expect(listed).toEqual(
    expect.arrayContaining([expect.objectContaining({ requestId: 'mcp-approve', state: 'executed' })]),
  );
});

test('after a restart, with its outcome already taken from the queue, the client learns it from the status API', async () => {
  const restarted = local.agentClient('reporting-bot');

  const outcome = await restarted.waitForOutcome(
    { requestId: 'mcp-approve', agentId: 'reporting-bot' },
    10_000,
  );

  expect(outcome).toMatchObject({
    outcome: 'executed',
    detail: { approvers: ['alice@example.com', 'bob@example.com'], receipt: expect.any(String) },
  });
});

test('a reviewer’s denial returns the reason and who decided', async () => {
  const call = requestAction(agent, exportArguments('mcp-deny'));

  await until(() => call.progress.includes('waiting for 2 approvals: 0 of 2'), 'the approval wait');
  await local.vote('mcp-deny', 'alice@example.com', 'deny');
  const answer = await call.result;

  expect(answer).toMatchObject({
    requestId: 'mcp-deny',
    outcome: 'denied',
    reason: expect.any(String),
    decidedBy: { reviewer: 'alice@example.com', channel: 'console' },
  });
}, 60_000);

test('a request nobody decides returns expired', async () => {
  const call = requestAction(agent, exportArguments('mcp-expire'));

  const answer = await call.result;

  expect(call.progress.slice(0, 2)).toEqual(['evaluating', 'waiting for 2 approvals: 0 of 2']);
  expect(answer).toMatchObject({ requestId: 'mcp-expire', outcome: 'expired' });
}, 60_000);

test('a malformed request returns rejected with the reasons', async () => {
  const answer = await requestAction(agent, {
    ...exportArguments('mcp-malformed'),
    // A bucket is not a resource an export acts on.
    resource: 'arn:aws:s3:::revenue-exports',
  }).result;

  expect(answer).toEqual({
    requestId: 'mcp-malformed',
    outcome: 'rejected',
    reasons: [
      'action.resource: "arn:aws:s3:::revenue-exports" is not a resource type that dynamodb:ExportTableToPointInTime accepts',
    ],
  });
}, 30_000);

test('input the request contract refuses is answered with the contract’s message, and nothing is asked', async () => {
  const result = await agent.callTool({
    name: 'request_action',
    arguments: {
      ...exportArguments('mcp-wildcard'),
      resource: 'arn:aws:dynamodb:us-east-1:111122223333:table/*',
    },
  });

  expect(result.isError).toBe(true);
  expect(JSON.stringify(result.content)).toContain('wildcards are not allowed');
  expect((await local.requests()).map((record) => record.requestId)).not.toContain('mcp-wildcard');
});

test('explain_policy tells what the policy would decide, without asking', async () => {
  const before = (await local.requests()).length;
  const explain = async (operation: string, resource: string) =>
    answerOf(await agent.callTool({ name: 'explain_policy', arguments: { operation, resource } }));

  const exportTable = await explain(
    'dynamodb:ExportTableToPointInTime',
    `arn:aws:dynamodb:us-east-1:${SAMPLE_ACCOUNTS.production}:table/orders`,
  );
  const accessKey = await explain(
    'iam:CreateAccessKey',
    `arn:aws:iam::${SAMPLE_ACCOUNTS.production}:user/reporting-bot`,
  );
  const stagingRead = await explain('s3:GetObject', 'arn:aws:s3:::staging-reports/2026/q3/summary.csv');

  expect(exportTable).toMatchObject({
    outcome: 'require-approval',
    quorum: 2,
    approverGroups: ['security'],
    environment: 'production',
  });
  expect(accessKey).toMatchObject({ outcome: 'deny', reason: expect.stringContaining('long-lived') });
  expect(stagingRead).toMatchObject({ outcome: 'auto-approve', environment: 'staging' });
  expect((await local.requests()).length).toBe(before);
});

test('when the client’s wait ends first, request_action returns pending with the request id', async () => {
  const impatient = await connect('reporting-bot', { ACTION_APPROVALS_WAIT_SECONDS: '3' });
  try {
    const answer = await requestAction(impatient, exportArguments('mcp-pending')).result;
    const status = answerOf(
      await impatient.callTool({ name: 'get_request', arguments: { requestId: 'mcp-pending' } }),
    );

    expect(answer).toMatchObject({ requestId: 'mcp-pending', outcome: 'pending' });
    expect(status).toMatchObject({ state: 'awaiting-approval' });
  } finally {
    await impatient.close();
  }
}, 60_000);
