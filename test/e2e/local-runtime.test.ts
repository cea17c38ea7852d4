import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ActionApprovalsClient } from '../../client';
import { requestCommand, type RequestIo } from '../../client/cli';
import { BUS_NAME, LocalRuntime } from '../../local/runtime';
import { SAMPLE_ACCOUNTS, sampleExportRequest, writeSampleReport } from '../../local/samples';

// One runtime for the file: DynamoDB Local, the gateway, and the synthesized workflow.
let local: LocalRuntime;
let dataDir: string;
let agent: ActionApprovalsClient;
let events: EventBridgeClient;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'action-approvals-e2e-'));
  local = await LocalRuntime.start({ dataDir });
  events = new EventBridgeClient(local.clientConfig());
  agent = local.agentClient('reporting-bot');
  await writeSampleReport(dataDir);
}, 60_000);

afterAll(async () => {
  await local.workflow.drain();
  await local.stop();
});

async function pending(requestId: string): Promise<void> {
  for (let i = 0; i < 200; i += 1) {
    const record = (await local.requests()).find((candidate) => candidate.requestId === requestId);
    if (record?.taskToken) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`${requestId} never started waiting for approval`);
}

async function expectVerifiedChain(requestId: string, lastType: string): Promise<void> {
  const { records, verification } = await local.timeline(requestId);
  expect(verification.ok).toBe(true);
  expect(records.at(-1)?.type).toBe(lastType);
}

test('an auto-approved read runs under a minted session and returns the object', async () => {
  const outcome = await agent.requestAction(
    {
      agentId: 'reporting-bot',
      requestId: 'e2e-read',
      operation: 's3:GetObject',
      resource: 'arn:aws:s3:::staging-reports/2026/q3/summary.csv',
      parameters: {},
      justification: 'Compare with last quarter.',
    },
    30_000,
  );

  expect(outcome).toMatchObject({
    outcome: 'executed',
    detail: { result: expect.objectContaining({ contentType: 'text/csv', url: expect.any(String) }) },
  });
  // The object travels by reference: the URL, signed with the minted session, reads it.
  if (outcome.outcome !== 'executed') throw new Error(`the read ended ${outcome.outcome}`);
  const { url } = (outcome.detail.result ?? {}) as { url?: unknown };
  const download = await fetch(String(url));
  expect(await download.text()).toBe('quarter,revenue\nQ3,1200000\n');
  await expectVerifiedChain('e2e-read', 'executed');
});

test('an export approved by two security reviewers runs once and writes the export', async () => {
  const waiting = agent.requestAction(sampleExportRequest('e2e-approve'), 30_000);
  await pending('e2e-approve');

  await local.vote('e2e-approve', 'alice@example.com', 'approve');
  await local.vote('e2e-approve', 'bob@example.com', 'approve');

  await expect(waiting).resolves.toMatchObject({
    outcome: 'executed',
    detail: { receipt: expect.any(String) },
  });
  await expectVerifiedChain('e2e-approve', 'executed');
  const exports = await readdir(
    join(dataDir, 's3', 'revenue-exports', 'orders', 'e2e-approve', 'AWSDynamoDB'),
  );
  expect(exports).toHaveLength(1);
});

test('a denial ends the request and nothing runs', async () => {
  const waiting = agent.requestAction(sampleExportRequest('e2e-deny'), 30_000);
  await pending('e2e-deny');

  await local.vote('e2e-deny', 'alice@example.com', 'deny');

  await expect(waiting).resolves.toMatchObject({ outcome: 'denied' });
  await expectVerifiedChain('e2e-deny', 'denied');
});

test('the agent’s owner cannot approve, and one approval is not a quorum of two', async () => {
  const waiting = agent.requestAction(sampleExportRequest('e2e-owner', { ttlSeconds: 60 }), 30_000);
  await pending('e2e-owner');

  const refused = await local.vote('e2e-owner', 'owner@example.com', 'approve');
  const counted = await local.vote('e2e-owner', 'alice@example.com', 'approve');

  expect(refused).toMatchObject({ kind: 'refused', code: 'owner-approval' });
  expect(counted).toMatchObject({ kind: 'counted', outcome: { status: 'pending' } });
  await local.vote('e2e-owner', 'bob@example.com', 'deny');
  await expect(waiting).resolves.toMatchObject({ outcome: 'denied' });
});

test('a malformed request is rejected with its reasons', async () => {
  const outcome = await agent.requestAction(
    sampleExportRequest('e2e-malformed', { resource: 'arn:aws:s3:::not-a-table' }),
    30_000,
  );

  expect(outcome).toMatchObject({
    outcome: 'rejected',
    detail: { reasons: [expect.stringContaining('is not a resource type')] },
  });
  await expectVerifiedChain('e2e-malformed', 'rejected');
});

test('a duplicated event produces one execution', async () => {
  const input = sampleExportRequest('e2e-duplicate');
  const first = agent.requestAction(input, 30_000);
  await pending('e2e-duplicate');
  await agent.put('e2e-duplicate', input);

  await local.vote('e2e-duplicate', 'alice@example.com', 'approve');
  await local.vote('e2e-duplicate', 'bob@example.com', 'approve');

  await expect(first).resolves.toMatchObject({ outcome: 'executed' });
  const { records } = await local.timeline('e2e-duplicate');
  expect(records.filter((record) => record.type === 'credentials-issued')).toHaveLength(1);
});

test('the bus refuses an event whose detail is not JSON', async () => {
  const result = await events.send(
    new PutEventsCommand({
      Entries: [
        {
          EventBusName: BUS_NAME,
          Source: 'agent.reporting-bot',
          DetailType: 'Action Requested',
          Detail: '{nope',
        },
      ],
    }),
  );

  expect(result).toMatchObject({ FailedEntryCount: 1, Entries: [{ ErrorCode: 'MalformedDetail' }] });
});

test('an executor failure ends the request as failed, with the reason', async () => {
  const missingTable = `arn:aws:dynamodb:us-east-1:${SAMPLE_ACCOUNTS.production}:table/no-such-table`;
  const waiting = agent.requestAction(sampleExportRequest('e2e-failure', { resource: missingTable }), 30_000);
  await pending('e2e-failure');

  await local.vote('e2e-failure', 'alice@example.com', 'approve');
  await local.vote('e2e-failure', 'bob@example.com', 'approve');

  await expect(waiting).resolves.toMatchObject({
    outcome: 'failed',
    detail: { reason: expect.stringContaining('no-such-table') },
  });
  await expectVerifiedChain('e2e-failure', 'failed');
});

test('the request command asks as an agent from a shell and exits with the outcome', async () => {
  let printed = '';
  const io = {
    stdout: { write: (text: string) => (printed += text) },
    stderr: { write: () => true },
  } as unknown as RequestIo;

  const code = await requestCommand(
    [
      '--agent',
      'reporting-bot',
      '--operation',
      'iam:CreateAccessKey',
      '--resource',
      `arn:aws:iam::${SAMPLE_ACCOUNTS.production}:user/reporting-bot`,
      '--parameters',
      '{"UserName":"reporting-bot"}',
      '--justification',
      'A permanent key would be simpler.',
      '--request-id',
      'e2e-cli',
      '--endpoint',
      local.gatewayUrl,
      '--timeout',
      '30',
    ],
    io,
  );

  expect(code).toBe(1);
  expect(JSON.parse(printed)).toMatchObject({ requestId: 'e2e-cli', outcome: 'denied' });
});
