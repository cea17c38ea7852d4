import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { buildSync } from 'esbuild';
import type { BenchResult } from './harness';

// `audit verify` over a million-record trail (stream archive and export, so two million lines),
// against this machine's raw SHA-256 over the same canonical bytes: the ratio says how close
// verification runs to the hashing limit. Each step runs in its own child process, bundled and
// run by plain node as a shipped CLI would be, so the verify's peak RSS is its own (not the
// generator's, nor tsx's loader thread's) and comes from the child's process.resourceUsage().

/** AUDIT_BENCH_RECORDS makes a quick smaller run, e.g. while changing the verifier. */
const RECORDS = Number(process.env.AUDIT_BENCH_RECORDS ?? 1_000_000);
const RSS_BUDGET_MIB = 256;

type Step = 'generate' | 'verify' | 'sha256';

interface VerifyOutcome {
  readonly ok: boolean;
  readonly recordsRead: number;
  readonly seconds: number;
  readonly maxRssKiB: number;
}

interface HashOutcome {
  readonly records: number;
  readonly bytes: number;
  readonly seconds: number;
}

export async function run(): Promise<BenchResult[]> {
  const work = mkdtempSync(join(tmpdir(), 'audit-verify-bench-'));
  try {
    const bundle = join(work, 'bench.cjs');
    buildSync({
      entryPoints: [__filename],
      bundle: true,
      platform: 'node',
      format: 'cjs',
      outfile: bundle,
      logLevel: 'error',
    });
    const step = async <T>(name: Step): Promise<T> => {
      const { stdout } = await promisify(execFile)(process.execPath, [bundle, name, join(work, 'trail')], {
        maxBuffer: 1024 * 1024,
      });
      return JSON.parse(stdout) as T;
    };
    await step('generate');
    const verify = await step<VerifyOutcome>('verify');
    if (!verify.ok) throw new Error('the generated trail did not verify');
    const hash = await step<HashOutcome>('sha256');
    const verifyRate = verify.recordsRead / verify.seconds;
    const hashRate = hash.records / hash.seconds;
    const peakMiB = verify.maxRssKiB / 1024;
    if (peakMiB > RSS_BUDGET_MIB)
      process.stderr.write(`audit verify peaked at ${peakMiB.toFixed(0)} MiB, over ${RSS_BUDGET_MIB} MiB\n`);
    return [
      { name: 'audit.verify.records', unit: 'records', value: verify.recordsRead },
      { name: 'audit.verify.records_per_s', unit: 'records/s', value: Math.round(verifyRate) },
      { name: 'audit.verify.peak_rss', unit: 'MiB', value: Math.round(peakMiB) },
      { name: 'audit.sha256.records_per_s', unit: 'records/s', value: Math.round(hashRate) },
      { name: 'audit.sha256.mb_per_s', unit: 'MB/s', value: Math.round(hash.bytes / 1e6 / hash.seconds) },
      {
        name: 'audit.verify.share_of_sha256_rate',
        unit: '%',
        value: Math.round((verifyRate / hashRate) * 1000) / 10,
      },
    ];
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// The child side. Imports are dynamic so that loading this file for run() stays cheap.

const seconds = (since: bigint): number => Number(process.hrtime.bigint() - since) / 1e9;

async function generate(dir: string): Promise<void> {
  const { writeFixture } = await import('../test/compliance/fixtures/generator.js');
  const fixture = await writeFixture(dir, { size: { records: RECORDS }, dataFiles: 8 });
  process.stdout.write(JSON.stringify({ records: fixture.records }));
}

async function verify(dir: string): Promise<void> {
  const { LocalStore } = await import('../lambdas/compliance/stores.js');
  const { readJwkFile, receiptChecker } = await import('../lambdas/compliance/receipts.js');
  const { verifyTrail } = await import('../lambdas/compliance/verify.js');
  const store = await LocalStore.at(dir);
  const keys = await readJwkFile(join(dir, 'receipt-public-key.json'));
  if (!store.ok || !keys.ok) throw new Error('the generated trail is not there');
  const started = process.hrtime.bigint();
  const report = await verifyTrail([store.value], { checkReceipt: receiptChecker(keys.value) });
  const outcome: VerifyOutcome = {
    ok: report.ok,
    recordsRead: report.recordsRead,
    seconds: seconds(started),
    maxRssKiB: process.resourceUsage().maxRSS,
  };
  process.stdout.write(JSON.stringify(outcome));
}

/**
 * Hashes exactly what verify hashes — the canonical JSON of every record read, without its hash,
 * one SHA-256 per record — timing only the hashing. Records are gathered in batches so reading
 * and canonicalising stay outside the clock and memory stays bounded.
 */
async function sha256(dir: string): Promise<void> {
  const { canonicalJson } = await import('../lambdas/core/canonical.js');
  const { LocalStore } = await import('../lambdas/compliance/stores.js');
  const { readTrail } = await import('../lambdas/compliance/trail.js');
  const store = await LocalStore.at(dir);
  if (!store.ok) throw new Error(store.error);
  let batch: Buffer[] = [];
  let batchBytes = 0;
  let records = 0;
  let bytes = 0;
  let hashingNs = 0n;
  const hashBatch = () => {
    const started = process.hrtime.bigint();
    for (const canonical of batch) createHash('sha256').update(canonical).digest();
    hashingNs += process.hrtime.bigint() - started;
    records += batch.length;
    bytes += batchBytes;
    batch = [];
    batchBytes = 0;
  };
  await readTrail([store.value], {
    record(record) {
      const canonical = Buffer.from(canonicalJson({ ...record, hash: undefined }), 'utf8');
      batch.push(canonical);
      batchBytes += canonical.length;
      if (batchBytes > 64 * 1024 * 1024) hashBatch();
    },
    problem(finding: { readonly file: string; readonly reason: string }) {
      throw new Error(`${finding.file}: ${finding.reason}`);
    },
  });
  hashBatch();
  const outcome: HashOutcome = { records, bytes, seconds: Number(hashingNs) / 1e9 };
  process.stdout.write(JSON.stringify(outcome));
}

if (require.main === module) {
  const [, , step, dir] = process.argv;
  const steps: Readonly<Record<Step, (dir: string) => Promise<void>>> = { generate, verify, sha256 };
  steps[step as Step](dir).catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
