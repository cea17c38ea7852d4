import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build, type Metafile, type Plugin } from 'esbuild';
import {
  bundleHandler,
  copyRuntimeFiles,
  HANDLER_FILE,
  HANDLER_NODE_OPTIONS,
  handlerBuildOptions,
  PROJECT_ROOT,
  type HandlerBundle,
} from '../lib/handler-bundling';
import type { BenchResult } from './harness';

const EXECUTE: HandlerBundle = { handler: 'execute', evaluatesPolicy: false };
/** Fresh processes per variant; the variants take turns, so a busy machine slows all alike. */
const RUNS = 21;

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

/** The execute function with a build option changed, bundled as deployed otherwise. */
async function bundleExecuteWith(
  outdir: string,
  change: { plugins: Plugin[] } | { stdin: { contents: string; resolveDir: string; loader: 'ts' } },
): Promise<Metafile> {
  const options = handlerBuildOptions(EXECUTE, outdir);
  const { metafile } = await build({
    ...options,
    ...('stdin' in change ? { entryPoints: undefined, entryNames: 'index', ...change } : change),
    metafile: true,
  });
  copyRuntimeFiles(EXECUTE, outdir);
  return metafile;
}

/** One fresh Node process importing the bundle: milliseconds from the import to its end. */
function coldLoadMs(file: string): number {
  const script = `const t=process.hrtime.bigint();import(${JSON.stringify(pathToFileURL(file).href)}).then(()=>process.stdout.write(String(Number(process.hrtime.bigint()-t)/1e6)))`;
  // No NODE_PATH: the bundle finds what it leaves out (iam-data) in its own node_modules, as in
  // Lambda; Node's options are the function's.
  return Number(
    execFileSync(process.execPath, ['-e', script], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '', NODE_OPTIONS: HANDLER_NODE_OPTIONS },
    }),
  );
}

const median = (samples: readonly number[]): number =>
  [...samples].sort((a, b) => a - b)[Math.floor(samples.length / 2)] ?? Number.NaN;

/** The bundle's files, and those a cold start reads: the entry and the chunks it imports statically. */
function sizes(metafile: Metafile): { assetKb: number; loadedKb: number } {
  const outputs = Object.entries(metafile.outputs).filter(([file]) => !file.endsWith('.map'));
  const byFile = new Map(outputs);
  const entry = outputs.find(([file]) => file.endsWith(`/${HANDLER_FILE}`))?.[0];
  const loaded = new Set<string>();
  const pending = entry ? [entry] : [];
  for (let file = pending.pop(); file !== undefined; file = pending.pop()) {
    if (loaded.has(file)) continue;
    loaded.add(file);
    for (const imported of byFile.get(file)?.imports ?? []) {
      if (imported.kind === 'import-statement' && !imported.external) pending.push(imported.path);
    }
  }
  const kb = (files: Iterable<string>) =>
    Math.round([...files].reduce((sum, file) => sum + (byFile.get(file)?.bytes ?? 0), 0) / 1024);
  return { assetKb: kb(byFile.keys()), loadedKb: kb(loaded) };
}

const round = (value: number): number => Math.round(value * 100) / 100;

export async function run(): Promise<BenchResult[]> {
  const dir = mkdtempSync(join(tmpdir(), 'execute-cold-load-'));
  try {
    const variants = {
      sdk: join(dir, 'sdk-client'),
      before: join(dir, 'execute-before'),
      after: join(dir, 'execute'),
    };
    const after = await bundleHandler(EXECUTE, variants.after);
    await bundleExecuteWith(variants.before, { plugins: [withoutGenericPath] });
    // The baseline: one bare SDK client, the least any function that calls AWS loads, bundled
    // with the same options.
    await bundleExecuteWith(variants.sdk, {
      stdin: {
        contents: "export { DynamoDBClient } from '@aws-sdk/client-dynamodb';",
        resolveDir: PROJECT_ROOT,
        loader: 'ts',
      },
    });
    const samples = { sdk: [] as number[], before: [] as number[], after: [] as number[] };
    for (let i = 0; i < RUNS; i += 1) {
      for (const variant of ['sdk', 'before', 'after'] as const) {
        samples[variant].push(coldLoadMs(join(variants[variant], HANDLER_FILE)));
      }
    }
    const sdkMs = median(samples.sdk);
    const afterMs = median(samples.after);
    const { assetKb, loadedKb } = sizes(after);
    return [
      { name: 'cold module load: bare SDK client (DynamoDB), bundled', unit: 'ms', value: round(sdkMs) },
      {
        name: 'cold module load: execute function before issue 12 (no generic path)',
        unit: 'ms',
        value: round(median(samples.before)),
      },
      { name: 'cold module load: execute function with the generic path', unit: 'ms', value: round(afterMs) },
      {
        name: 'execute function cold load / bare SDK client (goal < 2)',
        unit: 'ratio',
        value: round(afterMs / sdkMs),
      },
      { name: 'execute function asset: code, all chunks', unit: 'KB', value: assetKb },
      { name: 'execute function asset: code a cold start loads', unit: 'KB', value: loadedKb },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
