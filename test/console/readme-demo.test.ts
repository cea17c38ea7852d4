import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { Page } from 'playwright-core';
import type { ActionOutcome } from '../../client';
import { runSampleAgent } from '../../local/sample-agent';
import { SAMPLE_ORDERS } from '../../local/samples';
import { describeActivity } from '../../local/transcript';
import { launchChromium, type HeadlessChromium } from './chromium';
import { startHarness, waitForPending, type ConsoleHarness } from './harness';

// The README's demo, step by step: the requests `npm start` sends, and the clicks the README names.
const RUN = 'readme';
const EXPORT_REQUEST = `demo-export-orders-${RUN}`;

let harness: ConsoleHarness;
let browser: HeadlessChromium;
let page: Page;
const printed: string[] = [];
const pageErrors: string[] = [];

beforeAll(async () => {
  harness = await startHarness();
  harness.feed.subscribe((activity) => {
    const line = describeActivity(activity);
    if (line) printed.push(line);
  });
  browser = await launchChromium();
  page = await browser.context.newPage();
  page.on('pageerror', (error) => pageErrors.push(error.message));
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await harness?.stop();
}, 60_000);

/** The lines of the README's terminal transcript, from the sample agent on, without times or run ids. */
async function readmeTranscript(): Promise<string[]> {
  const readme = await readFile(join(__dirname, '..', '..', 'README.md'), 'utf8');
  const block = /each state change[^`]*```\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
  const lines = block.split('\n').filter((line) => line.trim() !== '');
  return normalize(lines.slice(lines.findIndex((line) => line.includes('sample agent'))));
}

function normalize(lines: string[]): string[] {
  return lines
    .map((line) =>
      line
        .replace(/^\s*\d+\.\ds {2}/, '')
        .replace(/(demo-(?:read-staging-report|export-orders|create-access-key))-[a-z0-9]+/g, '$1-<run>'),
    )
    .sort();
}

async function exportedOrders(): Promise<unknown[]> {
  const exports = join(harness.dataDir, 's3', 'revenue-exports', 'orders', '2026-q3', 'AWSDynamoDB');
  const [exportId] = await readdir(exports);
  const [dataFile] = await readdir(join(exports, exportId!, 'data'));
  const lines = gunzipSync(await readFile(join(exports, exportId!, 'data', dataFile!)))
    .toString()
    .trim()
    .split('\n');
  return lines.map((line) => (JSON.parse(line) as { Item: { orderId: { S: string } } }).Item.orderId.S);
}

test('the README demo: alice then bob approve the waiting export, it runs, and the chain verifies', async () => {
  const outcomes: Promise<ActionOutcome[]> = runSampleAgent(
    harness.local,
    harness.dataDir,
    (line) => {
      printed.push(line);
    },
    RUN,
  );
  await waitForPending(harness.local, EXPORT_REQUEST);

  await page.goto(harness.console.url);
  const pending = page.locator(`#pending-list [data-request-id="${EXPORT_REQUEST}"]`);
  await pending.waitFor();
  await page.getByLabel('Reviewing as').selectOption('alice@example.com');
  await pending.getByRole('button', { name: 'Approve' }).click();
  await pending.locator('.tally', { hasText: '1 of 2 approvals' }).waitFor();
  await page.getByLabel('Reviewing as').selectOption('bob@example.com');
  await pending.getByRole('button', { name: 'Approve' }).click();

  const decided = page.locator(`#decided-list [data-request-id="${EXPORT_REQUEST}"]`);
  await decided.locator('.badge', { hasText: 'executed' }).waitFor({ timeout: 30_000 });
  await decided.getByText('Audit timeline').click();
  await decided.getByText(/Chain verified · \d+ records/).waitFor();

  expect((await outcomes).map(({ requestId, outcome }) => [requestId, outcome]).sort()).toEqual([
    [`demo-create-access-key-${RUN}`, 'denied'],
    [EXPORT_REQUEST, 'executed'],
    [`demo-read-staging-report-${RUN}`, 'executed'],
  ]);
  expect((await exportedOrders()).sort()).toEqual(SAMPLE_ORDERS.map(({ orderId }) => orderId));
  expect(pageErrors).toEqual([]);
}, 120_000);

test('the terminal prints the README transcript, line for line', async () => {
  await harness.local.workflow.drain();
  expect(normalize(printed)).toEqual(await readmeTranscript());
});
