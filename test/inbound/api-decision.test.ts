import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { SendTaskFailureCommand, SendTaskSuccessCommand, SFNClient, TaskTimedOut } from '@aws-sdk/client-sfn';
import type { APIGatewayProxyEventV2WithIAMAuthorizer } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { handleApiDecision } from '../../lambdas/inbound/api-decision';
import { castBallot } from '../../lambdas/app/decide';
import { evaluateRequest } from '../../lambdas/app/evaluate';
import { expireRequest } from '../../lambdas/app/expire';
import { requestApproval } from '../../lambdas/app/request-approval';
import { verifyChain } from '../../lambdas/core/audit';
import { Directory, type DirectoryConfig } from '../../lambdas/core/directory';
import { createTestTables, type TestTables } from '../support/dynamodb';
import { actionRequested, directoryConfig, testDeps, type TestDeps } from '../support/fixtures';

const sfn = mockClient(SFNClient);
const events = mockClient(EventBridgeClient);

const ALICE = 'arn:aws:iam::111122223333:user/alice';
const OWNER = 'arn:aws:iam::111122223333:user/owner';
const TOKEN = 'AQCEAAAAKgAAAA-task-token-that-must-stay-server-side';

function apiCall(
  requestId: string,
  caller: string | undefined,
  body: unknown,
): APIGatewayProxyEventV2WithIAMAuthorizer {
  return {
    version: '2.0',
    routeKey: 'POST /v1/requests/{id}/decision',
    rawPath: `/v1/requests/${requestId}/decision`,
    rawQueryString: '',
    headers: { 'content-type': 'application/json' },
    pathParameters: { id: requestId },
    isBase64Encoded: false,
    body: typeof body === 'string' ? body : JSON.stringify(body),
    requestContext: {
      authorizer: caller ? { iam: { userArn: caller } } : undefined,
    },
  } as unknown as APIGatewayProxyEventV2WithIAMAuthorizer;
}

