import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { buildSync } from 'esbuild';
import { type BenchResult, percentile } from './harness';

// `audit verify` over a million-record trail (stream archive and export, so two million lines)
// against the floor on the same trail in the same run: read + gunzip + JSON.parse + SHA-256 of each
// line, on one thread — what no verifier of these files can beat on one core. Verify uses every
// core (worker threads digest files, the main thread links chains), so a ratio of 1 or more is
// reached only by spreading the work, not by skipping any of it. Each step runs in its own child
// process, bundled and run by plain node as a shipped CLI would be (the verification worker's entry
// is bundled next to it), so the verify's peak RSS is its own (not the generator's, nor tsx's
// loader thread's) and comes from the child's process.resourceUsage(), which counts its worker
// threads. Rates are medians over windows of WINDOW_RECORDS records, after the first window (the
// warm-up: JIT, file cache, key import, worker start) is dropped; end-to-end rates are printed too.

/** AUDIT_BENCH_RECORDS makes a quick smaller run, e.g. while changing the verifier. */
const RECORDS = Number(process.env.AUDIT_BENCH_RECORDS ?? 1_000_000);
const RSS_BUDGET_MIB = 512;
/** Ten or more windows over the two million lines of the full-size run. */
const WINDOW_RECORDS = Math.max(10_000, Math.round(RECORDS / 5 / 10_000) * 10_000);

type Step = 'generate' | 'verify' | 'floor';

interface Measured {
  readonly records: number;
  readonly seconds: number;
  /** Seconds since the start at each multiple of WINDOW_RECORDS records. */
  readonly marks: readonly number[];
  readonly maxRssKiB: number;
}

interface VerifyOutcome extends Measured {
  readonly ok: boolean;
}

/** The median records/s over the windows between marks, the first (warm-up) window left out. */
function medianWindowRate(measured: Measured): number {
  const rates: number[] = [];
  for (let index = 2; index < measured.marks.length; index += 1)
    rates.push(WINDOW_RECORDS / (measured.marks[index] - measured.marks[index - 1]));
  if (rates.length === 0) return measured.records / measured.seconds;
  return percentile(rates, 50);
}

export async function run(): Promise<BenchResult[]> {
  const work = mkdtempSync(join(tmpdir(), 'audit-verify-bench-'));
  try {
    const bundle = join(work, 'bench.js');
    // The pool starts digest-worker.js from next to its own bundle.
    buildSync({
      entryPoints: {
        bench: __filename,
        'digest-worker': join(__dirname, '..', 'lambdas', 'compliance', 'digest-worker.ts'),
      },
      bundle: true,
      platform: 'node',
      format: 'cjs',
      outdir: work,
      logLevel: 'error',
    });
    writeFileSync(join(work, 'package.json'), '{"type":"commonjs"}');
    const step = async <T>(name: Step): Promise<T> => {
      const { stdout } = await promisify(execFile)(process.execPath, [bundle, name, join(work, 'trail')], {
        maxBuffer: 1024 * 1024,
      });
      return JSON.parse(stdout) as T;
    };
    await step('generate');
    const floor = await step<Measured>('floor');
    const verify = await step<VerifyOutcome>('verify');
    if (!verify.ok) throw new Error('the generated trail did not verify');
    const verifyRate = medianWindowRate(verify);
    const floorRate = medianWindowRate(floor);
    const peakMiB = verify.maxRssKiB / 1024;
    if (peakMiB > RSS_BUDGET_MIB)
      process.stderr.write(`audit verify peaked at ${peakMiB.toFixed(0)} MiB, over ${RSS_BUDGET_MIB} MiB\n`);
    return [
      { name: 'audit.verify.records', unit: 'records', value: verify.records },
      { name: 'audit.verify.records_per_s', unit: 'records/s', value: Math.round(verifyRate) },
      { name: 'audit.floor.records_per_s', unit: 'records/s', value: Math.round(floorRate) },
      {
        name: 'audit.verify.floor_ratio',
        unit: 'ratio',
        value: Math.round((verifyRate / floorRate) * 1000) / 1000,
      },
      { name: 'audit.verify.peak_rss_mib', unit: 'MiB', value: Math.round(peakMiB) },
      {
        name: 'audit.verify.end_to_end_records_per_s',
        unit: 'records/s',
        value: Math.round(verify.records / verify.seconds),
      },
      {
        name: 'audit.floor.end_to_end_records_per_s',
        unit: 'records/s',
        value: Math.round(floor.records / floor.seconds),
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

/** Records the time of every WINDOW_RECORDS-th record. */
function windowMarks(started: bigint): { marks: number[]; seen: (records: number) => void } {
  const marks: number[] = [0];
  return {
    marks,
    seen: (records) => {
      while (records >= marks.length * WINDOW_RECORDS) marks.push(seconds(started));
    },
  };
}

async function verify(dir: string): Promise<void> {
  const { LocalStore } = await import('../lambdas/compliance/stores.js');
  const { readJwkFile, receiptChecker } = await import('../lambdas/compliance/receipts.js');
  const { verifyTrail } = await import('../lambdas/compliance/verify.js');
  const store = await LocalStore.at(dir);
  const keys = await readJwkFile(join(dir, 'receipt-public-key.json'));
  if (!store.ok || !keys.ok) throw new Error('the generated trail is not there');
  const started = process.hrtime.bigint();
  const windows = windowMarks(started);
  const report = await verifyTrail([store.value], {
    checkReceipt: receiptChecker(keys.value),
    onRecords: windows.seen,
  });
  const outcome: VerifyOutcome = {
    ok: report.ok,
    records: report.recordsRead,
    seconds: seconds(started),
    marks: windows.marks,
    maxRssKiB: process.resourceUsage().maxRSS,
  };
  process.stdout.write(JSON.stringify(outcome));
}

/**
 * The floor: every gzip file of the trail (archive objects and export data files) read, gunzipped,
 * split into lines, each line JSON.parse'd and its bytes hashed with SHA-256, on this one thread.
 */
async function floor(dir: string): Promise<void> {
  const { readdir, readFile } = await import('node:fs/promises');
  const { promisify } = await import('node:util');
  const { gunzip } = await import('node:zlib');
  const unzip = promisify(gunzip);
  const files = (await readdir(dir, { recursive: true }))
    .filter((path) => path.endsWith('.gz'))
    .sort()
    .map((path) => join(dir, path));
  const started = process.hrtime.bigint();
  const windows = windowMarks(started);
  let records = 0;
  for (const file of files) {
    const text = (await unzip(await readFile(file))).toString('utf8');
    let from = 0;
    for (let to = text.indexOf('\n'); to !== -1; to = text.indexOf('\n', from)) {
      const line = text.slice(from, to);
      from = to + 1;
      if (line === '') continue;
      JSON.parse(line);
      createHash('sha256').update(line).digest();
      records += 1;
      if (records % 10_000 === 0) windows.seen(records);
    }
  }
  const outcome: Measured = {
    records,
    seconds: seconds(started),
    marks: windows.marks,
    maxRssKiB: process.resourceUsage().maxRSS,
  };
  process.stdout.write(JSON.stringify(outcome));
}

if (require.main === module) {
  const [, , step, dir] = process.argv;
  const steps: Readonly<Record<Step, (dir: string) => Promise<void>>> = { generate, verify, floor };
  steps[step as Step](dir).catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
