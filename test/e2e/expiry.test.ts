import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalRuntime } from '../../local/runtime';
import { SAMPLE_ACCOUNTS } from '../../local/samples';

let local: LocalRuntime;

beforeAll(async () => {
  // Approval waits end after 1 s here, instead of the request's TTL.
  local = await LocalRuntime.start({
    dataDir: await mkdtemp(join(tmpdir(), 'action-approvals-expiry-')),
    approvalTimeoutSeconds: 1,
  });
}, 60_000);

afterAll(async () => {
  await local.workflow.drain();
  await local.stop();
});

test('a request nobody decides expires, nothing runs, and a late vote changes nothing', async () => {
  const agent = local.agentClient('reporting-bot');

  const outcome = await agent.requestAction(
    {
      agentId: 'reporting-bot',
      requestId: 'e2e-expire',
      operation: 'dynamodb:ExportTableToPointInTime',
      resource: `arn:aws:dynamodb:us-east-1:${SAMPLE_ACCOUNTS.production}:table/orders`,
      parameters: { S3Bucket: 'revenue-exports', S3Prefix: 'orders/' },
      justification: 'Nobody will answer this one.',
    },
    30_000,
  );
  const late = await local.vote('e2e-expire', 'alice@example.com', 'approve');

  expect(outcome).toMatchObject({ outcome: 'expired' });
  expect(late).toMatchObject({ kind: 'refused', code: 'not-awaiting-approval' });
  const { records, verification } = await local.timeline('e2e-expire');
  expect(verification.ok).toBe(true);
  expect(records.map((record) => record.type)).toEqual([
    'requested',
    'policy-evaluated',
    'approval-requested',
    'expired',
  ]);
});
