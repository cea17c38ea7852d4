import {
  SAMPLE_ACCOUNTS,
  SAMPLE_ECS_SERVICE,
  sampleDirectory,
  sampleEcsServiceArn,
  sampleExportRequest,
} from '../../local/samples';
import { STAND_INS } from '../../local/stand-ins';
import {
  createAccessKey,
  MODE_LABELS,
  readStagingReport,
  startHarness,
  waitForPending,
  type ConsoleHarness,
} from './harness';

// One runtime and console for the file; requests in several states are made up front.
let harness: ConsoleHarness;
/** Every body the console sent during this file, the live-update stream included. */
const bodies: string[] = [];
const events = new AbortController();
let stream: Promise<void>;
let outcomes: Promise<unknown>;

beforeAll(async () => {
  harness = await startHarness();
  stream = readStream(`${harness.console.url}/api/events`, events.signal);
  await harness.agent.requestAction(readStagingReport('api-read'), 30_000);
  await harness.agent.requestAction(createAccessKey('api-key'), 30_000);
  // Two requests stay open: one is voted on below, the other keeps its task token until the end.
  outcomes = Promise.all([
    harness.agent.requestAction(sampleExportRequest('api-vote'), 60_000),
    harness.agent.requestAction(sampleExportRequest('api-open'), 60_000),
  ]);
  await waitForPending(harness.local, 'api-vote');
  await waitForPending(harness.local, 'api-open');
}, 90_000);

afterAll(async () => {
  events.abort();
  await stream;
  // The agent must hear both outcomes before its endpoint goes away.
  await harness?.local.vote('api-open', 'alice@example.com', 'deny');
  await outcomes;
  await harness?.stop();
}, 60_000);

interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly body: Record<string, unknown>;
}

async function call(path: string, init: RequestInit = {}): Promise<Answer> {
  const response = await fetch(`${harness.console.url}${path}`, init);
  const text = await response.text();
  bodies.push(text);
  return {
    status: response.status,
    headers: response.headers,
    body: JSON.parse(text) as Record<string, unknown>,
  };
}

const decide = (requestId: string, body: unknown) =>
  call(`/api/requests/${encodeURIComponent(requestId)}/decision`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

async function readStream(url: string, signal: AbortSignal): Promise<void> {
  try {
    const response = await fetch(url, { signal });
    const decoder = new TextDecoder();
    for await (const chunk of response.body as AsyncIterable<Uint8Array>) bodies.push(decoder.decode(chunk));
  } catch (error) {
    if (!signal.aborted) throw error;
  }
}

async function eventually(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 200; i += 1) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`never happened: ${what}`);
}

test('the list shows every request with what a reviewer needs to decide it', async () => {
  const { status, body } = await call('/api/requests');

  expect(status).toBe(200);
  const requests = body.requests as Record<string, unknown>[];
  expect(requests.map((request) => request.requestId).sort()).toEqual([
    'api-key',
    'api-open',
    'api-read',
    'api-vote',
  ]);
  expect(requests.find((request) => request.requestId === 'api-vote')).toEqual({
    requestId: 'api-vote',
    agentId: 'reporting-bot',
    state: 'awaiting-approval',
    operation: 'dynamodb:ExportTableToPointInTime',
    resource: expect.stringContaining(':table/action-approvals-requests'),
    parameterSummary: [
      'ExportFormat: "DYNAMODB_JSON"',
      'S3Bucket: "revenue-exports"',
      'S3Prefix: "orders/api-vote/"',
    ],
    // Every parameter in full, for the console to show before anyone approves.
    parameters: [
      { key: 'ExportFormat', value: '"DYNAMODB_JSON"' },
      { key: 'S3Bucket', value: '"revenue-exports"' },
      { key: 'S3Prefix', value: '"orders/api-vote/"' },
    ],
    parametersHashPrefix: expect.stringMatching(/^[0-9a-f]{12}$/),
    justification: 'Quarterly revenue report needs a consistent snapshot of orders.',
    policyOutcome: 'require-approval',
    policyReason: expect.any(String),
    quorum: 2,
    approverGroups: ['security'],
    votes: [],
    createdAt: expect.any(String),
    expiresAt: expect.any(String),
  });
  expect(requests.find((request) => request.requestId === 'api-read')).toMatchObject({
    state: 'executed',
    policyOutcome: 'auto-approve',
  });
  expect(requests.find((request) => request.requestId === 'api-key')).toMatchObject({
    state: 'denied',
    policyOutcome: 'deny',
    outcomeReason: expect.any(String),
  });
});

test('a request’s detail carries its card and its verified audit chain', async () => {
  const { status, body } = await call('/api/requests/api-read');

  expect(status).toBe(200);
  expect(body).toMatchObject({ requestId: 'api-read', state: 'executed', operation: 's3:GetObject' });
  const timeline = body.timeline as { records: { type: string; seq: number }[]; verification: unknown };
  expect(timeline.verification).toEqual({ ok: true, records: timeline.records.length });
  expect(timeline.records[0]).toMatchObject({ seq: 0, type: 'requested' });
  expect(timeline.records.at(-1)).toMatchObject({ type: 'executed' });
});

test('an unknown request is a 404', async () => {
  const { status, body } = await call('/api/requests/nobody-asked');

  expect(status).toBe(404);
  expect(body).toEqual({ error: 'no request nobody-asked' });
});

