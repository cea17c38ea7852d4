import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { ActionOutcome } from '../../client';
import { LocalRuntime } from '../../local/runtime';
import { runSampleAgent, SAMPLE_AGENT_ID } from '../../local/sample-agent';

const ROOT = join(__dirname, '..', '..');
const JAVA_NOTICE =
  'Java not found: the tables are kept in memory for this run; install a Java runtime (e.g. `apt-get install openjdk-17-jre-headless`) to run on DynamoDB Local';

async function waitFor(
  done: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 60_000,
): Promise<void> {
  for (let waited = 0; waited < timeoutMs; waited += 100) {
    if (await done()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${what} did not happen within ${timeoutMs} ms`);
}

test('npm start on a machine without Java says so in one line and runs the samples to their outcomes', async () => {
  const cwd = await mkdtemp(join(tmpdir(), 'action-approvals-no-java-'));
  // A PATH with nothing on it: no `java` to find. Node itself is started by its absolute path.
  const emptyPath = await mkdtemp(join(tmpdir(), 'action-approvals-empty-path-'));
  const child = spawn(
    process.execPath,
    [join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs'), join(ROOT, 'local', 'start.ts'), '--port', '0'],
    { cwd, env: { ...process.env, PATH: emptyPath }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  let errors = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (errors += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const settled = [
    /agent learned: demo-read-staging-report-\w+ executed/,
    /agent learned: demo-create-access-key-\w+ denied/,
    /demo-export-orders-\w+ {2}waiting for reviewers in the console/,
  ];
  try {
    await waitFor(() => settled.every((line) => line.test(output)) || child.exitCode !== null, 'the samples');
  } finally {
    child.kill('SIGINT');
  }
  const code = await exited;

  expect(output.split('\n').filter((line) => line.includes('Java not found'))).toEqual([
    expect.stringContaining(JAVA_NOTICE),
  ]);
  expect(`${output}${errors}`).not.toMatch(/^\s+at /m);
  expect(settled.filter((line) => !line.test(output))).toEqual([]);
  expect(output).not.toContain('DynamoDB Local on');
  expect(code).toBe(0);
}, 90_000);

describe('the local runtime on the in-memory tables', () => {
  let local: LocalRuntime;
  let dataDir: string;
  let samples: Promise<ActionOutcome[]>;
  const exportId = 'demo-export-orders-nojava';

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'action-approvals-in-memory-'));
    local = await LocalRuntime.start({ dataDir, storage: 'in-memory' });
    samples = runSampleAgent(local, dataDir, () => undefined, 'nojava');
    await waitFor(
      async () =>
        (await local.requests()).some((record) => record.requestId === exportId && record.taskToken),
      'the sample export waiting for reviewers',
    );
  }, 90_000);

  afterAll(async () => {
    await local.workflow.drain();
    await local.stop();
  });

  it('starts no DynamoDB Local', () => {
    expect([local.storage, local.dynamodbEndpoint]).toEqual(['in-memory', undefined]);
  });

  it("answers the status API from the in-memory tables with the agent's requests", async () => {
    const listed = await local.agentClient(SAMPLE_AGENT_ID).listRequests(SAMPLE_AGENT_ID, 10);

    expect(listed.map((status) => status.requestId).sort()).toEqual([
      'demo-create-access-key-nojava',
      exportId,
      'demo-read-staging-report-nojava',
    ]);
  });

  it('executes the sample export approved by two reviewers, writing the orders into the data folder', async () => {
    await local.vote(exportId, 'alice@example.com', 'approve');
    await local.vote(exportId, 'bob@example.com', 'approve');

    const outcomes = await samples;
    const exportRoot = join(dataDir, 's3', 'revenue-exports', 'orders', '2026-q3', 'AWSDynamoDB');
    const [exported] = await readdir(exportRoot);
    const [dataFile] = await readdir(join(exportRoot, exported, 'data'));
    const lines = gunzipSync(await readFile(join(exportRoot, exported, 'data', dataFile)))
      .toString()
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { Item: { orderId: { S: string } } });
    expect(Object.fromEntries(outcomes.map((outcome) => [outcome.requestId, outcome.outcome]))).toEqual({
      'demo-read-staging-report-nojava': 'executed',
      [exportId]: 'executed',
      'demo-create-access-key-nojava': 'denied',
    });
    expect(lines.map((line) => line.Item.orderId.S).sort()).toEqual([
      'order-1001',
      'order-1002',
      'order-1003',
    ]);
    expect((await local.timeline(exportId)).verification.ok).toBe(true);
  });
});
