import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { startRecordingHttpServer, type RecordingHttpServer } from '../test/support/recording-http-server';

const PROJECT_ROOT = join(__dirname, '..');

/** Bundles a handler as the deployed functions are bundled (lib/handler-function.ts). */
export async function bundleHandler(entry: string, outfile: string): Promise<void> {
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    minify: true,
    logLevel: 'error',
  });
}

/** Secrets Manager's GetSecretValue (JSON protocol) for the named secrets. */
export function secretsManagerStandIn(
  secrets: Readonly<Record<string, string>>,
): Promise<RecordingHttpServer> {
  return startRecordingHttpServer((request) => {
    const { SecretId } = JSON.parse(request.body) as { SecretId: string };
    const value = secrets[SecretId];
    return value === undefined
      ? { status: 400, body: { __type: 'ResourceNotFoundException', message: `no secret ${SecretId}` } }
      : {
          headers: { 'content-type': 'application/x-amz-json-1.1' },
          body: {
            ARN: `arn:aws:secretsmanager:eu-west-1:000000000000:secret:${SecretId}`,
            Name: SecretId,
            SecretString: value,
          },
        };
  });
}

/** SQS's SendMessage (JSON protocol), answering with the body's MD5 as SQS does. */
export function sqsStandIn(): Promise<RecordingHttpServer> {
  let sent = 0;
  return startRecordingHttpServer((request) => {
    const { MessageBody = '' } = JSON.parse(request.body) as { MessageBody?: string };
    sent += 1;
    return {
      headers: { 'content-type': 'application/x-amz-json-1.0' },
      body: {
        MessageId: `bench-${sent}`,
        MD5OfMessageBody: createHash('md5').update(MessageBody).digest('hex'),
      },
    };
  });
}

/**
 * Milliseconds from requiring `bundle` in a fresh Node process to its handler's answer to
 * `event`: module load, the first build of its dependencies (secrets, clients), and the click.
 */
export function coldAnswerMs(
  dir: string,
  bundle: string,
  event: unknown,
  environment: Readonly<Record<string, string>>,
): { ms: number; statusCode: number } {
  const script = join(dir, 'cold-click.js');
  writeFileSync(
    script,
    `const started = process.hrtime.bigint();
const event = JSON.parse(process.env.BENCH_EVENT);
const deadline = Date.now() + 10000;
const context = { functionName: 'slack-interactions', awsRequestId: 'cold', invokedFunctionArn: 'arn:aws:lambda:eu-west-1:000000000000:function:slack-interactions', getRemainingTimeInMillis: () => deadline - Date.now() };
require(${JSON.stringify(bundle)}).handler(event, context).then((answer) => {
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  process.stderr.write('\\nCOLD ' + JSON.stringify({ ms, statusCode: answer.statusCode }) + '\\n');
  process.exit(0);
}, (error) => { process.stderr.write('\\nFAILED ' + String(error && error.stack || error) + '\\n'); process.exit(1); });
`,
  );
  const child = spawnSync(process.execPath, [script], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '', ...environment, BENCH_EVENT: JSON.stringify(event) },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const answer = /^COLD (.*)$/m.exec(child.stderr);
  if (child.status !== 0 || !answer) throw new Error(`cold click failed: ${child.stderr}`);
  return JSON.parse(answer[1]) as { ms: number; statusCode: number };
}

export function tempDir(): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'slack-cold-'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export { PROJECT_ROOT };
