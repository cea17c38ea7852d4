import { signedSlackClick } from '../support/slack';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { SendTaskSuccessCommand, SFNClient } from '@aws-sdk/client-sfn';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { handler as evaluateHandler } from '../../lambdas/handlers/evaluate';
import { requestApproval } from '../../lambdas/app/request-approval';
import {
  createHandler,
  endpointWiring,
  handler,
  slackAcknowledgementDeps,
  voteQueueFrom,
} from '../../lambdas/handlers/slack-interactions';
import { handler as voteWorker } from '../../lambdas/handlers/slack-votes';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import { awsRuntime } from '../../lambdas/handlers/runtime';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../local/dynamodb-local';
import { createTestTables, type TestTables } from '../support/dynamodb';
import { actionRequested, evaluateTaskInput, directoryConfig } from '../support/fixtures';
import { startRecordingHttpServer, type RecordingHttpServer } from '../support/recording-http-server';
import { lambdaContext as invocationContext } from '../../local/lambda-events';
import { captureOutput } from '../support/output';

const evaluate = (event: unknown) => evaluateHandler(evaluateTaskInput(event));

const sfn = mockClient(SFNClient);
const events = mockClient(EventBridgeClient);
const sqs = mockClient(SQSClient);
const secretsManager = mockClient(SecretsManagerClient);
const QUEUE_URL = 'https://sqs.eu-west-1.amazonaws.com/111122223333/slack-votes';

const SIGNING_SECRET = 'handler-test-signing-secret-0123456789';
const BOT_TOKEN = 'xoxb-handler-test-bot-token-0123456789';
const TOKEN = 'AQCEAAAAKgAAAA-handler-task-token/that+must=stay-server-side';
const CHANNEL = 'C0APPROVALS';

// Each test's invocations get their own time budget, as each Lambda invocation does.
let lambdaContext = invocationContext('slack-interactions', 3_000);
let workerContext = invocationContext('slack-votes', 30_000);

const signedClick = (requestId: string, userId: string, secret = SIGNING_SECRET) =>
  signedSlackClick({ requestId, userId, channel: CHANNEL, secret });

