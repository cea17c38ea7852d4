import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { SendTaskSuccessCommand, SFNClient } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { handler as evaluateHandler } from '../../lambdas/handlers/evaluate';
import { requestApproval } from '../../lambdas/app/request-approval';
import { awsRuntime } from '../../lambdas/handlers/runtime';
import { handler } from '../../lambdas/handlers/teams-messages';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../local/dynamodb-local';
import { createTestTables, type TestTables } from '../support/dynamodb';
import { actionRequested, evaluateTaskInput, directoryConfig } from '../support/fixtures';
import {
  activityEvent,
  BOT_APP_ID,
  BOT_APP_PASSWORD,
  cardAction,
  CONNECTOR_ACCESS_TOKEN,
  CONVERSATION_ID,
  startFakeBotFramework,
  type FakeBotFramework,
} from '../support/teams-fakes';
import { lambdaContext as invocationContext } from '../../local/lambda-events';
import { captureOutput } from '../support/output';

const evaluate = (event: unknown) => evaluateHandler(evaluateTaskInput(event));

const sfn = mockClient(SFNClient);
const events = mockClient(EventBridgeClient);

const TASK_TOKEN = 'AQCEAAAAKgAAAA-teams-handler-task-token/that+must=stay-server-side';

const lambdaContext = invocationContext('teams-messages', 10_000);

describe('Handler: teams-messages', () => {
  const savedEnvironment = { ...process.env };
  let tables: TestTables;
  let botFramework: FakeBotFramework;

  beforeAll(async () => {
    [tables, botFramework] = await Promise.all([createTestTables(), startFakeBotFramework()]);
    Object.assign(process.env, {
      REQUESTS_TABLE_NAME: tables.requestsTable,
      AUDIT_TABLE_NAME: tables.auditTable,
      EVENT_BUS_NAME: 'action-approvals',
      DIRECTORY_JSON: JSON.stringify(directoryConfig),
      TEAMS_APP_ID: BOT_APP_ID,
      TEAMS_APP_PASSWORD: BOT_APP_PASSWORD,
      TEAMS_SERVICE_URL: botFramework.serviceUrl,
      TEAMS_CONVERSATION_ID: CONVERSATION_ID,
      TEAMS_TOKEN_URL: botFramework.tokenUrl,
      TEAMS_OPENID_METADATA_URL: botFramework.metadataUrl,
      AWS_ENDPOINT_URL_DYNAMODB: process.env.DYNAMODB_LOCAL_ENDPOINT,
      AWS_REGION: LOCAL_REGION,
      AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
    });
    for (const name of [
      'AWS_LAMBDA_FUNCTION_NAME',
      'SLACK_CHANNEL_ID',
      'SLACK_BOT_TOKEN',
      'SLACK_BOT_TOKEN_SECRET_ID',
    ]) {
      delete process.env[name];
    }
  });
  afterAll(async () => {
    process.env = savedEnvironment;
    await botFramework.close();
  });
  beforeEach(() => {
    botFramework.reset();
    sfn.reset();
    events.reset();
    events.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'event-1' }] });
  });

  /** A request awaiting approval with its Teams card posted, through the runtime the handler uses. */
  async function awaitingApproval(requestId: string): Promise<void> {
    const rt = awsRuntime();
    await evaluate(actionRequested({ requestId }));
    await requestApproval(
      { requestId, taskToken: `${TASK_TOKEN}-${requestId}` },
      { ...rt.requestPath(), notifiers: await rt.notifiers(), onNotifierError: rt.reportNotifierError },
    );
  }

  const click = async (requestId: string, aadObjectId: string) =>
    activityEvent(
      cardAction({ requestId, aadObjectId, serviceUrl: botFramework.serviceUrl }),
      await botFramework.sign(new Date()),
    );

  it('approves end to end from the environment, and no log line or Teams call holds a token or secret', async () => {
    // Prepare
    await awaitingApproval('teams-handler-e2e');
    const [alice, bob] = [
      await click('teams-handler-e2e', 'aad-alice'),
      await click('teams-handler-e2e', 'aad-bob'),
    ];
    const responses: { statusCode: number; body: string }[] = [];

    // Act
    const logs = await captureOutput(async () => {
      responses.push(await handler(alice, lambdaContext), await handler(bob, lambdaContext));
    });

    // Assess
    expect(responses.map((response) => response.statusCode)).toEqual([200, 200]);
    expect(JSON.parse(responses[1].body)).toMatchObject({
      statusCode: 200,
      type: 'application/vnd.microsoft.card.adaptive',
      value: {
        type: 'AdaptiveCard',
        body: expect.arrayContaining([expect.objectContaining({ text: 'Approved' })]),
      },
    });
    expect(sfn).toHaveReceivedCommandTimes(SendTaskSuccessCommand, 1);
    expect(sfn).toHaveReceivedCommandWith(SendTaskSuccessCommand, {
      taskToken: `${TASK_TOKEN}-teams-handler-e2e`,
    });
    const updates = botFramework.connectorCalls().filter((call) => call.method === 'PUT');
    expect(updates).toHaveLength(2);
    const entries = logs
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(entries).toContainEqual(
      expect.objectContaining({
        message: 'teams vote answered',
        correlation_id: 'teams-handler-e2e',
        function_request_id: lambdaContext.awsRequestId,
      }),
    );
    const secrets = [
      TASK_TOKEN,
      'AQCEAAAAKgAAAA',
      BOT_APP_PASSWORD,
      CONNECTOR_ACCESS_TOKEN,
      alice.headers.authorization,
      bob.headers.authorization,
    ];
    for (const secret of secrets) expect(logs).not.toContain(secret);
    for (const request of botFramework.server.requests) expect(request.body).not.toContain(TASK_TOKEN);
  });

  it('refuses a forged callback with 401, and forgets the previous request’s correlation id', async () => {
    // Prepare
    await awaitingApproval('teams-handler-forged');
    const counted = await click('teams-handler-forged', 'aad-alice');
    await captureOutput(async () => {
      await handler(counted, lambdaContext);
    });
    const forged = activityEvent(
      cardAction({
        requestId: 'teams-handler-forged',
        aadObjectId: 'aad-bob',
        serviceUrl: botFramework.serviceUrl,
      }),
    );

    // Act
    let response: { statusCode: number; body: string } | undefined;
    const logs = await captureOutput(async () => {
      response = await handler(forged, lambdaContext);
    });

    // Assess
    expect(response).toEqual({
      statusCode: 401,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ error: 'missing-token', reason: 'the Authorization header is missing' }),
    });
    const lines = logs
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const refused = lines.find((line) => line.message === 'unauthenticated callback refused') ?? {};
    expect(refused).toMatchObject({ level: 'WARN', channel: 'teams', refusal: 'missing-token' });
    expect(lines).toContainEqual(expect.objectContaining({ channel: 'teams', UnauthenticatedCallbacks: 1 }));
    expect(refused.correlation_id).toBeUndefined();
    expect(sfn).not.toHaveReceivedAnyCommand();
  });
});
