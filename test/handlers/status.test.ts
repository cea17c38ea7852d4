import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { SFNClient } from '@aws-sdk/client-sfn';
import type { APIGatewayProxyEventV2WithIAMAuthorizer } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { DynamoAuditLog } from '../../lambdas/adapters/audit-log';
import { DynamoRequestsStore } from '../../lambdas/adapters/requests-store';
import { requireRequest } from '../../lambdas/app/retry';
import { castBallot } from '../../lambdas/app/decide';
import { evaluateRequest } from '../../lambdas/app/evaluate';
import { requestApproval } from '../../lambdas/app/request-approval';
import { Directory } from '../../lambdas/core/directory';
import { createHandler } from '../../lambdas/handlers/status';
import { createTestTables, type TestTables } from '../support/dynamodb';
import { actionRequested, directoryConfig, testDeps, type TestDeps } from '../support/fixtures';

const events = mockClient(EventBridgeClient);
mockClient(SFNClient);

const ALICE = 'arn:aws:iam::111122223333:user/alice';
const OWNER = 'arn:aws:iam::111122223333:user/owner';
const REPORTING_BOT_ROLE = 'arn:aws:sts::111122223333:assumed-role/reporting-bot/session-1';
const CAROL = 'arn:aws:iam::111122223333:user/carol';
const STRANGER = 'arn:aws:sts::111122223333:assumed-role/someone-else/session-1';
const TOKEN = 'AQCEAAAAKgAAAA-task-token-that-must-stay-server-side';

// The reporting bot's role is registered, so it may also use /v1/requests/{id}.
const statusDirectory = (() => {
  const parsed = Directory.parse({
    ...directoryConfig,
    reviewers: directoryConfig.reviewers.map((reviewer) =>
      reviewer.id === 'carol@example.com' ? { ...reviewer, iamPrincipalArns: [CAROL] } : reviewer,
    ),
    agents: {
      ...directoryConfig.agents,
      'reporting-bot': { owners: ['owner@example.com'], iamPrincipalArns: [REPORTING_BOT_ROLE] },
    },
  });
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.value;
})();

function get(
  route: {
    path: string;
    routeKey: string;
    pathParameters: Record<string, string>;
    query?: Record<string, string>;
  },
  caller: string | undefined,
): APIGatewayProxyEventV2WithIAMAuthorizer {
  return {
    version: '2.0',
    routeKey: route.routeKey,
    rawPath: route.path,
    rawQueryString: new URLSearchParams(route.query ?? {}).toString(),
    headers: {},
    pathParameters: route.pathParameters,
    ...(route.query ? { queryStringParameters: route.query } : {}),
    isBase64Encoded: false,
    requestContext: { authorizer: caller ? { iam: { userArn: caller } } : undefined },
  } as unknown as APIGatewayProxyEventV2WithIAMAuthorizer;
}

const agentRequest = (agentId: string, id: string) => ({
  routeKey: 'GET /v1/agents/{agentId}/requests/{id}',
  path: `/v1/agents/${agentId}/requests/${id}`,
  pathParameters: { agentId, id },
});
const agentList = (agentId: string) => ({
  routeKey: 'GET /v1/agents/{agentId}/requests',
  path: `/v1/agents/${agentId}/requests`,
  pathParameters: { agentId },
});
const request = (id: string) => ({
  routeKey: 'GET /v1/requests/{id}',
  path: `/v1/requests/${id}`,
  pathParameters: { id },
});
const list = (query: Record<string, string>) => ({
  routeKey: 'GET /v1/requests',
  path: '/v1/requests',
  pathParameters: {},
  query,
});

const bodyOf = (response: { body: string }) => JSON.parse(response.body) as Record<string, unknown>;

