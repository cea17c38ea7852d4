import { signedSlackClick } from '../test/support/slack';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { castBallot } from '../lambdas/app/decide';
import { requestApproval } from '../lambdas/app/request-approval';
import * as evaluate from '../lambdas/handlers/evaluate';
import { decisionPath } from '../lambdas/handlers/decision-wiring';
import { Runtime } from '../lambdas/handlers/runtime';
import { bundleHandler, HANDLER_FILE, HANDLER_NODE_OPTIONS } from '../lib/handler-bundling';
import { LOCAL_CREDENTIALS, LOCAL_REGION, startDynamoDbLocal } from '../local/dynamodb-local';
import { createTables, TABLES } from '../local/runtime';
import { startRecordingHttpServer, type RecordingHttpServer } from '../test/support/recording-http-server';
import { actionRequested, directoryConfig, evaluateTaskInput } from '../test/support/fixtures';
import { percentile, type BenchResult } from './harness';

const SIGNING_SECRET = 'bench-signing-secret';
const CHANNEL = 'C0BENCH';
/** Each sample is a fresh Node process that loads the bundled function and answers one click. */
const SAMPLES = 20;
const SECRETS: Readonly<Record<string, string>> = {
  'slack-bot-token': 'xoxb-bench',
  'slack-signing-secret': SIGNING_SECRET,
};

/**
 * Slack's click → 200 from a cold start of the bundled slack-interactions function, as deployed
 * (bundled like lib/handler-function.ts, secrets read from Secrets Manager): in a fresh Node
 * process per sample, from `require` of the bundle to the handler's answer. AWS is played by
 * DynamoDB Local and loopback stand-ins (Secrets Manager, SQS, Step Functions, EventBridge,
 * Slack), so network time is loopback time; what is measured is loading and initialising the
 * function and the calls it makes before it answers. Half the clicks decide their request.
 */
