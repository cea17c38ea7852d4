import fc from 'fast-check';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { SendTaskFailureCommand, SendTaskSuccessCommand, SFNClient } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { generateKeyPair, type CryptoKey } from 'jose';
import { logger } from '../../lambdas/adapters/logger';
import { BotAccessTokens, BotConnectorClient, TeamsNotifier } from '../../lambdas/adapters/teams';
import {
  BotFrameworkAuthenticator,
  remoteBotFrameworkKeys,
  TEAMS_AUTH_REFUSAL,
} from '../../lambdas/inbound/teams-auth';
import { teamsApprovalCard } from '../../lambdas/adapters/teams-cards';
import { evaluateRequest } from '../../lambdas/app/evaluate';
import { requestApproval } from '../../lambdas/app/request-approval';
import {
  handleTeamsActivity,
  type TeamsHttpResponse,
  type TeamsMessagesDeps,
} from '../../lambdas/inbound/teams-messages';
import { verifyChain, type AuditEvent } from '../../lambdas/core/audit';
import { approvalCard } from '../../lambdas/core/card';
import { createTestTables, type TestTables } from '../support/dynamodb';
import {
  actionRequested,
  RecordingUnauthenticatedCallbacks,
  testDeps,
  type TestDeps,
} from '../support/fixtures';
import {
  activityEvent,
  BOT_APP_ID,
  BOT_APP_PASSWORD,
  cardAction,
  CONNECTOR_ACCESS_TOKEN,
  CONVERSATION_ID,
  startFakeBotFramework,
  TEAMS_TENANT_ID,
  type FakeBotFramework,
  type TokenOptions,
} from '../support/teams-fakes';

const sfn = mockClient(SFNClient);
const events = mockClient(EventBridgeClient);

const TASK_TOKEN = 'AQCEAAAAKgAAAA-teams-task-token-that-must-stay-server-side';