describe('Function: handleApiDecision', () => {
  let tables: TestTables;
  let deps: TestDeps;
  beforeAll(async () => {
    tables = await createTestTables();
  });
  beforeEach(() => {
    sfn.reset();
    events.reset();
    events.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e-1' }] });
    deps = testDeps(tables, {
      sfn: new SFNClient({ region: 'us-east-1' }),
      events: new EventBridgeClient({ region: 'us-east-1' }),
    });
  });

  async function awaitingApproval(requestId: string, quorumOf = 'export'): Promise<void> {
    const event =
      quorumOf === 'export'
        ? actionRequested({ requestId })
        : actionRequested({
            requestId,
            operation: 'lambda:UpdateFunctionConfiguration',
            resource: 'arn:aws:lambda:eu-west-1:111122223333:function:billing',
            parameters: { MemorySize: 512 },
          });
    await evaluateRequest(event, deps.evaluate);
    await requestApproval({ requestId, taskToken: `${TOKEN}-${requestId}` }, { ...deps.decide });
  }

  it('counts one approval and keeps the request pending until the quorum', async () => {
    await awaitingApproval('api-one');

    const response = await handleApiDecision(apiCall('api-one', ALICE, { decision: 'approve' }), deps.decide);

    expect(response).toMatchObject({ statusCode: 200 });
    expect(JSON.parse((response as { body: string }).body)).toEqual({
      requestId: 'api-one',
      status: 'pending',
      reviewers: ['alice@example.com'],
    });
    expect(sfn).not.toHaveReceivedAnyCommand();
  });

  it('resumes the workflow exactly once when a second reviewer completes the quorum', async () => {
    await awaitingApproval('api-quorum');
    await handleApiDecision(apiCall('api-quorum', ALICE, { decision: 'approve' }), deps.decide);
    // Bob approves through the same decision path, as Slack or Teams would call it.
    await castBallot(
      {
        requestId: 'api-quorum',
        channel: 'slack',
        caller: 'UBOB',
        reviewer: deps.decide.directory.reviewerById('bob@example.com'),
        decision: 'approve',
      },
      deps.decide,
    );

    expect(sfn).toHaveReceivedCommandTimes(SendTaskSuccessCommand, 1);
    expect(sfn).toHaveReceivedCommandWith(SendTaskSuccessCommand, {
      taskToken: `${TOKEN}-api-quorum`,
      output: JSON.stringify({
        requestId: 'api-quorum',
        approvers: ['alice@example.com', 'bob@example.com'],
        decidedAt: '2026-11-24T10:00:00.000Z',
      }),
    });
    expect(events).toHaveReceivedCommandWith(PutEventsCommand, {
      Entries: [
        expect.objectContaining({
          Source: 'action-approvals',
          DetailType: 'Action Approved',
          EventBusName: 'action-approvals',
        }),
      ],
    });
    const chain = await deps.decide.audit.read('api-quorum');
    expect(chain.map((r) => r.type)).toEqual([
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
    await awaitingApproval('api-deny');

    await handleApiDecision(apiCall('api-deny', ALICE, { decision: 'deny' }), deps.decide);

    expect(sfn).toHaveReceivedCommandWith(SendTaskFailureCommand, {
      taskToken: `${TOKEN}-api-deny`,
      error: 'ActionApprovals.Denied',
    });
    const cause = JSON.parse(sfn.commandCalls(SendTaskFailureCommand)[0].args[0].input.cause ?? '{}');
    expect(cause).toMatchObject({ Source: 'action-approvals', DetailType: 'Action Denied' });
    expect((await deps.decide.audit.read('api-deny')).at(-1)?.type).toBe('denied');
  });

  it('refuses the agent’s owner with a reason and a record, and changes nothing', async () => {
    await awaitingApproval('api-owner');

    const response = await handleApiDecision(
      apiCall('api-owner', OWNER, { decision: 'approve' }),
      deps.decide,
    );

    expect(response).toMatchObject({ statusCode: 409 });
    expect(JSON.parse((response as { body: string }).body)).toEqual({
      error: 'owner-approval',
      reason: 'owner@example.com owns the requesting agent and cannot approve for it',
    });
    const vote = (await deps.decide.audit.read('api-owner')).at(-1);
    expect(vote).toMatchObject({ type: 'vote', details: { counted: false, refusal: 'owner-approval' } });
    expect((await deps.decide.requests.get('api-owner'))?.approval?.votes).toEqual([]);
  });

  it('refuses a second vote by the same reviewer', async () => {
    await awaitingApproval('api-twice');
    await handleApiDecision(apiCall('api-twice', ALICE, { decision: 'approve' }), deps.decide);

    const response = await handleApiDecision(
      apiCall('api-twice', ALICE, { decision: 'approve' }),
      deps.decide,
    );

    expect(JSON.parse((response as { body: string }).body)).toMatchObject({ error: 'duplicate-vote' });
    expect((await deps.decide.requests.get('api-twice'))?.approval?.votes).toHaveLength(1);
  });

  it('refuses a vote after expiry', async () => {
    await awaitingApproval('api-late');
    deps.clock.advance(901);

    const response = await handleApiDecision(
      apiCall('api-late', ALICE, { decision: 'approve' }),
      deps.decide,
    );

    expect(JSON.parse((response as { body: string }).body)).toEqual({
      error: 'expired',
      reason: 'the request expired at 2026-11-24T10:15:00.000Z',
    });
    expect(sfn).not.toHaveReceivedAnyCommand();
  });

  it('refuses a vote on an unknown request with 404, recorded in a chain of its own', async () => {
    const response = await handleApiDecision(
      apiCall('no-such-request', ALICE, { decision: 'approve' }),
      deps.decide,
    );

    expect(response).toMatchObject({ statusCode: 404 });
    expect(await deps.decide.audit.read('no-such-request')).toEqual([]);
  });

  it('refuses a caller who is not a registered reviewer', async () => {
    await awaitingApproval('api-stranger');

    const response = await handleApiDecision(
      apiCall('api-stranger', 'arn:aws:iam::999999999999:user/eve', { decision: 'approve' }),
      deps.decide,
    );

    expect(response).toMatchObject({ statusCode: 403 });
  });

  it('rejects a malformed body with a clear reason', async () => {
    const response = await handleApiDecision(apiCall('api-any', ALICE, '{"decision":"maybe"}'), deps.decide);

    expect(response).toMatchObject({ statusCode: 400 });
    expect(JSON.parse((response as { body: string }).body)).toEqual({
      error: 'malformed decision',
      reasons: ['decision must be "approve" or "deny"'],
    });
  });

  it('refuses a request without an IAM identity', async () => {
    const response = await handleApiDecision(
      apiCall('api-any', undefined, { decision: 'approve' }),
      deps.decide,
    );

    expect(response).toMatchObject({ statusCode: 403 });
  });

  it('records a decided request that the workflow no longer waits for, and lets expiry end it', async () => {
    await awaitingApproval('api-gone', 'operators');
    sfn.on(SendTaskSuccessCommand).rejects(new TaskTimedOut({ message: 'Task Timed Out', $metadata: {} }));

    await castBallot(
      {
        requestId: 'api-gone',
        channel: 'slack',
        caller: 'UCAROL',
        reviewer: deps.decide.directory.reviewerById('carol@example.com'),
        decision: 'approve',
      },
      deps.decide,
    );
    const expired = await expireRequest({ requestId: 'api-gone' }, deps.decide);

    expect(expired.outcome).toBe('expired');
    const chain = await deps.decide.audit.read('api-gone');
    expect(chain.map((r) => r.type).slice(-3)).toEqual(['vote', 'approved', 'expired']);
    expect(verifyChain(chain).ok).toBe(true);
  });

  describe('Attack class 5: identities are pinned at every entry', () => {
    const AGENT_ROLE = 'arn:aws:iam::111122223333:role/agents/reporting-bot';
    const AGENT_SESSION = 'arn:aws:sts::111122223333:assumed-role/reporting-bot/nightly-run';

    /** The fixtures' directory with the agent's registration and extra reviewers replaced. */
    function directoryWith(
      agent: DirectoryConfig['agents'][string],
      extraReviewers: DirectoryConfig['reviewers'] = [],
    ): Directory {
      const parsed = Directory.parse({
        ...directoryConfig,
        agents: { ...directoryConfig.agents, 'reporting-bot': agent },
        reviewers: [...directoryConfig.reviewers, ...extraReviewers],
      });
      if (!parsed.ok) throw new Error(parsed.error);
      return parsed.value;
    }

    async function awaitingUnder(requestId: string, directory: Directory): Promise<TestDeps['decide']> {
      const decide = { ...deps.decide, directory };
      await evaluateRequest(actionRequested({ requestId }), { ...deps.evaluate, directory });
      await requestApproval({ requestId, taskToken: `${TOKEN}-${requestId}` }, decide);
      return decide;
    }

    it('refuses an owner listed by Slack id who approves through the API as their IAM principal', async () => {
      const decide = await awaitingUnder('api-class5-owner', directoryWith({ owners: ['UALICE'] }));

      const response = await handleApiDecision(
        apiCall('api-class5-owner', ALICE, { decision: 'approve' }),
        decide,
      );

      expect(response).toMatchObject({ statusCode: 409, body: expect.stringContaining('owner-approval') });
      expect((await decide.requests.get('api-class5-owner'))?.approval?.votes).toEqual([]);
      expect((await decide.audit.read('api-class5-owner')).at(-1)).toMatchObject({
        type: 'vote',
        details: { counted: false, refusal: 'owner-approval', caller: ALICE },
      });
    });

    it('refuses a reviewer whose IAM principal is a session of the requesting agent’s role', async () => {
      const decide = await awaitingUnder(
        'api-class5-agent-role',
        directoryWith({ owners: ['owner@example.com'], iamPrincipalArns: [AGENT_ROLE] }, [
          { id: 'automation@example.com', groups: ['security'], iamPrincipalArns: [AGENT_SESSION] },
        ]),
      );

      const response = await handleApiDecision(
        apiCall('api-class5-agent-role', AGENT_SESSION, { decision: 'approve' }),
        decide,
      );

      expect(response).toMatchObject({ statusCode: 409, body: expect.stringContaining('self-approval') });
      expect((await decide.requests.get('api-class5-agent-role'))?.approval?.votes).toEqual([]);
      expect(sfn).not.toHaveReceivedAnyCommand();
    });

    it('refuses every identity of an owner, whichever one the directory lists', async () => {
      const owner = directoryConfig.reviewers.find((reviewer) => reviewer.id === 'owner@example.com');
      if (!owner) throw new Error('the fixtures have no owner reviewer');
      const listings = [
        owner.id.toUpperCase(),
        owner.slackUserId,
        owner.teamsAadObjectId,
        ...(owner.iamPrincipalArns ?? []),
      ];
      for (const [index, listed] of listings.entries()) {
        if (listed === undefined) continue;
        const requestId = `api-class5-listed-${index}`;
        const decide = await awaitingUnder(requestId, directoryWith({ owners: [listed] }));

        const response = await handleApiDecision(apiCall(requestId, OWNER, { decision: 'approve' }), decide);

        expect(response).toMatchObject({ statusCode: 409, body: expect.stringContaining('owner-approval') });
      }
    });
  });
});
