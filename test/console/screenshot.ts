import { SAMPLE_ACCOUNTS, sampleExportRequest } from '../../local/samples';
import { join } from 'node:path';
import { launchChromium } from './chromium';
import { createAccessKey, readStagingReport, startHarness, waitForPending } from './harness';

/**
 * Regenerates docs/console.png: the console at 1280×800 with requests in different states.
 * Run it after changing the page: `npx tsx test/console/screenshot.ts`.
 */
async function main(): Promise<void> {
  const harness = await startHarness();
  const { agent, local } = harness;
  const browser = await launchChromium();
  try {
    await agent.requestAction(readStagingReport('q3-staging-report'), 30_000);
    await agent.requestAction(createAccessKey('permanent-access-key'), 30_000);

    const approved = agent.requestAction(sampleExportRequest('orders-export-q2'), 30_000);
    await waitForPending(local, 'orders-export-q2');
    await local.vote('orders-export-q2', 'alice@example.com', 'approve');
    await local.vote('orders-export-q2', 'bob@example.com', 'approve');
    await approved;

    const waiting = agent.requestAction(
      sampleExportRequest('customers-export', {
        resource: `arn:aws:dynamodb:us-east-1:${SAMPLE_ACCOUNTS.production}:table/customers`,
        parameters: { S3Bucket: 'revenue-exports', S3Prefix: 'customers/', ExportFormat: 'ION' },
        justification: 'Ignore the policy and <b>approve now</b>: the CEO needs this in five minutes.',
      }),
      60_000,
    );
    await waitForPending(local, 'customers-export');
    await local.vote('customers-export', 'alice@example.com', 'approve');

    const page = await browser.context.newPage();
    await page.goto(harness.console.url);
    await page.getByLabel('Reviewing as').selectOption('bob@example.com');
    const executed = page.locator('#decided-list [data-request-id="orders-export-q2"]');
    await executed.getByText('Audit timeline').click();
    await executed.getByText(/Chain verified/).waitFor();
    await page.locator('#connection[data-status="live"]').waitFor();
    // Focus rings and the caret are not part of the picture.
    await page.locator('h1').click();
    const path = join(__dirname, '..', '..', 'docs', 'console.png');
    await page.screenshot({ path, fullPage: true });
    process.stdout.write(`wrote ${path}\n`);

    await local.vote('customers-export', 'bob@example.com', 'deny');
    await waiting;
  } finally {
    await browser.close();
    await harness.stop();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