describe('the status API handler', () => {
  let tables: TestTables;
  let deps: TestDeps;
  let handle: ReturnType<typeof createHandler>;

  beforeAll(async () => {
    tables = await createTestTables();
    events.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e-1' }] });
    deps = testDeps(tables, { events: new EventBridgeClient({ region: 'us-east-1' }) });
    handle = createHandler({
      requests: new DynamoRequestsStore(tables.documents, tables.requestsTable, tables.auditTable),
      audit: new DynamoAuditLog(tables.documents, tables.auditTable),
      directory: statusDirectory,
    });

    // An export waiting for two security reviewers, with Alice's approval counted.
    await evaluateRequest(actionRequested({ requestId: 'status-export' }), deps.evaluate);
    await requestApproval({ requestId: 'status-export', taskToken: TOKEN }, deps.decide);
    await castBallot(
      {
        requestId: 'status-export',
        channel: 'api',
        caller: ALICE,
        reviewer: deps.decide.directory.reviewerById('alice@example.com'),
        decision: 'approve',
      },
      deps.decide,
    );
    deps.clock.advance(1);
    // Another agent's request.
    await evaluateRequest(actionRequested({ requestId: 'status-deploy' }, 'deploy-bot'), deps.evaluate);
    deps.clock.advance(1);
    // An export the system has run, with its receipt in the audit chain.
    await evaluateRequest(actionRequested({ requestId: 'status-read' }), deps.evaluate);
    const waiting = await requireRequest(deps.evaluate.requests, 'status-read');
    const approved = await deps.evaluate.requests.save(waiting, { state: 'approved' });
    const executing = await deps.evaluate.requests.save(approved, { state: 'executing' });
    await deps.evaluate.requests.save(executing, { state: 'executed' }, [
      {
        requestId: 'status-read',
        at: deps.clock.now().toISOString(),
        type: 'executed',
        actor: { kind: 'system', id: 'execute' },
        details: { receipt: 'header.payload.signature', result: { contentType: 'text/csv' } },
      },
    ]);
  });

  it('shows an agent its own request: state, policy, votes so far, expiry and parameters', async () => {
    const response = await handle(get(agentRequest('reporting-bot', 'status-export'), REPORTING_BOT_ROLE));

    expect(response.statusCode).toBe(200);
    expect(bodyOf(response)).toEqual({
      requestId: 'status-export',
      agentId: 'reporting-bot',
      state: 'awaiting-approval',
      operation: 'dynamodb:ExportTableToPointInTime',
      resource: 'arn:aws:dynamodb:eu-west-1:111122223333:table/orders',
      parameters: { S3Bucket: 'exports', S3Prefix: 'orders/status-export/', ExportFormat: 'DYNAMODB_JSON' },
      parametersHash: expect.stringMatching(/^[0-9a-f]{64}$/),
      justification: 'Quarterly revenue report.',
      requestedAt: '2026-11-24T10:00:00Z',
      createdAt: '2026-11-24T10:00:00.000Z',
      expiresAt: expect.any(String),
      policy: { outcome: 'require-approval', reason: expect.any(String), policyIds: expect.any(Array) },
      approval: {
        quorum: 2,
        approverGroups: ['security'],
        approvals: 1,
        votes: [
          {
            reviewer: 'alice@example.com',
            decision: 'approve',
            at: '2026-11-24T10:00:00.000Z',
            channel: 'api',
          },
        ],
      },
    });
  });

  it('never shows the task token', async () => {
    const response = await handle(get(agentRequest('reporting-bot', 'status-export'), REPORTING_BOT_ROLE));

    expect(response.body).not.toContain(TOKEN);
  });

  it('refuses an agent another agent’s request with 403', async () => {
    const response = await handle(get(agentRequest('reporting-bot', 'status-deploy'), REPORTING_BOT_ROLE));

    expect(response.statusCode).toBe(403);
    expect(bodyOf(response)).toMatchObject({ error: 'forbidden' });
  });

  it('answers 404 for an unknown request id', async () => {
    const response = await handle(get(agentRequest('reporting-bot', 'no-such-request'), REPORTING_BOT_ROLE));

    expect(response.statusCode).toBe(404);
  });

  it('adds the signed receipt and the result once the request has executed', async () => {
    const response = await handle(get(agentRequest('reporting-bot', 'status-read'), REPORTING_BOT_ROLE));

    expect(bodyOf(response)).toMatchObject({
      state: 'executed',
      receipt: 'header.payload.signature',
      result: { contentType: 'text/csv' },
    });
  });

  it('lets an agent registered by its IAM principal read its own request on /v1/requests/{id}', async () => {
    const own = await handle(get(request('status-export'), REPORTING_BOT_ROLE));
    const other = await handle(get(request('status-deploy'), REPORTING_BOT_ROLE));

    expect([own.statusCode, other.statusCode]).toEqual([200, 403]);
  });

  it('lets a reviewer read a request they may decide', async () => {
    const response = await handle(get(request('status-export'), ALICE));

    expect(response.statusCode).toBe(200);
    expect(bodyOf(response)).toMatchObject({ requestId: 'status-export', state: 'awaiting-approval' });
  });

  it('refuses a reviewer outside the groups the request waits on', async () => {
    const response = await handle(get(request('status-export'), CAROL));

    expect(response.statusCode).toBe(403);
  });

  it('refuses a caller the directory does not know with 403', async () => {
    const response = await handle(get(request('status-export'), STRANGER));

    expect(response.statusCode).toBe(403);
  });

  it('refuses a pinned route naming an agent that is not registered', async () => {
    const response = await handle(get(agentRequest('ghost-bot', 'status-export'), REPORTING_BOT_ROLE));

    expect(response.statusCode).toBe(403);
  });

  it('refuses a call with no IAM identity', async () => {
    const response = await handle(get(agentRequest('reporting-bot', 'status-export'), undefined));

    expect(response.statusCode).toBe(403);
  });

  it('lists an agent’s own requests, newest first', async () => {
    const response = await handle(get(agentList('reporting-bot'), REPORTING_BOT_ROLE));

    expect(response.statusCode).toBe(200);
    expect((bodyOf(response).requests as { requestId: string }[]).map((r) => r.requestId)).toEqual([
      'status-read',
      'status-export',
    ]);
  });

  it('refuses an agent the list of another agent', async () => {
    const response = await handle(get(list({ agent: 'deploy-bot' }), REPORTING_BOT_ROLE));

    expect(response.statusCode).toBe(403);
  });

  it('lists for a reviewer only the requests they may decide', async () => {
    const owner = await handle(get(list({ agent: 'reporting-bot' }), OWNER));
    const outsider = await handle(get(list({ agent: 'reporting-bot' }), CAROL));

    expect((bodyOf(owner).requests as { requestId: string }[]).map((r) => r.requestId)).toEqual([
      'status-read',
      'status-export',
    ]);
    expect(bodyOf(outsider).requests).toEqual([]);
  });

  it('asks a reviewer to name the agent whose requests to list', async () => {
    const response = await handle(get(list({}), ALICE));

    expect(response.statusCode).toBe(400);
  });

  it('refuses a limit that is not a whole number', async () => {
    const response = await handle(
      get({ ...agentList('reporting-bot'), query: { limit: 'all' } }, REPORTING_BOT_ROLE),
    );

    expect(response.statusCode).toBe(400);
  });
});
