import fc from 'fast-check';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { SendTaskFailureCommand, SendTaskSuccessCommand, SFNClient } from '@aws-sdk/client-sfn';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { createHash } from 'node:crypto';
import { SlackNotifier, SlackWebWorkspace, slackWebClient } from '../../lambdas/adapters/slack';
import { slackApprovalMessage } from '../../lambdas/adapters/slack-blocks';
import { slackClickIdempotency } from '../../lambdas/inbound/slack-idempotency';
import { slackSignature } from '../../lambdas/inbound/slack-signature';
import type { DecideDeps } from '../../lambdas/app/decide';
import type { EvaluateDeps } from '../../lambdas/app/evaluate';
import { evaluateRequest } from '../../lambdas/app/evaluate';
import { requestApproval } from '../../lambdas/app/request-approval';
import {
  handleSlackInteraction,
  type SlackAcknowledgementDeps,
} from '../../lambdas/inbound/slack-interactions';
import { CLICK_MEMORY_SECONDS } from '../../lambdas/inbound/slack-idempotency';
import { castSlackVote, type SlackVoteDeps } from '../../lambdas/inbound/slack-votes';
import type { AuditRecord } from '../../lambdas/core/audit';
import { verifyChain } from '../../lambdas/core/audit';
import { approvalCard, type CardOutcome } from '../../lambdas/core/card';
import { Directory } from '../../lambdas/core/directory';
import { createTestTables, type TestTables } from '../support/dynamodb';
import {
  actionRequested,
  directoryConfig,
  RecordingUnauthenticatedCallbacks,
  testDeps,
  type TestDeps,
} from '../support/fixtures';
import {
  startRecordingHttpServer,
  type RecordedRequest,
  type RecordingHttpServer,
  type RequestResponder,
} from '../support/recording-http-server';
import { httpApiEvent, lambdaContext as invocationContext } from '../../local/lambda-events';
import { LocalSlackVoteQueue } from '../../local/slack-vote-queue';
import { createHandler as createVoteWorker } from '../../lambdas/handlers/slack-votes';

const sfn = mockClient(SFNClient);
const events = mockClient(EventBridgeClient);

const SIGNING_SECRET = 'slack-signing-secret-for-tests';
const CHANNEL = 'C0APPROVALS';
const TOKEN = 'AQCEAAAAKgAAAA-task-token/with+chars=that-must-stay-server-side';

// Dave is registered by e-mail only: the handler must ask Slack who UDAVE is.
const directory = (() => {
  const parsed = Directory.parse({
    ...directoryConfig,
    reviewers: [...directoryConfig.reviewers, { id: 'dave@example.com', groups: ['security'] }],
  });
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.value;
})();

const slackUsers: Record<string, object> = {
  UDAVE: { id: 'UDAVE', is_email_confirmed: true, profile: { email: 'dave@example.com' } },
  UMALLORY: { id: 'UMALLORY', is_email_confirmed: true, profile: { email: 'mallory@example.com' } },
};

const lambdaContext = invocationContext('slack-interactions', 3_000);

/** A Slack `block_actions` payload for a click on one of the card's buttons, form-encoded. */
function clickBody(click: {
  requestId: string;
  userId: string;
  action: 'approve' | 'deny';
  actionTs?: string;
}): string {
  const payload = {
    type: 'block_actions',
    user: { id: click.userId, username: 'display-name-is-never-trusted', team_id: 'T0TEAM' },
    api_app_id: 'A0APP',
    token: 'legacy-verification-token',
    container: { type: 'message', message_ts: '1764000000.000100', channel_id: CHANNEL, is_ephemeral: false },
    trigger_id: '1.2.3',
    team: { id: 'T0TEAM', domain: 'example' },
    channel: { id: CHANNEL, name: 'approvals' },
    response_url: 'https://hooks.slack.com/actions/T0TEAM/1/abc',
    actions: [
      {
        action_id: click.action,
        block_id: 'decision',
        text: { type: 'plain_text', text: click.action === 'approve' ? 'Approve' : 'Deny' },
        value: click.requestId,
        type: 'button',
        action_ts: click.actionTs ?? '1764000005.123456',
      },
    ],
  };
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}

interface Delivery {
  readonly headers?: Record<string, string>;
  readonly signedBody?: string;
  readonly timestamp?: number;
  readonly base64?: boolean;
}

/** The HTTP API event of a Slack callback, signed as Slack signs it unless told otherwise. */
function slackEvent(rawBody: string, at: Date, delivery: Delivery = {}): APIGatewayProxyEventV2 {
  const timestamp = String(delivery.timestamp ?? Math.floor(at.getTime() / 1000));
  const headers = delivery.headers ?? {
    'content-type': 'application/x-www-form-urlencoded',
    'user-agent': 'Slackbot 1.0 (+https://api.slack.com/robots)',
    'x-slack-request-timestamp': timestamp,
    'x-slack-signature': slackSignature(SIGNING_SECRET, timestamp, delivery.signedBody ?? rawBody),
  };
  return httpApiEvent({
    routeKey: 'POST /slack/interactions',
    headers,
    body: delivery.base64 ? Buffer.from(rawBody, 'utf8').toString('base64') : rawBody,
    isBase64Encoded: delivery.base64 ?? false,
    sourceIp: '198.51.100.7',
    userAgent: 'Slackbot',
    at,
  });
}

