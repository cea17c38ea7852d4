import { sampleExportRequest } from '../../local/samples';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { Locator, Page } from 'playwright-core';
import { TABLES } from '../../local/runtime';
import { launchChromium, type HeadlessChromium } from './chromium';
import { readStagingReport, startHarness, waitForPending, type ConsoleHarness } from './harness';

// One runtime, console and browser for the file: a reviewer approves in the page and sees the outcome.
let harness: ConsoleHarness;
let browser: HeadlessChromium;
let page: Page;
const pageErrors: string[] = [];

// Markup an agent might slip into its justification: it must be shown, never run.
const HOSTILE_JUSTIFICATION =
  'Quarterly revenue report. <img src=x onerror="document.body.dataset.pwned=1"><b>Approve now</b>';

beforeAll(async () => {
  harness = await startHarness();
  browser = await launchChromium();
  page = await browser.context.newPage();
  page.on('pageerror', (error) => pageErrors.push(error.message));
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await harness?.stop();
}, 60_000);

const card = (list: 'pending' | 'decided', requestId: string): Locator =>
  page.locator(`#${list}-list [data-request-id="${requestId}"]`);

async function approveAs(reviewer: string, target: Locator): Promise<void> {
  await page.getByLabel('Reviewing as').selectOption(reviewer);
  await target.getByRole('button', { name: 'Approve' }).click();
}

test('a reviewer approves a request in the console and sees it run', async () => {
  const outcome = harness.agent.requestAction(
    sampleExportRequest('console-approve', { justification: HOSTILE_JUSTIFICATION }),
    30_000,
  );
  await waitForPending(harness.local, 'console-approve');

  await page.goto(harness.console.url);
  const pending = card('pending', 'console-approve');
  await pending.waitFor();
  await pending.locator('.tally', { hasText: '0 of 2 approvals' }).waitFor();
  expect(await pending.locator('h3').textContent()).toBe('dynamodb:ExportTableToPointInTime');
  expect(await pending.locator('.justification blockquote').textContent()).toBe(HOSTILE_JUSTIFICATION);
  expect(await pending.locator('.justification img, .justification b').count()).toBe(0);
  expect(await pending.locator('.justification figcaption').textContent()).toContain('unverified');
  expect(await page.locator('#mode-sts').textContent()).toBe('local STS + IAM policy simulator');

  // The agent's owner is refused, and the reason is shown on the card.
  await approveAs('owner@example.com', pending);
  await pending.getByText('owns the requesting agent and cannot approve for it').waitFor();

  await approveAs('alice@example.com', pending);
  await pending.locator('.tally', { hasText: '1 of 2 approvals' }).waitFor();
  await pending.locator('.votes', { hasText: 'alice@example.com approved' }).waitFor();
  expect(await pending.locator('.message').textContent()).toBe(
    'alice@example.com’s approval was counted: 1 of 2 approvals.',
  );

  await approveAs('bob@example.com', pending);
  const decided = card('decided', 'console-approve');
  // The page learns the execution's end from the live updates, without reloading.
  await decided.locator('.badge', { hasText: 'executed' }).waitFor({ timeout: 20_000 });
  await expect(outcome).resolves.toMatchObject({ outcome: 'executed' });

  await decided.getByText('Audit timeline').click();
  await decided.getByText(/Chain verified · \d+ records/).waitFor();
  const types = await decided.locator('.records .record-type').allTextContents();
  expect(types).toEqual(expect.arrayContaining(['requested', 'vote', 'approved', 'credentials-issued']));
  expect(types.at(-1)).toBe('executed');

  expect(await page.locator('body').getAttribute('data-pwned')).toBeNull();
  expect(pageErrors).toEqual([]);
});

test('every parameter is shown in full before the approve button, however long', async () => {
  const longPrefix = `orders/${'quarterly-revenue-snapshot/'.repeat(10)}`;
  expect(longPrefix.length).toBeGreaterThan(200);
  const outcome = harness.agent.requestAction(
    sampleExportRequest('console-long-parameter', {
      parameters: { S3Bucket: 'revenue-exports', S3Prefix: longPrefix },
    }),
    30_000,
  );
  await waitForPending(harness.local, 'console-long-parameter');

  await page.goto(harness.console.url);
  const pending = card('pending', 'console-long-parameter');
  await pending.waitFor();
  const keys = await pending.locator('.parameters dt').allTextContents();
  const value = pending.locator('.parameter', { hasText: 'S3Prefix' }).locator('pre');

  expect(keys).toEqual(['S3Bucket', 'S3Prefix']);
  // Values are shown as canonical JSON, so a string reads in quotes and escapes stay visible.
  expect(await value.textContent()).toBe(JSON.stringify(longPrefix));
  expect(await value.isVisible()).toBe(true);
  // Wrapped, not clipped: the box is as large as its text.
  expect(
    await value.evaluate((pre) => pre.scrollWidth <= pre.clientWidth && pre.scrollHeight <= pre.clientHeight),
  ).toBe(true);
  const [valueBox, approveBox] = await Promise.all([
    value.boundingBox(),
    pending.getByRole('button', { name: 'Approve' }).boundingBox(),
  ]);
  expect(valueBox!.y + valueBox!.height).toBeLessThan(approveBox!.y);

  await harness.local.vote('console-long-parameter', 'alice@example.com', 'deny');
  await expect(outcome).resolves.toMatchObject({ outcome: 'denied' });
  expect(pageErrors).toEqual([]);
});

test('a tampered audit chain is shown as broken at the record that changed', async () => {
  await harness.agent.requestAction(readStagingReport('console-tampered'), 30_000);
  // Rewrite one record behind the store's back, as someone with table access could.
  const { documents } = harness.local.runtime;
  const key = { requestId: 'console-tampered', seq: 1 };
  const { Item } = await documents.send(new GetCommand({ TableName: TABLES.audit, Key: key }));
  await documents.send(
    new PutCommand({ TableName: TABLES.audit, Item: { ...Item, at: '2020-01-01T00:00:00.000Z' } }),
  );

  await page.goto(harness.console.url);
  const decided = card('decided', 'console-tampered');
  await decided.getByText('Audit timeline').click();

  await decided.getByText('Chain broken at record 1: hash does not match the record’s content').waitFor();
  expect(await decided.locator('.records .broken-record .seq').textContent()).toBe('1');
  expect(pageErrors).toEqual([]);
});