describe('Handler: slack-interactions', () => {
  const savedEnvironment = { ...process.env };
  let tables: TestTables;
  let slack: RecordingHttpServer;

  beforeAll(async () => {
    tables = await createTestTables();
    slack = await startRecordingHttpServer((request) =>
      request.path === '/api/chat.postMessage'
        ? { body: { ok: true, channel: CHANNEL, ts: '1764000000.000100' } }
        : request.path === '/api/chat.update' && request.body.includes('Approved')
          ? { status: 500, body: { ok: false, error: 'internal_error' } }
          : { body: { ok: true } },
    );
    Object.assign(process.env, {
      REQUESTS_TABLE_NAME: tables.requestsTable,
      AUDIT_TABLE_NAME: tables.auditTable,
      IDEMPOTENCY_TABLE_NAME: tables.idempotencyTable,
      EVENT_BUS_NAME: 'action-approvals',
      DIRECTORY_JSON: JSON.stringify(directoryConfig),
      SLACK_CHANNEL_ID: CHANNEL,
      SLACK_BOT_TOKEN: BOT_TOKEN,
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: `${slack.url}/api/`,
      SLACK_VOTES_QUEUE_URL: QUEUE_URL,
      AWS_ENDPOINT_URL_DYNAMODB: process.env.DYNAMODB_LOCAL_ENDPOINT,
      AWS_REGION: LOCAL_REGION,
      AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
    });
    delete process.env.AWS_LAMBDA_FUNCTION_NAME;
  });
  afterAll(async () => {
    process.env = savedEnvironment;
    await slack.close();
  });
  beforeEach(() => {
    slack.clear();
    sfn.reset();
    events.reset();
    events.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'event-1' }] });
    lambdaContext = invocationContext('slack-interactions', 3_000);
    workerContext = invocationContext('slack-votes', 30_000);
    sqs.reset();
    sqs.on(SendMessageCommand).resolves({ MessageId: 'message-1' });
    secretsManager.reset();
  });

  /** What the endpoint queued, as the queue's event source hands it to the vote worker. */
  function queuedJobs(): SQSEvent {
    return {
      Records: sqs.commandCalls(SendMessageCommand).map((call, index) => ({
        messageId: `message-${index}`,
        receiptHandle: `receipt-${index}`,
        body: call.args[0].input.MessageBody ?? '',
        attributes: {
          ApproximateReceiveCount: '1',
          SentTimestamp: '0',
          SenderId: 'slack-interactions',
          ApproximateFirstReceiveTimestamp: '0',
        },
        messageAttributes: {},
        md5OfBody: '',
        eventSource: 'aws:sqs',
        eventSourceARN: 'arn:aws:sqs:eu-west-1:111122223333:slack-votes',
        awsRegion: 'eu-west-1',
      })),
    };
  }

  /** A request awaiting approval, set up through the same runtime the handler uses. */
  async function awaitingApproval(requestId: string): Promise<void> {
    const rt = awsRuntime();
    await evaluate(actionRequested({ requestId }));
    await requestApproval(
      { requestId, taskToken: `${TOKEN}-${requestId}` },
      { ...rt.requestPath(), notifiers: await rt.notifiers(), onNotifierError: rt.reportNotifierError },
    );
  }

  it('approves end to end from the environment, and no log line or Slack call holds a token or secret', async () => {
    // Prepare
    await awaitingApproval('handler-e2e');
    let responses: unknown[] = [];

    let batch: unknown;
    let resumedWhenAnswered = true;

    // Act: two approvals decide; Slack then fails the card update, which is logged
    const logs = await captureOutput(async () => {
      responses = [
        await handler(signedClick('handler-e2e', 'UALICE'), lambdaContext),
        await handler(signedClick('handler-e2e', 'UBOB'), lambdaContext),
      ];
      resumedWhenAnswered = sfn.commandCalls(SendTaskSuccessCommand).length > 0;
      batch = await voteWorker(queuedJobs(), workerContext);
    });

    // Assess
    expect(responses).toEqual([
      { statusCode: 200, body: '' },
      { statusCode: 200, body: '' },
    ]);
    expect(resumedWhenAnswered).toBe(false);
    expect(sqs).toHaveReceivedCommandTimes(SendMessageCommand, 2);
    expect(sqs).toHaveReceivedCommandWith(SendMessageCommand, { QueueUrl: QUEUE_URL });
    expect(batch).toEqual({ batchItemFailures: [] });
    expect(sfn).toHaveReceivedCommandTimes(SendTaskSuccessCommand, 1);
    expect(sfn).toHaveReceivedCommandWith(SendTaskSuccessCommand, { taskToken: `${TOKEN}-handler-e2e` });
    const lines = logs.split('\n').filter((line) => line.trim() !== '');
    expect(lines.length).toBeGreaterThanOrEqual(3);
    const entries = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(entries).toContainEqual(
      expect.objectContaining({
        message: 'slack click queued',
        correlation_id: 'handler-e2e',
        function_request_id: lambdaContext.awsRequestId,
      }),
    );
    expect(entries).toContainEqual(
      expect.objectContaining({
        message: 'slack vote cast',
        correlation_id: 'handler-e2e',
        function_request_id: workerContext.awsRequestId,
      }),
    );
    expect(entries).toContainEqual(
      expect.objectContaining({
        level: 'ERROR',
        message: 'chat channel could not be updated',
        channel: 'slack',
      }),
    );
    for (const secret of [TOKEN, 'AQCEAAAAKgAAAA', SIGNING_SECRET, BOT_TOKEN]) {
      expect(logs).not.toContain(secret);
    }
    for (const request of slack.requests) {
      expect(decodeURIComponent(request.body)).not.toContain(TOKEN);
    }
  });

  it('answers 401 to a callback signed with another secret, and counts it without recording it', async () => {
    // Prepare
    await awaitingApproval('handler-forged');

    // Act
    let response: unknown;
    const output = await captureOutput(async () => {
      response = await handler(
        signedClick('handler-forged', 'UALICE', 'not-the-signing-secret'),
        lambdaContext,
      );
    });

    // Assess
    expect(response).toMatchObject({
      statusCode: 401,
      body: JSON.stringify({
        error: 'signature-mismatch',
        reason: 'the signature does not match the request',
      }),
    });
    expect((await awsRuntime().requestPath().requests.get('handler-forged'))?.approval?.votes).toEqual([]);
    expect(sfn).not.toHaveReceivedAnyCommand();
    const { Items = [] } = await tables.documents.send(
      new ScanCommand({ TableName: tables.auditTable, ConsistentRead: true }),
    );
    expect(Items.filter((item) => String(item.requestId).startsWith('refused-callback-'))).toEqual([]);
    expect(output).toContain('"UnauthenticatedCallbacks":1');
  });

  it('does not carry one click’s correlation id into the next invocation', async () => {
    // Prepare
    await awaitingApproval('handler-correlation');
    await handler(signedClick('handler-correlation', 'UALICE'), lambdaContext);

    // Act
    const logs = await captureOutput(async () => {
      await handler(signedClick('handler-correlation', 'UALICE', 'forged'), lambdaContext);
    });

    // Assess
    const refused = logs
      .split('\n')
      .filter((line) => line.includes('unauthenticated callback refused'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(refused).toHaveLength(1);
    expect(refused[0].correlation_id).toBeUndefined();
  });

  it('reads only the signing secret and calls only SQS before answering a vote: no bot token, workflow or bus', async () => {
    // Prepare
    await awaitingApproval('handler-light');
    secretsManager
      .on(GetSecretValueCommand, { SecretId: 'slack-signing-secret' })
      .resolves({ SecretString: SIGNING_SECRET });
    const environment = {
      ...process.env,
      SLACK_SIGNING_SECRET: undefined,
      SLACK_BOT_TOKEN: undefined,
      SLACK_SIGNING_SECRET_ID: 'slack-signing-secret',
      SLACK_BOT_TOKEN_SECRET_ID: 'slack-bot-token',
    };
    slack.clear();
    const endpoint = createHandler(
      await slackAcknowledgementDeps(endpointWiring(environment), voteQueueFrom(environment)),
    );

    // Act
    const response = await endpoint(signedClick('handler-light', 'UALICE'), lambdaContext);

    // Assess
    expect(response).toEqual({ statusCode: 200, body: '' });
    expect(secretsManager).toHaveReceivedCommandTimes(GetSecretValueCommand, 1);
    expect(secretsManager).toHaveReceivedCommandWith(GetSecretValueCommand, {
      SecretId: 'slack-signing-secret',
    });
    expect(sqs).toHaveReceivedCommandTimes(SendMessageCommand, 1);
    expect(sfn).not.toHaveReceivedAnyCommand();
    expect(events).not.toHaveReceivedAnyCommand();
    expect(slack.requests).toEqual([]);
  });
});