export async function run(): Promise<BenchResult[]> {
  const dynamo = await startDynamoDbLocal();
  const servers = await Promise.all([
    startRecordingHttpServer((request) =>
      request.path === '/api/chat.postMessage'
        ? { body: { ok: true, channel: CHANNEL, ts: '1764000000.000100' } }
        : { body: { ok: true } },
    ),
    jsonStandIn('1.0', () => ({})),
    jsonStandIn('1.1', () => ({ FailedEntryCount: 0, Entries: [{ EventId: 'bench' }] })),
    jsonStandIn('1.1', (body) => ({ Name: body.SecretId, SecretString: SECRETS[String(body.SecretId)] })),
    jsonStandIn('1.0', (body) => ({
      MessageId: 'bench',
      MD5OfMessageBody: createHash('md5')
        .update(String(body.MessageBody ?? ''))
        .digest('hex'),
    })),
  ]);
  const [slack, sfn, eventBridge, secretsManager, sqs] = servers;
  const dir = mkdtempSync(join(tmpdir(), 'slack-cold-ack-'));
  try {
    await createTables(dynamo.endpoint);
    const environment: Record<string, string> = {
      REQUESTS_TABLE_NAME: TABLES.requests,
      AUDIT_TABLE_NAME: TABLES.audit,
      IDEMPOTENCY_TABLE_NAME: TABLES.idempotency,
      EVENT_BUS_NAME: 'action-approvals',
      DIRECTORY_JSON: JSON.stringify(directoryConfig),
      SLACK_CHANNEL_ID: CHANNEL,
      SLACK_BOT_TOKEN_SECRET_ID: 'slack-bot-token',
      SLACK_SIGNING_SECRET_ID: 'slack-signing-secret',
      SLACK_API_URL: `${slack.url}/api/`,
      SLACK_VOTES_QUEUE_URL: `${sqs.url}/000000000000/slack-votes`,
      AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
      AWS_ENDPOINT_URL_SFN: sfn.url,
      AWS_ENDPOINT_URL_EVENTBRIDGE: eventBridge.url,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: secretsManager.url,
      AWS_ENDPOINT_URL_SQS: sqs.url,
      AWS_REGION: LOCAL_REGION,
      AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
    };
    const rt = new Runtime(environment);
    const evaluateRequest = evaluate.createHandler(evaluate.evaluateDeps(rt));
    const notifiers = await rt.notifiers();
    const decide = decisionPath(rt, notifiers);

    const outdir = join(dir, 'slack-interactions');
    await bundleHandler({ handler: 'slack-interactions', evaluatesPolicy: false }, outdir);
    const bundle = join(outdir, HANDLER_FILE);
    const lambda = {
      ...environment,
      AWS_LAMBDA_FUNCTION_NAME: 'slack-interactions',
      POWERTOOLS_LOG_LEVEL: 'SILENT',
    };

    const samples: number[] = [];
    for (let sample = 0; sample < SAMPLES; sample += 1) {
      const requestId = `bench-cold-${sample}`;
      await evaluateRequest(evaluateTaskInput(actionRequested({ requestId }), requestId));
      await requestApproval(
        { requestId, taskToken: `bench-task-token-${requestId}` },
        { ...rt.requestPath(), notifiers, onNotifierError: rt.reportNotifierError },
      );
      if (sample % 2 === 1) {
        const alice = rt.directory.reviewerBySlackUser('UALICE', undefined);
        await castBallot(
          { requestId, channel: 'slack', caller: 'UALICE', reviewer: alice, decision: 'approve' },
          decide,
        );
      }
      samples.push(await coldClickMs(dir, bundle, signedClick(requestId, 'UBOB'), lambda));
    }
    const round = (ms: number): number => Math.round(ms * 100) / 100;
    return [
      { name: 'slack_interactions.cold_click_to_200_p50', unit: 'ms', value: round(percentile(samples, 50)) },
      { name: 'slack_interactions.cold_click_to_200_p99', unit: 'ms', value: round(percentile(samples, 99)) },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await Promise.all(servers.map((server) => server.close()));
    await dynamo.stop();
  }
}

/** An AWS JSON-protocol service on loopback, answering every call with `answer(request body)`. */
function jsonStandIn(
  version: '1.0' | '1.1',
  answer: (body: Record<string, unknown>) => object,
): Promise<RecordingHttpServer> {
  return startRecordingHttpServer((request) => ({
    headers: { 'content-type': `application/x-amz-json-${version}` },
    body: answer(JSON.parse(request.body || '{}') as Record<string, unknown>),
  }));
}

const signedClick = (requestId: string, userId: string) =>
  signedSlackClick({ requestId, userId, channel: CHANNEL, secret: SIGNING_SECRET });

/**
 * Milliseconds from requiring `bundle` in a fresh Node process to its handler's answer to
 * `event`. The process is waited for without blocking this one: the stand-ins it calls live here.
 */
async function coldClickMs(
  dir: string,
  bundle: string,
  event: object,
  environment: Record<string, string>,
): Promise<number> {
  const script = join(dir, 'cold-click.js');
  writeFileSync(
    script,
    `const started = process.hrtime.bigint();
const deadline = Date.now() + 10000;
const context = { functionName: 'slack-interactions', awsRequestId: 'cold', getRemainingTimeInMillis: () => deadline - Date.now() };
import(${JSON.stringify(pathToFileURL(bundle).href)}).then((bundled) => bundled.handler(JSON.parse(process.env.BENCH_EVENT), context)).then((answer) => {
  process.stderr.write('\\nCOLD ' + JSON.stringify({ ms: Number(process.hrtime.bigint() - started) / 1e6, statusCode: answer.statusCode }) + '\\n');
  process.exit(0);
}, (error) => { process.stderr.write(String((error && error.stack) || error)); process.exit(1); });
`,
  );
  const child = spawn(process.execPath, [script], {
    env: {
      PATH: process.env.PATH ?? '',
      ...environment,
      NODE_OPTIONS: HANDLER_NODE_OPTIONS,
      BENCH_EVENT: JSON.stringify(event),
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const status = await new Promise<number | null>((resolve) => child.once('close', resolve));
  const answer = /^COLD (.*)$/m.exec(stderr);
  if (status !== 0 || !answer) throw new Error(`the cold click failed: ${stderr}`);
  const { ms, statusCode } = JSON.parse(answer[1]) as { ms: number; statusCode: number };
  if (statusCode !== 200) throw new Error(`the cold click answered ${statusCode}`);
  return ms;
}
