import { execFile, execFileSync } from 'node:child_process';
import { mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const CLIENT = join(__dirname, '..', '..', 'client');

// One recording stand-in for EventBridge: PutEvents answers with an event id.
let events: Server;
let endpoint: string;
const received: { target: string; body: string }[] = [];
let scratch: string;

beforeAll(async () => {
  events = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      received.push({ target: String(request.headers['x-amz-target']), body });
      response.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
      response.end(
        JSON.stringify({ FailedEntryCount: 0, Entries: [{ EventId: `event-${received.length}` }] }),
      );
    });
  });
  await new Promise<void>((resolve) => events.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(events.address() as AddressInfo).port}`;

  // npm pack runs the package's prepack script, which builds dist/.
  const packed = await mkdtemp(join(tmpdir(), 'client-pack-'));
  execFileSync('npm', ['pack', '--pack-destination', packed], { cwd: CLIENT, stdio: 'pipe' });
  const [tarball] = await readdir(packed);
  scratch = await mkdtemp(join(tmpdir(), 'client-scratch-'));
  await writeFile(join(scratch, 'package.json'), JSON.stringify({ name: 'scratch', private: true }));
  execFileSync('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', join(packed, tarball)], {
    cwd: scratch,
    stdio: 'pipe',
  });
}, 240_000);

afterAll(async () => {
  await new Promise((resolve) => events.close(resolve));
});

const script = (load: string) => `${load}
const approvals = new ActionApprovalsClient({
  events: new EventBridgeClient({ endpoint: process.env.ENDPOINT, region: 'us-east-1', credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' } }),
  sqs: new SQSClient({ region: 'us-east-1' }),
  eventBusName: 'action-approvals',
  outcomeQueueUrl: 'https://sqs.us-east-1.amazonaws.com/111122223333/action-approvals-outcomes-reporting-bot',
});
approvals.put('packaged-' + process.argv[2], {
  agentId: 'reporting-bot',
  operation: 's3:GetObject',
  resource: 'arn:aws:s3:::staging-reports/summary.csv',
  parameters: {},
  justification: 'From the packed client.',
}).then((eventId) => console.log(eventId));
`;

// Asynchronously: the stand-in EventBridge answers from this process's event loop.
async function run(file: string, name: string): Promise<string> {
  const { stdout } = await promisify(execFile)(process.execPath, [file, name], {
    cwd: scratch,
    env: { ...process.env, ENDPOINT: endpoint },
    encoding: 'utf8',
  });
  return stdout.trim();
}

test('the packed client installs with only AWS SDK dependencies and ships ESM, CommonJS and declarations', async () => {
  const installed = JSON.parse(
    execFileSync(
      process.execPath,
      ['-p', 'JSON.stringify(require("@action-approvals/client/package.json"))'],
      {
        cwd: scratch,
        encoding: 'utf8',
      },
    ),
  ) as { dependencies: Record<string, string> };
  const files = await readdir(join(scratch, 'node_modules', '@action-approvals', 'client', 'dist'));

  expect(Object.keys(installed.dependencies).every((name) => /^@(aws-sdk|smithy)\//.test(name))).toBe(true);
  expect(files).toEqual(expect.arrayContaining(['index.mjs', 'index.cjs', 'index.d.ts']));
});

test('the packed client works from import', async () => {
  await writeFile(
    join(scratch, 'use.mjs'),
    script(`import { ActionApprovalsClient } from '@action-approvals/client';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SQSClient } from '@aws-sdk/client-sqs';`),
  );

  const eventId = await run('use.mjs', 'esm');

  expect(eventId).toMatch(/^event-\d+$/);
  expect(received.find((call) => call.body.includes('packaged-esm'))?.target).toBe('AWSEvents.PutEvents');
});

test('the packed client works from require', async () => {
  await writeFile(
    join(scratch, 'use.cjs'),
    script(`const { ActionApprovalsClient } = require('@action-approvals/client');
const { EventBridgeClient } = require('@aws-sdk/client-eventbridge');
const { SQSClient } = require('@aws-sdk/client-sqs');`),
  );

  const eventId = await run('use.cjs', 'cjs');

  expect(eventId).toMatch(/^event-\d+$/);
  expect(received.find((call) => call.body.includes('packaged-cjs'))?.target).toBe('AWSEvents.PutEvents');
});
