import { bundleHandler, type HandlerBundle } from './handler-bundling';

/**
 * `tsx lib/bundle-handler.ts '<HandlerBundle as JSON>' <outdir>`: bundles one handler, for
 * bundleHandlerSync. Exits 1 with esbuild's message on stderr when the build fails.
 */
async function main(): Promise<void> {
  const [bundleJson, outdir] = process.argv.slice(2);
  if (bundleJson === undefined || outdir === undefined) {
    throw new Error('usage: bundle-handler.ts <handler bundle JSON> <outdir>');
  }
  await bundleHandler(JSON.parse(bundleJson) as HandlerBundle, outdir);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
