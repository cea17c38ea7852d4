import { signedSlackClick } from '../test/support/slack';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { performance } from 'node:perf_hooks';
import { logger } from '../lambdas/adapters/logger';
import { handler as evaluate } from '../lambdas/handlers/evaluate';
import { requestApproval } from '../lambdas/app/request-approval';
import { awsRuntime } from '../lambdas/handlers/runtime';
import { handler } from '../lambdas/handlers/slack-interactions';
import { handler as voteWorker } from '../lambdas/handlers/slack-votes';
import type { SQSEvent } from 'aws-lambda';
import { createHash } from 'node:crypto';
import { LOCAL_CREDENTIALS, LOCAL_REGION, startDynamoDbLocal } from '../local/dynamodb-local';
import { createTables, TABLES } from '../local/runtime';
import { startRecordingHttpServer } from '../test/support/recording-http-server';
import { actionRequested, directoryConfig, evaluateTaskInput } from '../test/support/fixtures';
import { percentile, type BenchResult } from './harness';
import { lambdaContext as invocationContext } from '../local/lambda-events';

const SIGNING_SECRET = 'bench-signing-secret';
const CHANNEL = 'C0BENCH';
/** Each request needs two approvals: half the clicks record a vote, half decide and resume the workflow. */
const REQUESTS = 150;
const WARM_UP_REQUESTS = 5;

let clicks = 0;

/** Every click gets an action_ts of its own: Slack's retries of one click share theirs. */
function signedClick(requestId: string, userId: string) {
  clicks += 1;
  return signedSlackClick({
    requestId,
    userId,
    channel: CHANNEL,
    secret: SIGNING_SECRET,
    actionTs: `1764000000.${clicks}`,
  });
}

/**
 * Slack's endpoint (slack-interactions) and the vote worker behind it (slack-votes), warm, as
 * deployed but on this machine: DynamoDB Local for requests, audit and idempotency; local HTTP
 * stubs standing in for Slack, SQS, Step Functions and EventBridge, so every call crosses a real
 * socket. The endpoint's latency is what Slack waits for; the worker's is how long the card takes
 * to change after that.
 */