test('a vote is counted and the live stream says so', async () => {
  const { status, body } = await decide('api-vote', { reviewer: 'alice@example.com', decision: 'approve' });

  expect(status).toBe(200);
  expect(body).toMatchObject({
    kind: 'counted',
    card: { requestId: 'api-vote', quorum: 2 },
    outcome: { status: 'pending', reviewers: ['alice@example.com'], note: '1 of 2 approvals' },
  });
  const detail = await call('/api/requests/api-vote');
  expect(detail.body.votes).toEqual([
    { reviewer: 'alice@example.com', decision: 'approve', at: expect.any(String), channel: 'console' },
  ]);
  await eventually(
    async () => bodies.some((text) => text.includes('data: {"kind":"vote","requestId":"api-vote"}')),
    'a live update for the vote',
  );
});

test('refused votes are answered with the reason: 409, or 404 for an unknown request', async () => {
  const owner = await decide('api-vote', { reviewer: 'owner@example.com', decision: 'approve' });
  const twice = await decide('api-vote', { reviewer: 'alice@example.com', decision: 'approve' });
  const stranger = await decide('api-vote', { reviewer: 'mallory@example.com', decision: 'approve' });
  const unknown = await decide('nobody-asked', { reviewer: 'alice@example.com', decision: 'approve' });

  expect(owner).toMatchObject({
    status: 409,
    body: { kind: 'refused', code: 'owner-approval', reason: expect.stringContaining('owns') },
  });
  expect(twice).toMatchObject({ status: 409, body: { code: 'duplicate-vote' } });
  expect(stranger).toMatchObject({ status: 409, body: { code: 'unknown-reviewer' } });
  expect(unknown).toMatchObject({ status: 404, body: { code: 'unknown-request' } });
});

test.each([
  [{ reviewer: 'alice@example.com' }, 'decision must be "approve" or "deny"'],
  [{ reviewer: 'alice@example.com', decision: 'maybe' }, 'decision must be "approve" or "deny"'],
  [{ decision: 'approve' }, 'reviewer must be the id of a reviewer, as listed by /api/reviewers'],
  [{ reviewer: '  ', decision: 'approve' }, 'reviewer must not be empty'],
  [
    { reviewer: 'alice@example.com', decision: 'approve', extra: 'x' },
    'unexpected field extra: only reviewer and decision are accepted',
  ],
  [['alice@example.com', 'approve'], 'expected an object { reviewer, decision }'],
])('a malformed decision %j is a 400 saying %s', async (decision, reason) => {
  const { status, body } = await decide('api-vote', decision);

  expect(status).toBe(400);
  expect(body).toEqual({ error: `malformed decision: ${reason}` });
});

test('a body that is not JSON is a 400', async () => {
  const { status, body } = await call('/api/requests/api-vote/decision', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{"reviewer":',
  });

  expect(status).toBe(400);
  expect(body).toEqual({ error: 'malformed decision: the body is not JSON' });
});

test('the second approval decides the request, which then runs', async () => {
  const { status, body } = await decide('api-vote', { reviewer: 'bob@example.com', decision: 'approve' });

  expect(status).toBe(200);
  expect(body).toMatchObject({
    kind: 'counted',
    outcome: { status: 'approved', reviewers: ['alice@example.com', 'bob@example.com'] },
  });
  await eventually(
    async () => (await call('/api/requests/api-vote')).body.state === 'executed',
    'api-vote executed',
  );
  const { body: detail } = await call('/api/requests/api-vote');
  expect((detail.timeline as { verification: unknown }).verification).toMatchObject({ ok: true });
});

test('a change a local stand-in answered shows its preview, ends simulated, and shows what the stand-in holds', async () => {
  const scaled = harness.agent.requestAction(
    {
      agentId: 'reporting-bot',
      requestId: 'api-simulated',
      operation: 'ecs:UpdateService',
      resource: sampleEcsServiceArn(SAMPLE_ACCOUNTS.production),
      parameters: {
        cluster: SAMPLE_ECS_SERVICE.cluster,
        service: SAMPLE_ECS_SERVICE.service,
        desiredCount: 3,
      },
      justification: 'More checkout capacity for the sale.',
    },
    30_000,
  );
  await waitForPending(harness.local, 'api-simulated');
  const { body: waiting } = await call('/api/requests/api-simulated');

  await decide('api-simulated', { reviewer: 'carol@example.com', decision: 'approve' });

  expect(waiting).toMatchObject({
    previewTitle: 'ECS service',
    preview: { lines: [{ subject: 'desiredCount', before: '2', after: '3' }] },
  });
  await expect(scaled).resolves.toMatchObject({ outcome: 'simulated' });
  const { body: detail } = await call('/api/requests/api-simulated');
  expect(detail).toMatchObject({
    state: 'simulated',
    outcomeReason: expect.stringContaining('not by AWS'),
    timeline: {
      verification: { ok: true },
      standIn: { name: STAND_INS.ecsServices, state: [{ desiredCount: 3, runningCount: 3 }] },
    },
  });
});

test('reviewers are listed with their groups only', async () => {
  const { status, body } = await call('/api/reviewers');

  expect(status).toBe(200);
  expect(body).toEqual({ reviewers: sampleDirectory.reviewers.map(({ id, groups }) => ({ id, groups })) });
});

test('the mode says which STS and which channels are in use', async () => {
  expect(await call('/api/mode')).toMatchObject({ status: 200, body: MODE_LABELS });
});

// Last, so that it covers every answer above.
test('no answer ever carries a task token', async () => {
  const tokens = (await harness.local.requests()).flatMap((record) =>
    record.taskToken ? [record.taskToken] : [],
  );
  await call('/api/requests/api-open');
  await call('/api/requests');

  expect(tokens.length).toBeGreaterThan(0);
  expect(bodies.length).toBeGreaterThan(20);
  for (const body of bodies) {
    expect(body).not.toMatch(/taskToken/i);
    for (const token of tokens) expect(body).not.toContain(token);
  }
});
