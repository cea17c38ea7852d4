import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchResult } from './harness';

// Every bench/*.bench.ts exports `run(): Promise<BenchResult[]>`; an optional filter runs only
// suites whose file name contains it (`npm run bench -- audit`).
// stdout carries only results; the handlers' own logs would interleave with them.
process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';

async function main(): Promise<void> {
  const filter = process.argv[2] ?? '';
  const suites = readdirSync(__dirname)
    .filter((file) => file.endsWith('.bench.ts') && file.includes(filter))
    .sort();
  for (const file of suites) {
    const suite = (await import(join(__dirname, file))) as { run: () => Promise<BenchResult[]> };
    for (const result of await suite.run()) {
      process.stdout.write(`${JSON.stringify(result)}\n`);
    }
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
