import { fork } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchResult } from './harness';

// stdout carries only results; the handlers' own logs would interleave with them.
process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';

/** Runs one suite in this process and prints its results, one JSON line each. */
async function runSuite(file: string): Promise<void> {
  const suite = (await import(join(__dirname, file))) as { run: () => Promise<BenchResult[]> };
  for (const result of await suite.run()) process.stdout.write(`${JSON.stringify(result)}\n`);
}

/**
 * Every bench/*.bench.ts exports `run(): Promise<BenchResult[]>`; an optional filter runs only
 * suites whose file name contains it (`npm run bench -- audit`). Each suite runs in a process of
 * its own: suites start servers and point the handlers' clients at them, and none may inherit
 * another's.
 */
async function main(): Promise<void> {
  const [flag, value] = process.argv.slice(2);
  if (flag === '--suite' && value) return runSuite(value);

  const filter = flag ?? '';
  const suites = readdirSync(__dirname)
    .filter((file) => file.endsWith('.bench.ts') && file.includes(filter))
    .sort();
  let failed = 0;
  for (const file of suites) {
    const child = fork(__filename, ['--suite', file], { execArgv: process.execArgv, stdio: 'inherit' });
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    if (code !== 0) {
      failed += 1;
      process.stderr.write(`bench suite ${file} failed with exit code ${code}\n`);
    }
  }
  if (failed > 0) process.exitCode = 1;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