export async function run(): Promise<BenchResult[]> {
  const dynamo = await startDynamoDbLocal();
  const slack = await startRecordingHttpServer((request) =>
    request.path === '/api/chat.postMessage'
      ? { body: { ok: true, channel: CHANNEL, ts: '1764000000.000100' } }
      : { body: { ok: true } },
  );
  // Step Functions and EventBridge speak JSON over POST; these are the answers the handler reads.
  const sfn = await startRecordingHttpServer(() => ({
    headers: { 'content-type': 'application/x-amz-json-1.0' },
    body: '{}',
  }));
  const eventBridge = await startRecordingHttpServer(() => ({
    headers: { 'content-type': 'application/x-amz-json-1.1' },
    body: { FailedEntryCount: 0, Entries: [{ EventId: 'bench' }] },
  }));
  // SQS's SendMessage: the endpoint checks the body's MD5 in the answer, as the SDK does.
  const sqs = await startRecordingHttpServer((request) => ({
    headers: { 'content-type': 'application/x-amz-json-1.0' },
    body: {
      MessageId: 'bench',
      MD5OfMessageBody: createHash('md5')
        .update(String((JSON.parse(request.body) as { MessageBody?: string }).MessageBody ?? ''))
        .digest('hex'),
    },
  }));
  const savedEnvironment = { ...process.env };
  const savedLogLevel = logger.getLevelName();
  try {
    await createTables(dynamo.endpoint);
    Object.assign(process.env, {
      REQUESTS_TABLE_NAME: TABLES.requests,
      AUDIT_TABLE_NAME: TABLES.audit,
      IDEMPOTENCY_TABLE_NAME: TABLES.idempotency,
      EVENT_BUS_NAME: 'action-approvals',
      DIRECTORY_JSON: JSON.stringify(directoryConfig),
      SLACK_CHANNEL_ID: CHANNEL,
      SLACK_BOT_TOKEN: 'xoxb-bench',
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: `${slack.url}/api/`,
      AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
      AWS_ENDPOINT_URL_SFN: sfn.url,
      AWS_ENDPOINT_URL_EVENTBRIDGE: eventBridge.url,
      AWS_ENDPOINT_URL_SQS: sqs.url,
      SLACK_VOTES_QUEUE_URL: `${sqs.url}/000000000000/slack-votes`,
      AWS_REGION: LOCAL_REGION,
      AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
    });
    delete process.env.AWS_LAMBDA_FUNCTION_NAME;
    // The bench prints its results on stdout; the handler's per-click log lines would mix in.
    logger.setLogLevel('SILENT');

    // The runtime reads the environment once, on first use: here, after it was set.
    const rt = awsRuntime();
    const ids = Array.from({ length: WARM_UP_REQUESTS + REQUESTS }, (_, i) => `bench-${i}`);
    for (const requestId of ids) {
      await evaluate(evaluateTaskInput(actionRequested({ requestId }), requestId));
      await requestApproval(
        { requestId, taskToken: `bench-task-token-${requestId}` },
        { ...rt.requestPath(), notifiers: await rt.notifiers(), onNotifierError: rt.reportNotifierError },
      );
    }

    const click = async (event: APIGatewayProxyEventV2): Promise<number> => {
      const started = performance.now();
      const response = await handler(event, invocationContext('slack-interactions', 3_000));
      const elapsed = performance.now() - started;
      if (response.statusCode !== 200)
        throw new Error(`a click answered ${response.statusCode}: ${response.body}`);
      return elapsed;
    };
    let cast = 0;
    /** Hands the worker each job queued since the last call, one SQS event each, as the queue would. */
    const castQueued = async (): Promise<number[]> => {
      const jobs = sqs.requests.slice(cast);
      cast = sqs.requests.length;
      const elapsed: number[] = [];
      for (const job of jobs) {
        const started = performance.now();
        const answer = await voteWorker(sqsEvent(job.body), invocationContext('slack-votes', 30_000));
        elapsed.push(performance.now() - started);
        if (answer.batchItemFailures.length > 0) throw new Error('the vote worker failed a job');
      }
      return elapsed;
    };

    // Cold start (secrets, clients, JIT) is paid once per instance; it is not what a reviewer waits for.
    for (const requestId of ids.slice(0, WARM_UP_REQUESTS)) {
      await click(signedClick(requestId, 'UALICE'));
      await click(signedClick(requestId, 'UBOB'));
      await castQueued();
    }
    const latencies: number[] = [];
    const replays: number[] = [];
    const votes: number[] = [];
    for (const requestId of ids.slice(WARM_UP_REQUESTS)) {
      latencies.push(await click(signedClick(requestId, 'UALICE')));
      const deciding = signedClick(requestId, 'UBOB');
      latencies.push(await click(deciding));
      // Slack's retry of the deciding click: answered from the idempotency record, queued no more.
      replays.push(await click(deciding));
      votes.push(...(await castQueued()));
    }
    if (sfn.requests.length !== WARM_UP_REQUESTS + REQUESTS) {
      throw new Error(`expected one SendTaskSuccess per request, saw ${sfn.requests.length}`);
    }

    const round = (ms: number): number => Math.round(ms * 100) / 100;
    return [
      { name: 'slack_interactions.latency_p50', unit: 'ms', value: round(percentile(latencies, 50)) },
      { name: 'slack_interactions.latency_p99', unit: 'ms', value: round(percentile(latencies, 99)) },
      { name: 'slack_interactions.retry_latency_p50', unit: 'ms', value: round(percentile(replays, 50)) },
      { name: 'slack_votes.latency_p50', unit: 'ms', value: round(percentile(votes, 50)) },
      { name: 'slack_votes.latency_p99', unit: 'ms', value: round(percentile(votes, 99)) },
    ];
  } finally {
    logger.setLogLevel(savedLogLevel);
    process.env = savedEnvironment;
    await Promise.all([slack.close(), sfn.close(), eventBridge.close(), sqs.close()]);
    await dynamo.stop();
  }
}

function sqsEvent(sendMessageBody: string): SQSEvent {
  const { MessageBody = '' } = JSON.parse(sendMessageBody) as { MessageBody?: string };
  return {
    Records: [
      {
        messageId: 'bench',
        receiptHandle: 'bench',
        body: MessageBody,
        attributes: {
          ApproximateReceiveCount: '1',
          SentTimestamp: String(Date.now()),
          SenderId: 'slack-interactions',
          ApproximateFirstReceiveTimestamp: String(Date.now()),
        },
        messageAttributes: {},
        md5OfBody: '',
        eventSource: 'aws:sqs',
        eventSourceARN: 'arn:aws:sqs:eu-west-1:000000000000:slack-votes',
        awsRegion: 'eu-west-1',
      },
    ],
  };
}
