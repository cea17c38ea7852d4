import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { SendTaskFailureCommand, SendTaskSuccessCommand, SFNClient, TaskTimedOut } from '@aws-sdk/client-sfn';
import type { APIGatewayProxyEventV2WithIAMAuthorizer } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { handleApiDecision } from '../../lambdas/app/api-decision';
import { castBallot } from '../../lambdas/app/decide';
import { evaluateRequest } from '../../lambdas/app/evaluate';
import { expireRequest } from '../../lambdas/app/expire';
import { requestApproval } from '../../lambdas/app/request-approval';
import { verifyChain } from '../../lambdas/core/audit';
import { createTestTables, type TestTables } from '../support/dynamodb';
import { actionRequested, testDeps, type TestDeps } from '../support/fixtures';

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
});
