import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Builds the `@action-approvals/client` package into client/dist: ES module and CommonJS
 * bundles of the client's own code (the AWS SDK stays a dependency) by esbuild, and type
 * declarations by tsc.
 */
async function buildClient(): Promise<void> {
  const out = join(__dirname, 'dist');
  await rm(out, { recursive: true, force: true });
  for (const [format, file] of [
    ['esm', 'index.mjs'],
    ['cjs', 'index.cjs'],
  ] as const) {
    await build({
      entryPoints: [join(__dirname, 'index.ts')],
      outfile: join(out, file),
      bundle: true,
      packages: 'external',
      platform: 'node',
      target: 'node20',
      format,
      logLevel: 'warning',
    });
  }
  execFileSync(
    process.execPath,
    [require.resolve('typescript/bin/tsc'), '-p', join(__dirname, 'tsconfig.build.json')],
    { stdio: 'inherit' },
  );
}

buildClient().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