describe('Function: handleTeamsActivity', () => {
  let tables: TestTables;
  let botFramework: FakeBotFramework;
  let base: TestDeps;
  let deps: TeamsMessagesDeps;
  let auditStarts: jest.SpyInstance<Promise<boolean>, [AuditEvent]>;
  let unauthenticated: RecordingUnauthenticatedCallbacks;
  let logLines: string[];
  let unpublishedKey: CryptoKey;

  beforeAll(async () => {
    [tables, botFramework, { privateKey: unpublishedKey }] = await Promise.all([
      createTestTables(),
      startFakeBotFramework(),
      generateKeyPair('RS256'),
    ]);
  });
  afterAll(() => botFramework.close());
  beforeEach(() => {
    sfn.reset();
    events.reset();
    events.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e-1' }] });
    botFramework.reset();
    base = testDeps(tables, {
      sfn: new SFNClient({ region: 'us-east-1' }),
      events: new EventBridgeClient({ region: 'us-east-1' }),
    });
    const tokens = new BotAccessTokens({
      appId: BOT_APP_ID,
      appPassword: BOT_APP_PASSWORD,
      tokenUrl: botFramework.tokenUrl,
    });
    deps = {
      ...base.decide,
      notifiers: [
        new TeamsNotifier(new BotConnectorClient(tokens), {
          serviceUrl: botFramework.serviceUrl,
          conversationId: CONVERSATION_ID,
        }),
      ],
      authenticator: new BotFrameworkAuthenticator({
        appId: BOT_APP_ID,
        keys: remoteBotFrameworkKeys(botFramework.metadataUrl),
        clock: base.clock,
      }),
      unauthenticated: (unauthenticated = new RecordingUnauthenticatedCallbacks()),
    };
    auditStarts = jest.spyOn(deps.audit, 'start');
    logLines = [];
    // The runtime's Powertools logger writes JSON lines, warnings and errors to stderr: all are kept.
    for (const stream of [process.stdout, process.stderr]) {
      jest.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array) => {
        logLines.push(String(chunk));
        return true;
      });
    }
  });
  afterEach(() => {
    jest.restoreAllMocks();
    // The handler resets the logger after each invocation; these tests call the use case directly.
    logger.resetKeys();
  });

  /** A request the policy sends for approval, with its Teams card posted. */
  async function awaitingApproval(requestId: string): Promise<void> {
    await evaluateRequest(actionRequested({ requestId }), base.evaluate);
    await requestApproval({ requestId, taskToken: `${TASK_TOKEN}-${requestId}` }, deps);
  }

  async function click(
    requestId: string,
    aadObjectId: string | undefined,
    verb = 'approve',
    options: { activityId?: string; token?: TokenOptions } = {},
  ): Promise<TeamsHttpResponse> {
    const activity = cardAction({
      requestId,
      aadObjectId,
      verb,
      serviceUrl: botFramework.serviceUrl,
      activityId: options.activityId,
    });
    return handleTeamsActivity(
      activityEvent(activity, await botFramework.sign(base.clock.now(), options.token)),
      deps,
    );
  }

  const invokeBody = (response: TeamsHttpResponse) => JSON.parse(response.body);

  async function currentCard(requestId: string) {
    const record = await deps.requests.get(requestId);
    if (!record) throw new Error(`no request ${requestId}`);
    return approvalCard(record);
  }

  it('counts a valid approval and answers with the refreshed card', async () => {
    // Prepare
    await awaitingApproval('teams-one');
    botFramework.server.clear();

    // Act
    const response = await click('teams-one', 'aad-alice');

    // Assess
    expect(response).toMatchObject({ statusCode: 200, headers: { 'content-type': 'application/json' } });
    const outcome = {
      status: 'pending',
      reviewers: ['alice@example.com'],
      note: '1 of 2 approvals',
    } as const;
    expect(invokeBody(response)).toEqual({
      statusCode: 200,
      type: 'application/vnd.microsoft.card.adaptive',
      value: teamsApprovalCard(await currentCard('teams-one'), {
        outcome,
        notice: { tone: 'good', text: 'Your approval is counted.' },
      }),
    });
    expect((await deps.requests.get('teams-one'))?.approval?.votes).toEqual([
      expect.objectContaining({ reviewer: 'alice@example.com', decision: 'approve', channel: 'teams' }),
    ]);
    const vote = (await deps.audit.read('teams-one')).at(-1);
    expect(vote).toMatchObject({
      type: 'vote',
      actor: { kind: 'reviewer', id: 'alice@example.com' },
      details: { caller: 'aad-alice', counted: true },
    });
    expect(sfn).not.toHaveReceivedAnyCommand();
    // Everyone else in the channel sees the progress through the message update.
    const [update] = botFramework.connectorCalls();
    expect(update.method).toBe('PUT');
    expect(JSON.parse(update.body).attachments[0].content).toEqual(
      teamsApprovalCard(await currentCard('teams-one'), { outcome }),
    );
  });

  it('resumes the workflow exactly once when a second reviewer completes the quorum', async () => {
    // Prepare
    await awaitingApproval('teams-quorum');
    await click('teams-quorum', 'aad-alice');
    botFramework.server.clear();

    // Act
    const response = await click('teams-quorum', 'aad-bob');

    // Assess
    expect(sfn).toHaveReceivedCommandTimes(SendTaskSuccessCommand, 1);
    expect(sfn).toHaveReceivedCommandWith(SendTaskSuccessCommand, {
      taskToken: `${TASK_TOKEN}-teams-quorum`,
      output: JSON.stringify({
        requestId: 'teams-quorum',
        approvers: ['alice@example.com', 'bob@example.com'],
        decidedAt: '2026-11-24T10:00:00.000Z',
      }),
    });
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
    const approved = { status: 'approved', reviewers: ['alice@example.com', 'bob@example.com'] } as const;
    const card = await currentCard('teams-quorum');
    expect(invokeBody(response).value).toEqual(
      teamsApprovalCard(card, {
        outcome: approved,
        notice: { tone: 'good', text: 'Your approval is counted.' },
      }),
    );
    expect(invokeBody(response).value.actions).toBeUndefined();
    const [update] = botFramework.connectorCalls();
    expect(update.method).toBe('PUT');
    expect(JSON.parse(update.body)).toMatchObject({
      type: 'message',
      summary: 'Approved: reporting-bot asks for dynamodb:ExportTableToPointInTime',
    });
    expect(JSON.parse(update.body).attachments[0].content).toEqual(
      teamsApprovalCard(card, { outcome: approved }),
    );
    const chain = await deps.audit.read('teams-quorum');
    expect(chain.map((record) => record.type)).toEqual([
      'requested',
      'policy-evaluated',
      'approval-requested',
      'vote',
      'vote',
      'approved',
    ]);
    expect(verifyChain(chain).ok).toBe(true);
  });

  it('fails the paused task with the denial when a reviewer denies', async () => {
    await awaitingApproval('teams-deny');

    const response = await click('teams-deny', 'aad-alice', 'deny');

    expect(sfn).toHaveReceivedCommandTimes(SendTaskFailureCommand, 1);
    expect(sfn).toHaveReceivedCommandWith(SendTaskFailureCommand, {
      taskToken: `${TASK_TOKEN}-teams-deny`,
      error: 'ActionApprovals.Denied',
    });
    expect(invokeBody(response).value).toEqual(
      teamsApprovalCard(await currentCard('teams-deny'), {
        outcome: { status: 'denied', reviewers: ['alice@example.com'] },
        notice: { tone: 'good', text: 'Your denial is counted.' },
      }),
    );
    expect((await deps.audit.read('teams-deny')).at(-1)?.type).toBe('denied');
  });

  describe('refuses callbacks the Bot Framework did not sign for this bot', () => {
    it.each([
      [
        'a token from another issuer',
        (): TokenOptions => ({ issuer: 'https://sts.windows.net/attacker/' }),
        TEAMS_AUTH_REFUSAL.wrongIssuer,
      ],
      [
        'a token for another bot',
        (): TokenOptions => ({ audience: 'another-bot' }),
        TEAMS_AUTH_REFUSAL.wrongAudience,
      ],
      ['an expired token', (): TokenOptions => ({ expiresIn: -600 }), TEAMS_AUTH_REFUSAL.expired],
      [
        'a token signed with an unknown key',
        (): TokenOptions => ({ kid: 'attacker-key', key: unpublishedKey }),
        TEAMS_AUTH_REFUSAL.unknownKey,
      ],
      [
        'a token with a bad signature',
        (): TokenOptions => ({ key: unpublishedKey }),
        TEAMS_AUTH_REFUSAL.badSignature,
      ],
      [
        'a token for another service URL',
        (): TokenOptions => ({ serviceUrl: 'https://smba.trafficmanager.net/amer/' }),
        TEAMS_AUTH_REFUSAL.serviceUrlMismatch,
      ],
      ['a callback without a token', undefined, TEAMS_AUTH_REFUSAL.missingToken],
    ] as const)(
      'refuses %s with 401 and the reason, reports it without recording it, and counts no vote',
      async (_case, token, code) => {
        // Prepare
        await awaitingApproval(`teams-forged-${code}`);
        const activity = cardAction({
          requestId: `teams-forged-${code}`,
          aadObjectId: 'aad-alice',
          serviceUrl: botFramework.serviceUrl,
        });
        const authorization = token ? await botFramework.sign(base.clock.now(), token()) : undefined;

        // Act
        const response = await handleTeamsActivity(activityEvent(activity, authorization), deps);

        // Assess
        expect(response.statusCode).toBe(401);
        const { error, reason } = JSON.parse(response.body);
        expect(error).toBe(code);
        expect(auditStarts).not.toHaveBeenCalled();
        expect(unauthenticated.refusals).toEqual([
          {
            channel: 'teams',
            refusal: code,
            reason,
            sourceIp: '52.112.0.1',
            userAgent: expect.any(String),
            bodyBytes: expect.any(Number),
          },
        ]);
        if (authorization)
          expect(JSON.stringify(unauthenticated.refusals)).not.toContain(
            authorization.slice('Bearer '.length),
          );
        expect((await deps.requests.get(`teams-forged-${code}`))?.approval?.votes).toEqual([]);
        expect(sfn).not.toHaveReceivedAnyCommand();
      },
    );
  });

  it('refuses the agent’s owner with a visible reason and a record, and changes nothing', async () => {
    await awaitingApproval('teams-owner');

    const response = await click('teams-owner', 'aad-owner');

    expect(invokeBody(response)).toEqual({
      statusCode: 200,
      type: 'application/vnd.microsoft.card.adaptive',
      value: teamsApprovalCard(await currentCard('teams-owner'), {
        notice: {
          tone: 'attention',
          text: 'Your approval was not counted: owner@example.com owns the requesting agent and cannot approve for it.',
        },
        buttons: true,
      }),
    });
    expect((await deps.audit.read('teams-owner')).at(-1)).toMatchObject({
      type: 'vote',
      details: { counted: false, refusal: 'owner-approval', caller: 'aad-owner' },
    });
    expect((await deps.requests.get('teams-owner'))?.approval?.votes).toEqual([]);
    expect(sfn).not.toHaveReceivedAnyCommand();
  });

  it('refuses an AAD user who is not a registered reviewer, recorded in a chain of its own', async () => {
    await awaitingApproval('teams-stranger');

    const response = await click('teams-stranger', 'aad-mallory');

    expect(invokeBody(response)).toEqual({
      statusCode: 400,
      type: 'application/vnd.microsoft.error',
      value: {
        code: 'unknown-reviewer',
        message: 'Your approval was not counted: aad-mallory is not a registered reviewer.',
      },
    });
    expect(auditStarts).toHaveBeenCalledWith(
      expect.objectContaining({
        type: 'rejected',
        actor: { kind: 'system', id: 'teams:aad-mallory' },
        details: expect.objectContaining({
          refusal: 'unknown-reviewer',
          claimedRequestId: 'teams-stranger',
          channel: 'teams',
        }),
      }),
    );
    expect((await deps.requests.get('teams-stranger'))?.approval?.votes).toEqual([]);
  });

  it('maps a Teams user without an AAD object id to no reviewer', async () => {
    await awaitingApproval('teams-anonymous');

    const response = await click('teams-anonymous', undefined);

    expect(invokeBody(response)).toMatchObject({ statusCode: 400, value: { code: 'unknown-reviewer' } });
    expect((await deps.requests.get('teams-anonymous'))?.approval?.votes).toEqual([]);
  });

  it('counts a click delivered twice once, and tells the reviewer their vote stands', async () => {
    // Prepare
    await awaitingApproval('teams-twice');
    await click('teams-twice', 'aad-alice', 'approve', { activityId: 'f:same-click' });

    // Act
    const again = await click('teams-twice', 'aad-alice', 'approve', { activityId: 'f:same-click' });

    // Assess
    expect(invokeBody(again).value).toEqual(
      teamsApprovalCard(await currentCard('teams-twice'), {
        notice: {
          tone: 'good',
          text: 'Your vote on this request is already counted; each reviewer votes once.',
        },
        buttons: true,
      }),
    );
    expect((await deps.requests.get('teams-twice'))?.approval?.votes).toHaveLength(1);
    expect(sfn).not.toHaveReceivedAnyCommand();
  });

  it('offers no buttons to a reviewer who clicks after the request was decided', async () => {
    await awaitingApproval('teams-late');
    await click('teams-late', 'aad-alice', 'deny');

    const response = await click('teams-late', 'aad-bob');

    const value = invokeBody(response).value;
    expect(value.actions).toBeUndefined();
    expect(value.body.at(-1)).toEqual({
      type: 'Container',
      style: 'attention',
      items: [
        { type: 'TextBlock', text: 'Your approval was not counted: the request is denied.', wrap: true },
      ],
    });
    expect(sfn).toHaveReceivedCommandTimes(SendTaskFailureCommand, 1);
    expect(sfn).not.toHaveReceivedCommand(SendTaskSuccessCommand);
  });

  it('refuses an invoke that is not an Approve or Deny click, with a reason and a record', async () => {
    await awaitingApproval('teams-verb');

    const response = await click('teams-verb', 'aad-alice', 'escalate');

    expect(invokeBody(response)).toMatchObject({
      statusCode: 400,
      type: 'application/vnd.microsoft.error',
      value: { code: 'malformed-action', message: expect.stringContaining('value.action.verb') },
    });
    expect(auditStarts).toHaveBeenCalledWith(
      expect.objectContaining({
        type: 'rejected',
        details: expect.objectContaining({ kind: 'teams-callback', refusal: 'malformed-action' }),
      }),
    );
    expect((await deps.requests.get('teams-verb'))?.approval?.votes).toEqual([]);
  });

  it.each([
    ['a message', { type: 'message', text: 'approve teams-other please' }],
    ['a conversation update', { type: 'conversationUpdate', membersAdded: [{ id: 'x' }] }],
    ['another invoke', { type: 'invoke', name: 'task/fetch', value: {} }],
  ])('acknowledges %s with an empty 200 and does nothing else', async (_case, activity) => {
    const full = {
      ...activity,
      serviceUrl: botFramework.serviceUrl,
      channelId: 'msteams',
      from: { id: '29:x', aadObjectId: 'aad-alice' },
    };

    const response = await handleTeamsActivity(
      activityEvent(full, await botFramework.sign(base.clock.now())),
      deps,
    );

    expect(response).toEqual({ statusCode: 200, body: '' });
    expect(auditStarts).not.toHaveBeenCalled();
  });

  it('sends the task token in no Teams payload and writes it, or any credential, to no log line', async () => {
    // Prepare
    const requestId = 'teams-secret';
    const authorization = await botFramework.sign(base.clock.now());

    // Act
    await awaitingApproval(requestId);
    const activity = cardAction({ requestId, aadObjectId: 'aad-alice', serviceUrl: botFramework.serviceUrl });
    await handleTeamsActivity(activityEvent(activity, authorization), deps);
    await click(requestId, 'aad-bob');
    await click(requestId, 'aad-owner');
    await handleTeamsActivity(activityEvent(activity, 'Bearer forged.token.value'), deps);

    // Assess
    expect(sfn).toHaveReceivedCommandWith(SendTaskSuccessCommand, {
      taskToken: `${TASK_TOKEN}-${requestId}`,
    });
    const traffic = botFramework.server.requests.map((request) => JSON.stringify(request));
    expect(traffic.filter((request) => request.includes('/v3/conversations/'))).toHaveLength(3);
    for (const request of traffic) expect(request).not.toContain(TASK_TOKEN);
    expect(logLines.length).toBeGreaterThan(0);
    const logs = logLines.join('');
    expect(logs).toContain(`"correlation_id":"${requestId}"`);
    expect(unauthenticated.refusals).toMatchObject([{ channel: 'teams', refusal: 'malformed-token' }]);
    for (const secret of [
      TASK_TOKEN,
      authorization.slice('Bearer '.length),
      'forged.token.value',
      CONNECTOR_ACCESS_TOKEN,
      BOT_APP_PASSWORD,
    ]) {
      expect(logs).not.toContain(secret);
    }
  });

  describe('Attack class 5: identities are pinned at every entry', () => {
    // Microsoft's signing keys vouch for several channels; only msteams vouches for the AAD user.
    let anyChannel: FakeBotFramework;
    beforeAll(async () => {
      anyChannel = await startFakeBotFramework(['msteams', 'webchat', 'directline', 'emulator']);
    });
    afterAll(() => anyChannel.close());

    async function clickFrom(
      requestId: string,
      origin: { channelId?: string; tenantId?: string; aadObjectId?: string },
      tenantId: string | undefined = TEAMS_TENANT_ID,
    ): Promise<TeamsHttpResponse> {
      const pinned: TeamsMessagesDeps = {
        ...deps,
        authenticator: new BotFrameworkAuthenticator({
          appId: BOT_APP_ID,
          keys: remoteBotFrameworkKeys(anyChannel.metadataUrl),
          clock: base.clock,
        }),
        ...(tenantId === undefined ? {} : { tenantId }),
      };
      const activity = cardAction({
        requestId,
        aadObjectId: origin.aadObjectId ?? 'aad-alice',
        serviceUrl: anyChannel.serviceUrl,
        ...(origin.channelId ? { channelId: origin.channelId } : {}),
        ...(origin.tenantId ? { tenantId: origin.tenantId } : {}),
      });
      return handleTeamsActivity(activityEvent(activity, await anyChannel.sign(base.clock.now())), pinned);
    }

    it.each(['webchat', 'directline', 'emulator'])(
      'never counts a vote sent through %s with a reviewer’s aadObjectId',
      async (channelId) => {
        const requestId = `teams-class5-${channelId}`;
        await awaitingApproval(requestId);

        const response = await clickFrom(requestId, { channelId });

        expect(invokeBody(response)).toMatchObject({ statusCode: 400, value: { code: 'untrusted-channel' } });
        expect((await deps.requests.get(requestId))?.approval?.votes).toEqual([]);
        expect(auditStarts).toHaveBeenCalledWith(
          expect.objectContaining({
            type: 'rejected',
            details: expect.objectContaining({ refusal: 'untrusted-channel', claimedRequestId: requestId }),
          }),
        );
      },
    );

    it('never counts a vote from a user of another tenant', async () => {
      await awaitingApproval('teams-class5-tenant');

      const response = await clickFrom('teams-class5-tenant', {
        tenantId: '00000000-0000-0000-0000-0000000e7117',
      });

      expect(invokeBody(response)).toMatchObject({ statusCode: 400, value: { code: 'wrong-tenant' } });
      expect((await deps.requests.get('teams-class5-tenant'))?.approval?.votes).toEqual([]);
    });

    it('counts the same click from msteams in the configured tenant', async () => {
      await awaitingApproval('teams-class5-genuine');

      const response = await clickFrom('teams-class5-genuine', {});

      expect(invokeBody(response)).toMatchObject({ statusCode: 200 });
      expect((await deps.requests.get('teams-class5-genuine'))?.approval?.votes).toEqual([
        expect.objectContaining({ reviewer: 'alice@example.com', channel: 'teams' }),
      ]);
    });

    it('refuses any channel but msteams for generated channel ids', async () => {
      await awaitingApproval('teams-class5-any');
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(
            fc.constantFrom('webchat', 'directline', 'emulator', 'MSTEAMS', 'msteams ', 'skype', 'slack'),
            fc.string({ maxLength: 12 }),
          ),
          async (channelId) => {
            fc.pre(channelId !== 'msteams' && channelId !== '');
            const response = await clickFrom('teams-class5-any', { channelId });
            expect(response.statusCode === 401 || invokeBody(response).statusCode === 400).toBe(true);
          },
        ),
        { numRuns: 15 },
      );
      expect((await deps.requests.get('teams-class5-any'))?.approval?.votes).toEqual([]);
    });
  });

  describe('Attack class 8: junk costs nothing permanent', () => {
    it('writes no audit record for forged tokens, only counts them', async () => {
      await awaitingApproval('teams-class8-flood');
      const forgeries = [
        { key: unpublishedKey },
        { audience: 'another-bot' },
        { issuer: 'https://evil.example' },
        { expiresIn: -3_600 },
        { serviceUrl: 'https://smba.trafficmanager.net/evil/' },
      ];

      for (const forgery of forgeries) {
        const activity = cardAction({
          requestId: 'teams-class8-flood',
          aadObjectId: 'aad-alice',
          serviceUrl: botFramework.serviceUrl,
        });
        const response = await handleTeamsActivity(
          activityEvent(activity, await botFramework.sign(base.clock.now(), forgery)),
          deps,
        );
        expect(response.statusCode).toBe(401);
      }

      expect(auditStarts).not.toHaveBeenCalled();
      expect(unauthenticated.refusals).toHaveLength(forgeries.length);
      expect(unauthenticated.refusals.every((refusal) => refusal.channel === 'teams')).toBe(true);
    });

    it('still records an authenticated but refused vote under the request it targets', async () => {
      await awaitingApproval('teams-class8-refused');

      await click('teams-class8-refused', 'aad-owner');

      expect((await deps.audit.read('teams-class8-refused')).at(-1)).toMatchObject({
        requestId: 'teams-class8-refused',
        type: 'vote',
        details: { counted: false, refusal: 'owner-approval' },
      });
      expect(unauthenticated.refusals).toEqual([]);
    });
  });
});