const form = (request: RecordedRequest): Record<string, string> =>
  Object.fromEntries(new URLSearchParams(request.body));

/** Slack's Web API as the tests need it: posts get a timestamp, users.info knows slackUsers. */
let posted = 0;
const slackApi: RequestResponder = (request) => {
  switch (request.path) {
    case '/api/chat.postMessage':
      posted += 1;
      return {
        body: { ok: true, channel: CHANNEL, ts: `1764000000.${String(posted).padStart(6, '0')}` },
      };
    case '/api/users.info': {
      const user = slackUsers[form(request).user];
      return { body: user ? { ok: true, user } : { ok: false, error: 'user_not_found' } };
    }
    default:
      return { body: { ok: true } };
  }
};

describe('Function: handleSlackInteraction', () => {
  let tables: TestTables;
  let slack: RecordingHttpServer;
  let base: TestDeps;
  let evaluate: EvaluateDeps;
  /** The vote worker's. */
  let deps: SlackVoteDeps;
  /** Slack's endpoint's: it queues each click in `queued`. */
  let endpoint: SlackAcknowledgementDeps;
  let queued: string[];
  let unauthenticated: RecordingUnauthenticatedCallbacks;

  beforeAll(async () => {
    tables = await createTestTables();
    slack = await startRecordingHttpServer(slackApi);
  });
  afterAll(() => slack.close());

  beforeEach(() => {
    slack.clear();
    slack.respondWith(slackApi);
    sfn.reset();
    events.reset();
    events.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'event-1' }] });
    base = testDeps(tables, {
      sfn: new SFNClient({ region: 'us-east-1' }),
      events: new EventBridgeClient({ region: 'us-east-1' }),
    });
    const client = slackWebClient({ botToken: 'xoxb-test', apiUrl: `${slack.url}/api/` });
    const decide: DecideDeps = { ...base.decide, directory, notifiers: [new SlackNotifier(client, CHANNEL)] };
    evaluate = { ...base.evaluate, directory };
    unauthenticated = new RecordingUnauthenticatedCallbacks();
    const idempotency = slackClickIdempotency(tables.client, tables.idempotencyTable);
    idempotency.config.registerLambdaContext(lambdaContext);
    const votes = slackClickIdempotency(tables.client, tables.idempotencyTable, CLICK_MEMORY_SECONDS.worker);
    votes.config.registerLambdaContext(invocationContext('slack-votes', 30_000));
    const workspace = new SlackWebWorkspace(client);
    deps = { ...decide, signingSecret: SIGNING_SECRET, workspace, idempotency: votes, unauthenticated };
    queued = [];
    endpoint = {
      signingSecret: SIGNING_SECRET,
      clock: decide.clock,
      audit: decide.audit,
      idempotency,
      votes: {
        send: (job) => {
          queued.push(job);
          return Promise.resolve();
        },
      },
      unauthenticated,
      parameters: () => Promise.resolve({ requests: decide.requests, workspace }),
    };
  });

  /** A request waiting for two security approvals, its card posted to Slack, the recorder cleared. */
  async function awaitingApproval(requestId: string, justification?: string): Promise<void> {
    const event = actionRequested({ requestId });
    await evaluateRequest(
      justification === undefined ? event : { ...event, detail: { ...event.detail, justification } },
      evaluate,
    );
    await requestApproval({ requestId, taskToken: `${TOKEN}-${requestId}` }, deps);
    slack.clear();
  }

  /** Slack's endpoint answers; then the worker casts what it queued, as the queue delivers it. */
  const acknowledge = (body: string, delivery?: Delivery) =>
    handleSlackInteraction(slackEvent(body, deps.clock.now(), delivery), endpoint);
  async function castQueued(): Promise<void> {
    for (const job of queued.splice(0)) await castSlackVote(job, deps);
  }
  async function deliver(body: string, delivery?: Delivery) {
    const answer = await acknowledge(body, delivery);
    await castQueued();
    return answer;
  }

  async function expectedUpdate(requestId: string, outcome: CardOutcome): Promise<Record<string, string>> {
    const record = await deps.requests.get(requestId);
    if (!record?.messages?.slack) throw new Error(`no card for ${requestId}`);
    const message = slackApprovalMessage(approvalCard(record), outcome);
    return {
      channel: CHANNEL,
      ts: record.messages.slack.ts,
      text: message.text,
      blocks: JSON.stringify(message.blocks),
    };
  }

  /** Records of refused callbacks (chains of their own) written for this exact body. */
  async function refusedCallbacks(rawBody: string): Promise<AuditRecord[]> {
    const bodySha256 = createHash('sha256').update(rawBody).digest('hex');
    const { Items = [] } = await tables.documents.send(
      new ScanCommand({ TableName: tables.auditTable, ConsistentRead: true }),
    );
    return (Items as AuditRecord[]).filter(
      (record) =>
        record.requestId.startsWith('refused-callback-') && record.details?.bodySha256 === bodySha256,
    );
  }

  async function refusedVotes(claimedRequestId: string): Promise<AuditRecord[]> {
    const { Items = [] } = await tables.documents.send(
      new ScanCommand({ TableName: tables.auditTable, ConsistentRead: true }),
    );
    return (Items as AuditRecord[]).filter(
      (record) =>
        record.requestId.startsWith('refused-vote-') && record.details?.claimedRequestId === claimedRequestId,
    );
  }

  it('counts a valid approve click, shows the progress on the card, and answers 200 at once', async () => {
    // Prepare
    await awaitingApproval('slack-one');

    // Act
    const response = await deliver(
      clickBody({ requestId: 'slack-one', userId: 'UALICE', action: 'approve' }),
    );

    // Assess
    expect(response).toEqual({ statusCode: 200, body: '' });
    const chain = await deps.audit.read('slack-one');
    expect(chain.at(-1)).toMatchObject({
      type: 'vote',
      actor: { kind: 'reviewer', id: 'alice@example.com' },
      details: { decision: 'approve', channel: 'slack', caller: 'UALICE', counted: true },
    });
    expect((await deps.requests.get('slack-one'))?.approval?.votes.map((vote) => vote.reviewer)).toEqual([
      'alice@example.com',
    ]);
    // Alice's Slack user id is on file: Slack is not asked who she is.
    expect(slack.requests.map((request) => request.path)).toEqual(['/api/chat.update']);
    expect(form(slack.requests[0])).toEqual(
      await expectedUpdate('slack-one', {
        status: 'pending',
        reviewers: ['alice@example.com'],
        note: '1 of 2 approvals',
      }),
    );
    expect(sfn).not.toHaveReceivedAnyCommand();
  });

  it('resumes the workflow exactly once when two Slack users meet the quorum of two', async () => {
    // Prepare
    await awaitingApproval('slack-quorum');

    // Act
    await deliver(
      clickBody({
        requestId: 'slack-quorum',
        userId: 'UALICE',
        action: 'approve',
        actionTs: '1764000005.000001',
      }),
    );
    await deliver(
      clickBody({
        requestId: 'slack-quorum',
        userId: 'UBOB',
        action: 'approve',
        actionTs: '1764000006.000002',
      }),
    );

    // Assess
    expect(sfn).toHaveReceivedCommandTimes(SendTaskSuccessCommand, 1);
    expect(sfn).toHaveReceivedCommandWith(SendTaskSuccessCommand, {
      taskToken: `${TOKEN}-slack-quorum`,
      output: JSON.stringify({
        requestId: 'slack-quorum',
        approvers: ['alice@example.com', 'bob@example.com'],
        decidedAt: '2026-11-24T10:00:00.000Z',
      }),
    });
    expect(sfn).not.toHaveReceivedCommand(SendTaskFailureCommand);
    expect(events).toHaveReceivedCommandTimes(PutEventsCommand, 1);
    expect(events).toHaveReceivedCommandWith(PutEventsCommand, {
      Entries: [
        expect.objectContaining({
          Source: 'action-approvals',
          DetailType: 'Action Approved',
          EventBusName: 'action-approvals',
        }),
      ],
    });
    const chain = await deps.audit.read('slack-quorum');
    expect(chain.map((record) => record.type)).toEqual([
      'requested',
      'policy-evaluated',
      'approval-requested',
      'vote',
      'vote',
      'approved',
    ]);
    expect(verifyChain(chain).ok).toBe(true);
    const updates = slack.requestsTo('/api/chat.update').map(form);
    expect(updates.at(-1)).toEqual(
      await expectedUpdate('slack-quorum', {
        status: 'approved',
        reviewers: ['alice@example.com', 'bob@example.com'],
      }),
    );
  });

  it('fails the paused task with ActionApprovals.Denied when a Slack user denies', async () => {
    // Prepare
    await awaitingApproval('slack-deny');

    // Act
    const response = await deliver(clickBody({ requestId: 'slack-deny', userId: 'UBOB', action: 'deny' }));

    // Assess
    expect(response.statusCode).toBe(200);
    expect(sfn).toHaveReceivedCommandTimes(SendTaskFailureCommand, 1);
    expect(sfn).toHaveReceivedCommandWith(SendTaskFailureCommand, {
      taskToken: `${TOKEN}-slack-deny`,
      error: 'ActionApprovals.Denied',
    });
    const cause = JSON.parse(sfn.commandCalls(SendTaskFailureCommand)[0].args[0].input.cause ?? '{}');
    expect(cause).toMatchObject({ Source: 'action-approvals', DetailType: 'Action Denied' });
    expect(sfn).not.toHaveReceivedCommand(SendTaskSuccessCommand);
    expect((await deps.audit.read('slack-deny')).at(-1)).toMatchObject({
      type: 'denied',
      actor: { id: 'bob@example.com' },
    });
    expect(form(slack.requestsTo('/api/chat.update')[0])).toEqual(
      await expectedUpdate('slack-deny', { status: 'denied', reviewers: ['bob@example.com'] }),
    );
  });

  it('maps a Slack user registered by e-mail only through users.info and counts the vote', async () => {
    // Prepare
    await awaitingApproval('slack-email');

    // Act
    await deliver(clickBody({ requestId: 'slack-email', userId: 'UDAVE', action: 'approve' }));

    // Assess
    expect(slack.requestsTo('/api/users.info').map(form)).toEqual([{ user: 'UDAVE' }]);
    expect((await deps.audit.read('slack-email')).at(-1)).toMatchObject({
      type: 'vote',
      actor: { kind: 'reviewer', id: 'dave@example.com' },
      details: { caller: 'UDAVE', counted: true },
    });
  });

  describe('callbacks that fail authentication', () => {
    async function expectNothingChanged(requestId: string): Promise<void> {
      const record = await deps.requests.get(requestId);
      expect(record?.approval?.votes).toEqual([]);
      expect((await deps.audit.read(requestId)).map((r) => r.type)).toEqual([
        'requested',
        'policy-evaluated',
        'approval-requested',
      ]);
      expect(sfn).not.toHaveReceivedAnyCommand();
      expect(slack.requests).toEqual([]);
    }

    it('refuses a forged signature with 401, reports the attempt without recording it, and counts no vote', async () => {
      // Prepare
      await awaitingApproval('slack-forged');
      const body = clickBody({ requestId: 'slack-forged', userId: 'UALICE', action: 'approve' });
      const timestamp = Math.floor(deps.clock.now().getTime() / 1000);
      const headers = {
        'x-slack-request-timestamp': String(timestamp),
        'x-slack-signature': slackSignature('a-guessed-secret', String(timestamp), body),
      };

      // Act
      const response = await deliver(body, { headers });

      // Assess
      expect(response).toEqual({
        statusCode: 401,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          error: 'signature-mismatch',
          reason: 'the signature does not match the request',
        }),
      });
      expect(await refusedCallbacks(body)).toEqual([]);
      expect(unauthenticated.refusals).toEqual([
        {
          channel: 'slack',
          refusal: 'signature-mismatch',
          reason: 'the signature does not match the request',
          sourceIp: '198.51.100.7',
          userAgent: null,
          bodyBytes: Buffer.byteLength(body),
        },
      ]);
      await expectNothingChanged('slack-forged');
    });

    it('refuses a correctly signed request more than five minutes old', async () => {
      // Prepare
      await awaitingApproval('slack-stale');
      const body = clickBody({ requestId: 'slack-stale', userId: 'UALICE', action: 'approve' });

      // Act
      const response = await deliver(body, {
        timestamp: Math.floor(deps.clock.now().getTime() / 1000) - 301,
      });

      // Assess
      expect(response.statusCode).toBe(401);
      expect(JSON.parse(response.body)).toEqual({
        error: 'stale-timestamp',
        reason: 'the request was signed 301 s away from now; at most 300 s are accepted',
      });
      expect(await refusedCallbacks(body)).toEqual([]);
      expect(unauthenticated.refusals).toMatchObject([{ channel: 'slack', refusal: 'stale-timestamp' }]);
      await expectNothingChanged('slack-stale');
    });

    it('refuses a signed body modified in transit (another request id)', async () => {
      // Prepare
      await awaitingApproval('slack-modified');
      const signed = clickBody({ requestId: 'slack-other', userId: 'UALICE', action: 'approve' });
      const modified = clickBody({ requestId: 'slack-modified', userId: 'UALICE', action: 'approve' });

      // Act
      const response = await deliver(modified, { signedBody: signed });

      // Assess
      expect(response.statusCode).toBe(401);
      expect(JSON.parse(response.body)).toMatchObject({ error: 'signature-mismatch' });
      expect(await refusedCallbacks(modified)).toEqual([]);
      expect(unauthenticated.refusals).toMatchObject([{ channel: 'slack', refusal: 'signature-mismatch' }]);
      await expectNothingChanged('slack-modified');
    });

    it.each<[string, Record<string, string>, string]>([
      [
        'missing-signature',
        { 'x-slack-request-timestamp': '1795514400' },
        'the X-Slack-Signature header is missing',
      ],
      [
        'missing-timestamp',
        { 'x-slack-signature': `v0=${'0'.repeat(64)}` },
        'the X-Slack-Request-Timestamp header is missing',
      ],
    ])('refuses a callback with %s', async (code, headers, reason) => {
      // Prepare
      const requestId = `slack-${code}`;
      await awaitingApproval(requestId);
      const body = clickBody({ requestId, userId: 'UALICE', action: 'approve' });

      // Act
      const response = await deliver(body, { headers });

      // Assess
      expect(response.statusCode).toBe(401);
      expect(JSON.parse(response.body)).toEqual({ error: code, reason });
      expect(await refusedCallbacks(body)).toEqual([]);
      expect(unauthenticated.refusals).toMatchObject([{ channel: 'slack', refusal: code, reason }]);
      await expectNothingChanged(requestId);
    });
  });

  it('counts a click delivered twice (a Slack retry or a replay within the window) exactly once', async () => {
    // Prepare
    await awaitingApproval('slack-retry');
    const body = clickBody({ requestId: 'slack-retry', userId: 'UALICE', action: 'approve' });

    // Act
    const first = await deliver(body);
    const retried = await deliver(body, { timestamp: Math.floor(deps.clock.now().getTime() / 1000) + 2 });
    const replayed = await deliver(body);

    // Assess
    expect([first, retried, replayed]).toEqual([
      { statusCode: 200, body: '' },
      { statusCode: 200, body: '' },
      { statusCode: 200, body: '' },
    ]);
    const votes = (await deps.audit.read('slack-retry')).filter((record) => record.type === 'vote');
    expect(votes).toHaveLength(1);
    expect(slack.requestsTo('/api/chat.update')).toHaveLength(1);
    expect(slack.requestsTo('/api/chat.postEphemeral')).toHaveLength(0);
  });

  it('counts a click delivered twice at the same moment exactly once', async () => {
    // Prepare
    await awaitingApproval('slack-concurrent');
    const body = clickBody({ requestId: 'slack-concurrent', userId: 'UALICE', action: 'approve' });

    // Act
    const responses = await Promise.all([deliver(body), deliver(body), deliver(body)]);

    // Assess
    expect(responses.map((response) => response.statusCode)).toEqual([200, 200, 200]);
    expect(
      (await deps.audit.read('slack-concurrent')).filter((record) => record.type === 'vote'),
    ).toHaveLength(1);
  });

  it('refuses self-approval by the agent’s owner, tells them why, and records the refused vote', async () => {
    // Prepare
    await awaitingApproval('slack-owner');

    // Act
    const response = await deliver(
      clickBody({ requestId: 'slack-owner', userId: 'UOWNER', action: 'approve' }),
    );

    // Assess
    expect(response).toEqual({ statusCode: 200, body: '' });
    expect((await deps.audit.read('slack-owner')).at(-1)).toMatchObject({
      type: 'vote',
      actor: { kind: 'reviewer', id: 'owner@example.com' },
      details: { counted: false, refusal: 'owner-approval', caller: 'UOWNER' },
    });
    expect((await deps.requests.get('slack-owner'))?.approval?.votes).toEqual([]);
    expect(slack.requests.map((request) => [request.path, form(request)])).toEqual([
      [
        '/api/chat.postEphemeral',
        {
          channel: CHANNEL,
          user: 'UOWNER',
          text: 'Your approve was not counted: owner@example.com owns the requesting agent and cannot approve for it.',
        },
      ],
    ]);
    expect(sfn).not.toHaveReceivedAnyCommand();
  });

  it('refuses a Slack user who maps to no reviewer, in a chain of its own', async () => {
    // Prepare
    await awaitingApproval('slack-stranger');

    // Act
    await deliver(clickBody({ requestId: 'slack-stranger', userId: 'UMALLORY', action: 'approve' }));

    // Assess
    expect(slack.requestsTo('/api/users.info').map(form)).toEqual([{ user: 'UMALLORY' }]);
    expect(await refusedVotes('slack-stranger')).toMatchObject([
      {
        type: 'rejected',
        actor: { kind: 'system', id: 'slack:UMALLORY' },
        details: {
          refusal: 'unknown-reviewer',
          reason: 'UMALLORY is not a registered reviewer',
          channel: 'slack',
        },
      },
    ]);
    expect((await deps.audit.read('slack-stranger')).map((r) => r.type)).toEqual([
      'requested',
      'policy-evaluated',
      'approval-requested',
    ]);
    expect(form(slack.requestsTo('/api/chat.postEphemeral')[0]).text).toBe(
      'Your approve was not counted: UMALLORY is not a registered reviewer.',
    );
  });

  it('refuses a vote on a request that does not exist', async () => {
    // Act
    const response = await deliver(
      clickBody({ requestId: 'slack-nonexistent', userId: 'UALICE', action: 'approve' }),
    );

    // Assess
    expect(response.statusCode).toBe(200);
    expect(await refusedVotes('slack-nonexistent')).toMatchObject([
      {
        type: 'rejected',
        actor: { kind: 'reviewer', id: 'alice@example.com' },
        details: { refusal: 'unknown-request' },
      },
    ]);
    expect(await deps.requests.get('slack-nonexistent')).toBeUndefined();
    expect(form(slack.requestsTo('/api/chat.postEphemeral')[0]).text).toBe(
      'Your approve was not counted: no request slack-nonexistent.',
    );
  });

  it('refuses a vote after the request expired', async () => {
    // Prepare
    await awaitingApproval('slack-late');
    base.clock.advance(901);

    // Act
    await deliver(clickBody({ requestId: 'slack-late', userId: 'UALICE', action: 'approve' }));

    // Assess
    expect((await deps.audit.read('slack-late')).at(-1)).toMatchObject({
      type: 'vote',
      details: {
        counted: false,
        refusal: 'expired',
        reason: 'the request expired at 2026-11-24T10:15:00.000Z',
      },
    });
    expect((await deps.requests.get('slack-late'))?.approval?.votes).toEqual([]);
    expect(sfn).not.toHaveReceivedAnyCommand();
  });

  it('refuses a signed payload that is not an Approve or Deny click with 400 and a record', async () => {
    // Prepare
    const body = new URLSearchParams({
      payload: JSON.stringify({ type: 'view_submission', user: { id: 'UALICE' } }),
    }).toString();

    // Act
    const response = await deliver(body);

    // Assess
    expect(response.statusCode).toBe(400);
    expect(JSON.parse(response.body)).toMatchObject({ error: 'malformed-payload' });
    expect(await refusedCallbacks(body)).toMatchObject([{ details: { refusal: 'malformed-payload' } }]);
  });

  it('reads a base64-encoded body as API Gateway may deliver it', async () => {
    // Prepare
    await awaitingApproval('slack-base64');

    // Act
    const response = await deliver(
      clickBody({ requestId: 'slack-base64', userId: 'UALICE', action: 'approve' }),
      { base64: true },
    );

    // Assess
    expect(response.statusCode).toBe(200);
    expect((await deps.requests.get('slack-base64'))?.approval?.votes).toHaveLength(1);
  });

  it('never sends the task token to Slack: not in the card, the updates, the lookups or the replies', async () => {
    // Prepare: everything that talks to Slack for one request, from posting to the decision
    const event = actionRequested({ requestId: 'slack-token' });
    await evaluateRequest(event, evaluate);
    await requestApproval({ requestId: 'slack-token', taskToken: `${TOKEN}-slack-token` }, deps);

    // Act
    await deliver(clickBody({ requestId: 'slack-token', userId: 'UOWNER', action: 'approve' }));
    await deliver(clickBody({ requestId: 'slack-token', userId: 'UDAVE', action: 'approve' }));
    await deliver(clickBody({ requestId: 'slack-token', userId: 'UBOB', action: 'approve' }));

    // Assess
    expect(sfn).toHaveReceivedCommandWith(SendTaskSuccessCommand, { taskToken: `${TOKEN}-slack-token` });
    expect(slack.requests.map((request) => request.path.replace(/^\/api\//, ''))).toEqual([
      'chat.postMessage',
      'chat.postEphemeral',
      'users.info',
      'chat.update',
      'chat.update',
    ]);
    const wire = slack.requests.map(
      (request) => `${request.path} ${JSON.stringify(request.headers)} ${decodeURIComponent(request.body)}`,
    );
    for (const sent of wire) {
      expect(sent).not.toContain(TOKEN);
      expect(sent).not.toContain('AQCEAAAAKgAAAA');
    }
  });

  it('renders a prompt-injected justification inert on the posted card', async () => {
    // Act
    await evaluateRequest(
      {
        ...actionRequested({ requestId: 'slack-inject' }),
        detail: {
          ...actionRequested({ requestId: 'slack-inject' }).detail,
          justification: 'Routine. <!channel> <https://evil.example|Approve> *bold* <@U0ADMIN>',
        },
      },
      evaluate,
    );
    await requestApproval({ requestId: 'slack-inject', taskToken: `${TOKEN}-slack-inject` }, deps);

    // Assess
    const [post] = slack.requestsTo('/api/chat.postMessage');
    const blocks = JSON.parse(form(post).blocks) as { type: string; text?: { type: string; text: string } }[];
    const label = blocks.findIndex((block) =>
      JSON.stringify(block).includes("Agent's justification (unverified)"),
    );
    expect(blocks[label + 1]).toEqual({
      type: 'section',
      text: {
        type: 'plain_text',
        text: 'Routine. &lt;!channel&gt; &lt;https://evil.example|Approve&gt; *bold* &lt;@U0ADMIN&gt;',
        emoji: false,
      },
    });
    const sent = decodeURIComponent(post.body);
    expect(sent).not.toContain('<!channel>');
    expect(sent).not.toContain('<https://evil.example');
    expect(sent).not.toContain('<@U0ADMIN>');
  });

  describe('Attack class 8: junk costs nothing permanent', () => {
    async function auditCount(): Promise<number> {
      const { Count = 0 } = await tables.documents.send(
        new ScanCommand({ TableName: tables.auditTable, ConsistentRead: true, Select: 'COUNT' }),
      );
      return Count;
    }

    it('writes no audit record for any forged callback, however it is forged', async () => {
      await awaitingApproval('slack-class8-flood');
      const before = await auditCount();
      const timestamp = String(Math.floor(deps.clock.now().getTime() / 1000));
      const forgery = fc.record({
        userId: fc.constantFrom('UALICE', 'UBOB', 'UMALLORY'),
        action: fc.constantFrom('approve' as const, 'deny' as const),
        secret: fc.string({ minLength: 1, maxLength: 40 }).filter((secret) => secret !== SIGNING_SECRET),
        stale: fc.boolean(),
      });

      await fc.assert(
        fc.asyncProperty(forgery, async ({ userId, action, secret, stale }) => {
          const body = clickBody({ requestId: 'slack-class8-flood', userId, action });
          const at = stale ? String(Number(timestamp) - 3_600) : timestamp;
          const response = await deliver(body, {
            headers: {
              'x-slack-request-timestamp': at,
              'x-slack-signature': slackSignature(secret, at, body),
            },
          });
          expect(response.statusCode).toBe(401);
        }),
        { numRuns: 25 },
      );

      expect(await auditCount()).toBe(before);
      expect(unauthenticated.refusals.length).toBeGreaterThanOrEqual(25);
      expect(unauthenticated.refusals.every((refusal) => refusal.channel === 'slack')).toBe(true);
      expect((await deps.requests.get('slack-class8-flood'))?.approval?.votes).toEqual([]);
    });

    it('still records an authenticated but refused vote under the request it targets', async () => {
      await awaitingApproval('slack-class8-refused');

      await deliver(clickBody({ requestId: 'slack-class8-refused', userId: 'UOWNER', action: 'approve' }));

      expect((await deps.audit.read('slack-class8-refused')).at(-1)).toMatchObject({
        requestId: 'slack-class8-refused',
        type: 'vote',
        details: { counted: false, refusal: 'owner-approval' },
      });
      expect(unauthenticated.refusals).toEqual([]);
    });
  });

  describe('answering first, voting after', () => {
    it('answers 200 before any vote is written, and the queued click then counts', async () => {
      // Prepare
      await awaitingApproval('slack-ack-first');

      // Act
      const response = await acknowledge(
        clickBody({ requestId: 'slack-ack-first', userId: 'UALICE', action: 'approve' }),
      );
      const chainWhenAnswered = (await deps.audit.read('slack-ack-first')).map((record) => record.type);
      const slackCallsWhenAnswered = slack.requests.length;
      await castQueued();

      // Assess
      expect(response).toEqual({ statusCode: 200, body: '' });
      expect(chainWhenAnswered).toEqual(['requested', 'policy-evaluated', 'approval-requested']);
      expect(slackCallsWhenAnswered).toBe(0);
      expect((await deps.audit.read('slack-ack-first')).map((record) => record.type)).toEqual([
        'requested',
        'policy-evaluated',
        'approval-requested',
        'vote',
      ]);
      expect(slack.requestsTo('/api/chat.update')).toHaveLength(1);
    });

    it('queues Slack’s own request, exactly as signed, and nothing of its own', async () => {
      // Prepare
      await awaitingApproval('slack-job');
      const body = clickBody({ requestId: 'slack-job', userId: 'UBOB', action: 'deny' });
      const event = slackEvent(body, deps.clock.now());

      // Act
      await handleSlackInteraction(event, endpoint);

      // Assess
      expect(queued.map((job) => JSON.parse(job) as unknown)).toEqual([
        {
          kind: 'slack-click',
          version: 1,
          body,
          timestamp: event.headers['x-slack-request-timestamp'],
          signature: event.headers['x-slack-signature'],
        },
      ]);
    });

    it('queues a click that Slack retried (x-slack-retry-num) once, so it counts once', async () => {
      // Prepare
      await awaitingApproval('slack-retry-num');
      const body = clickBody({ requestId: 'slack-retry-num', userId: 'UALICE', action: 'approve' });
      const retriedAt = String(Math.floor(deps.clock.now().getTime() / 1000) + 3);

      // Act
      const first = await acknowledge(body);
      const retried = await acknowledge(body, {
        headers: {
          'x-slack-request-timestamp': retriedAt,
          'x-slack-signature': slackSignature(SIGNING_SECRET, retriedAt, body),
          'x-slack-retry-num': '1',
          'x-slack-retry-reason': 'http_timeout',
        },
      });
      const jobs = queued.length;
      await castQueued();

      // Assess
      expect([first.statusCode, retried.statusCode]).toEqual([200, 200]);
      expect(jobs).toBe(1);
      expect(
        (await deps.audit.read('slack-retry-num')).filter((record) => record.type === 'vote'),
      ).toHaveLength(1);
    });

    it('casts a job the queue delivers twice once', async () => {
      // Prepare
      await awaitingApproval('slack-redelivered');
      await acknowledge(clickBody({ requestId: 'slack-redelivered', userId: 'UALICE', action: 'approve' }));
      const [job] = queued.splice(0);

      // Act
      const outcomes = [await castSlackVote(job, deps), await castSlackVote(job, deps)];

      // Assess
      expect(outcomes).toEqual([{ kind: 'counted' }, { kind: 'counted' }]);
      expect(
        (await deps.audit.read('slack-redelivered')).filter((record) => record.type === 'vote'),
      ).toHaveLength(1);
      expect(slack.requestsTo('/api/chat.postEphemeral')).toHaveLength(0);
    });

    it('never votes on a job that did not come through the signed endpoint, however it is made', async () => {
      // Prepare
      await awaitingApproval('slack-forged-job');
      const now = Math.floor(deps.clock.now().getTime() / 1000);
      const body = clickBody({ requestId: 'slack-forged-job', userId: 'UALICE', action: 'approve' });
      const forgedJob = fc.oneof(
        // Signed with a guessed secret.
        fc
          .string({ minLength: 1, maxLength: 40 })
          .filter((secret) => secret !== SIGNING_SECRET)
          .map((secret) =>
            JSON.stringify({
              kind: 'slack-click',
              version: 1,
              body,
              timestamp: String(now),
              signature: slackSignature(secret, String(now), body),
            }),
          ),
        // Slack's genuine signature over another body.
        fc.constantFrom('UBOB', 'UOWNER').map((userId) => {
          const signedBody = clickBody({ requestId: 'slack-other', userId, action: 'approve' });
          return JSON.stringify({
            kind: 'slack-click',
            version: 1,
            body,
            timestamp: String(now),
            signature: slackSignature(SIGNING_SECRET, String(now), signedBody),
          });
        }),
        // Genuinely signed, but long before the worker's window.
        fc.integer({ min: 3_601, max: 10 ** 7 }).map((age) => {
          const at = String(now - age);
          return JSON.stringify({
            kind: 'slack-click',
            version: 1,
            body,
            timestamp: at,
            signature: slackSignature(SIGNING_SECRET, at, body),
          });
        }),
        // A decision stated outright, or anything else that is not the envelope.
        fc.constant(
          JSON.stringify({
            requestId: 'slack-forged-job',
            reviewer: 'alice@example.com',
            decision: 'approve',
          }),
        ),
        fc.string({ maxLength: 200 }),
      );

      // Act
      await fc.assert(
        fc.asyncProperty(forgedJob, async (job) => {
          expect(await castSlackVote(job, deps)).toMatchObject({ kind: 'dropped' });
        }),
        { numRuns: 40 },
      );

      // Assess
      expect((await deps.requests.get('slack-forged-job'))?.approval?.votes).toEqual([]);
      expect((await deps.audit.read('slack-forged-job')).map((record) => record.type)).toEqual([
        'requested',
        'policy-evaluated',
        'approval-requested',
      ]);
      expect(unauthenticated.refusals.length).toBeGreaterThanOrEqual(40);
      expect(sfn).not.toHaveReceivedAnyCommand();
      expect(slack.requests).toEqual([]);
    });

    it('retries a job the worker failed on until it counts, once', async () => {
      // Prepare: Slack cannot say who UDAVE is on the first delivery (the call and the client's one retry)
      await awaitingApproval('slack-worker-retry');
      let lookups = 0;
      slack.respondWith((request) => {
        if (request.path !== '/api/users.info') return { body: { ok: true } };
        lookups += 1;
        return lookups <= 2
          ? { status: 500, body: { ok: false, error: 'internal_error' } }
          : { body: { ok: true, user: slackUsers.UDAVE } };
      });
      const worker = createVoteWorker(deps);
      const queue = new LocalSlackVoteQueue(
        (event) => worker(event, invocationContext('slack-votes', 30_000)),
        {
          retryDelayMs: 1,
        },
      );
      endpoint = { ...endpoint, votes: queue };

      // Act
      const response = await acknowledge(
        clickBody({ requestId: 'slack-worker-retry', userId: 'UDAVE', action: 'approve' }),
      );
      await queue.drained();

      // Assess
      expect(response.statusCode).toBe(200);
      expect(lookups).toBe(3);
      expect(queue.deadLetters).toEqual([]);
      expect(
        (await deps.audit.read('slack-worker-retry')).filter((record) => record.type === 'vote'),
      ).toMatchObject([{ actor: { id: 'dave@example.com' }, details: { counted: true } }]);
    });

    it('dead-letters a job the worker keeps failing on, instead of losing it', async () => {
      // Prepare: Slack is down for good
      await awaitingApproval('slack-worker-down');
      slack.respondWith(() => ({ status: 500, body: { ok: false, error: 'internal_error' } }));
      const worker = createVoteWorker(deps);
      const queue = new LocalSlackVoteQueue(
        (event) => worker(event, invocationContext('slack-votes', 30_000)),
        {
          retryDelayMs: 1,
          maxReceiveCount: 3,
        },
      );
      endpoint = { ...endpoint, votes: queue };
      const body = clickBody({ requestId: 'slack-worker-down', userId: 'UDAVE', action: 'approve' });

      // Act
      const response = await acknowledge(body);
      await queue.drained();

      // Assess
      expect(response.statusCode).toBe(200);
      // Three receives, each a call and the client's one retry.
      expect(slack.requestsTo('/api/users.info')).toHaveLength(6);
      expect(queue.deadLetters.map((job) => (JSON.parse(job) as { body: string }).body)).toEqual([body]);
      expect((await deps.requests.get('slack-worker-down'))?.approval?.votes).toEqual([]);
    });
  });
});
