import { spawn } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');

function answers(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect(Number(port), hostname);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

test('npm start reaches "console ready", and Ctrl-C stops every process it started', async () => {
  const cwd = await mkdtemp(join(tmpdir(), 'action-approvals-start-'));
  const child = spawn(
    process.execPath,
    [
      join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs'),
      join(ROOT, 'local', 'start.ts'),
      '--no-samples',
      '--port',
      '0',
    ],
    {
      cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  for (let waited = 0; !output.includes('console ready') && waited < 60_000; waited += 100) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  // The MCP configuration names the gateway again.
  const urls = [...new Set([...output.matchAll(/(http:\/\/127\.0\.0\.1:\d+)/g)].map((match) => match[1]))];
  const upBefore = await Promise.all(urls.map(answers));
  child.kill('SIGINT');
  const code = await exited;
  const upAfter = await Promise.all(urls.map(answers));

  expect(output).toMatch(/console ready: http:\/\/127\.0\.0\.1:\d+/);
  expect(output).toContain('"ACTION_APPROVALS_AGENT_ID": "reporting-bot"');
  expect(urls).toHaveLength(3); // DynamoDB Local, the gateway, the console
  expect(upBefore).toEqual([true, true, true]);
  expect([code, upAfter]).toEqual([0, [false, false, false]]);
}, 90_000);
