import * as z from 'zod';
import { onFirstUse } from './on-first-use';
import { err, ok, type Result } from './result';
import type { ApprovedCallConditions, CompanionStatement } from './session-policy';

/**
 * Which execution role runs an action. Each class is its own IAM role with its own ceiling, so a
 * session minted for a table export can never reach IAM, whatever its session policy says.
 */
export const ROLE_CLASS = {
  dataExport: 'data-export',
  dataRead: 'data-read',
  iamAdmin: 'iam-admin',
  lambdaConfig: 'lambda-config',
} as const;
export type RoleClass = (typeof ROLE_CLASS)[keyof typeof ROLE_CLASS];

export const CatalogRefusal = {
  UnknownOperation: 'unknown-operation',
  ResourceMismatch: 'resource-mismatch',
  InvalidParameters: 'invalid-parameters',
} as const;
export type CatalogRefusal = (typeof CatalogRefusal)[keyof typeof CatalogRefusal];

/**
 * A parameter that changes how code runs or where data goes, in a way a reviewer must weigh: the
 * card flags its top-level key with the reason. Parameters with no legitimate use are forbidden
 * instead (the entry's `forbidden`), never flagged.
 */
export interface ParameterRisk {
  /** The top-level parameter the risk sits in. */
  readonly key: string;
  readonly reason: string;
}

export interface CatalogError {
  readonly reason: CatalogRefusal;
  readonly message: string;
}

/** The approved action, as the catalog is asked to plan it. */
export interface ActionInput {
  readonly requestId: string;
  readonly operation: string;
  readonly resource: string;
  readonly parameters: Readonly<Record<string, unknown>>;
}

/** Everything needed to mint a session for one approved call and to make that call. */
export interface Plan<Operation extends string, Target, Parameters> {
  readonly operation: Operation;
  readonly roleClass: RoleClass;
  /** The approved ARN, unchanged: the session policy's only primary resource. */
  readonly resource: string;
  /** What the call acts on, read off the approved ARN (never off the parameters). */
  readonly target: Target;
  /** The parameters after validation: only the fields the action allows. */
  readonly parameters: Parameters;
  readonly companions: readonly CompanionStatement[];
  /** Conditions that pin the approved call to its parameters, where IAM has a key for them. */
  readonly approvedCallConditions?: ApprovedCallConditions;
}

interface EntrySpec<Target, Schema extends z.ZodType> {
  readonly roleClass: RoleClass;
  /** How the approved resource must look, for refusal messages. */
  readonly resourceKind: string;
  /** Reads the target off the approved ARN; undefined when the ARN is not a resource of this kind. */
  readonly target: (resource: string, requestId: string) => Target | undefined;
  /** Built on the entry's first plan: a cold start builds only the schema its action needs. */
  readonly parameters: () => Schema;
  /**
   * Parameters the executor must never pass through, with the reason shown to whoever asked.
   * Checked before the schema so the refusal says why, not merely "unrecognized key".
   */
  readonly forbidden: Readonly<Record<string, string>>;
  readonly companions: (parameters: z.output<Schema>, target: Target) => CompanionStatement[];
  readonly approvedCallConditions?: (parameters: z.output<Schema>) => ApprovedCallConditions;
  /** Reads risks off the parameters as requested, valid or not: a reviewer sees them either way. */
  readonly risks?: (parameters: Readonly<Record<string, unknown>>, resource: string) => ParameterRisk[];
}

export interface CatalogEntry<Operation extends string, Target, Parameters> {
  readonly operation: Operation;
  readonly roleClass: RoleClass;
  plan(input: ActionInput): Result<Plan<Operation, Target, Parameters>, CatalogError>;
  risks(input: ActionInput): ParameterRisk[];
}

function entry<const Operation extends string, Target, Schema extends z.ZodType>(
  operation: Operation,
  spec: EntrySpec<Target, Schema>,
): CatalogEntry<Operation, Target, z.output<Schema>> {
  const parameters = onFirstUse(spec.parameters);
  return {
    operation,
    roleClass: spec.roleClass,
    risks: (input) => spec.risks?.(input.parameters, input.resource) ?? [],
    plan(input) {
      const target = spec.target(input.resource, input.requestId);
      if (target === undefined) {
        return err({
          reason: CatalogRefusal.ResourceMismatch,
          message: `${operation} needs ${spec.resourceKind}, not ${JSON.stringify(input.resource)}`,
        });
      }
      const problems = Object.entries(spec.forbidden)
        .filter(([name]) => Object.hasOwn(input.parameters, name))
        .map(([name, why]) => `${name}: ${why}`);
      const parsed = parameters().safeParse(input.parameters);
      if (!parsed.success) {
        const forbidden = new Set(Object.keys(spec.forbidden));
        for (const issue of parsed.error.issues) {
          // The forbidden keys were reported above with their reason; zod would repeat them as unknown.
          const keys =
            issue.code === 'unrecognized_keys' ? issue.keys.filter((key) => !forbidden.has(key)) : undefined;
          if (keys?.length === 0) continue;
          const message = keys ? `not a parameter of ${operation}: ${keys.join(', ')}` : issue.message;
          problems.push(issue.path.length > 0 ? `${issue.path.join('.')}: ${message}` : message);
        }
      }
      if (problems.length > 0 || !parsed.success) {
        return err({ reason: CatalogRefusal.InvalidParameters, message: problems.join('; ') });
      }
      return ok({
        operation,
        roleClass: spec.roleClass,
        resource: input.resource,
        target,
        parameters: parsed.data,
        companions: spec.companions(parsed.data, target),
        ...(spec.approvedCallConditions
          ? { approvedCallConditions: spec.approvedCallConditions(parsed.data) }
          : {}),
      });
    },
  };
}

// ── Shared shapes ────────────────────────────────────────────────────────────────────────────

const PARTITION = 'aws(?:-[a-z]+)*';
const ACCOUNT = '\\d{12}';
const REGION = '[a-z]{2,4}(?:-[a-z]+)+-\\d{1,2}';
// Names of IAM roles, users and policies.
const IAM_NAME = '[\\w+=,.@-]';
const S3_BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
// S3's "safe" key characters less `*`: whatever goes into a policy resource must not widen it, and
// `$` is out so that no `${…}` policy variable can form.
const S3_PREFIX = /^[A-Za-z0-9!_.'()/-]{1,1024}$/;
const KMS_KEY_ARN = new RegExp(`^arn:${PARTITION}:kms:${REGION}:${ACCOUNT}:key/[A-Za-z0-9-]{1,128}$`);

/** The account id inside an ARN, when the ARN has one. */
const accountOf = (arn: unknown): string | undefined =>
  typeof arn === 'string' ? /^arn:[^:]*:[^:]*:[^:]*:(\d{12}):/.exec(arn)?.[1] : undefined;

const bucketName = () => z.string().regex(S3_BUCKET, 'must be an S3 bucket name');
const accountId = () => z.string().regex(/^\d{12}$/, 'must be a 12-digit account id');

// ── dynamodb:ExportTableToPointInTime ────────────────────────────────────────────────────────

const TABLE_ARN = new RegExp(
  `^arn:${PARTITION}:dynamodb:(${REGION}):${ACCOUNT}:table/[A-Za-z0-9_.-]{3,255}$`,
);

export interface TableTarget {
  readonly tableArn: string;
  readonly region: string;
  /**
   * Makes the export idempotent for DynamoDB's 8-hour window: a retried call for the same request
   * reports the export already started instead of starting a second one.
   */
  readonly clientToken: string;
}

const exportParameters = () =>
  z
    .strictObject({
      S3Bucket: bucketName(),
      S3Prefix: z
        .string()
        .regex(S3_PREFIX, "must be 1-1024 of the characters A-Z a-z 0-9 ! _ . ' ( ) / -")
        .optional(),
      S3BucketOwner: accountId().optional(),
      S3SseAlgorithm: z.enum(['AES256', 'KMS']).optional(),
      S3SseKmsKeyId: z
        .string()
        .regex(KMS_KEY_ARN, 'must be a KMS key ARN (the session policy needs the key by ARN)')
        .optional(),
      ExportFormat: z.enum(['DYNAMODB_JSON', 'ION']).optional(),
      ExportTime: z.iso.datetime({ offset: true }).optional(),
      ExportType: z.enum(['FULL_EXPORT', 'INCREMENTAL_EXPORT']).optional(),
      IncrementalExportSpecification: z
        .strictObject({
          ExportFromTime: z.iso.datetime({ offset: true }),
          ExportToTime: z.iso.datetime({ offset: true }),
          ExportViewType: z.enum(['NEW_IMAGE', 'NEW_AND_OLD_IMAGES']).optional(),
        })
        .optional(),
    })
    .refine((p) => p.S3SseKmsKeyId === undefined || p.S3SseAlgorithm === 'KMS', {
      message: 'S3SseKmsKeyId needs S3SseAlgorithm "KMS"',
      path: ['S3SseKmsKeyId'],
    })
    .refine(
      (p) => (p.ExportType === 'INCREMENTAL_EXPORT') === (p.IncrementalExportSpecification !== undefined),
      {
        message: 'IncrementalExportSpecification goes with ExportType "INCREMENTAL_EXPORT", and only with it',
        path: ['IncrementalExportSpecification'],
      },
    );

export type ExportParameters = z.output<ReturnType<typeof exportParameters>>;

/** The folder DynamoDB writes an export under: `<prefix>/AWSDynamoDB/`, or `AWSDynamoDB/` without a prefix. */
export function exportFolder(prefix: string | undefined): string {
  if (!prefix) return 'AWSDynamoDB/';
  return `${prefix.endsWith('/') ? prefix : `${prefix}/`}AWSDynamoDB/`;
}

const exportTable = entry('dynamodb:ExportTableToPointInTime', {
  roleClass: ROLE_CLASS.dataExport,
  resourceKind: 'a DynamoDB table ARN (arn:aws:dynamodb:<region>:<account>:table/<name>)',
  target: (resource, requestId) => {
    const found = TABLE_ARN.exec(resource);
    return found ? { tableArn: resource, region: found[1], clientToken: requestId } : undefined;
  },
  parameters: exportParameters,
  risks: (parameters, resource) => {
    const tableAccount = accountOf(resource);
    const found: ParameterRisk[] = [];
    const owner = parameters.S3BucketOwner;
    if (typeof owner === 'string' && owner !== tableAccount) {
      found.push({
        key: 'S3BucketOwner',
        reason: `the export goes to a bucket owned by account ${owner}, not the table's account ${tableAccount ?? '(unknown)'}`,
      });
    }
    const keyAccount = accountOf(parameters.S3SseKmsKeyId);
    if (keyAccount !== undefined && keyAccount !== tableAccount) {
      found.push({
        key: 'S3SseKmsKeyId',
        reason: `the export is encrypted with a KMS key of account ${keyAccount}, not the table's account ${tableAccount ?? '(unknown)'}: that account can read it`,
      });
    }
    return found;
  },
  forbidden: {
    TableArn: 'the table is the approved resource, not a parameter',
    ClientToken: 'set from the request id, so a retry cannot start a second export',
  },
  companions: (parameters, target) => {
    // DynamoDB writes the export with the caller's permissions (the AWS docs list these three),
    // under `<prefix>/AWSDynamoDB/<export id>/…` only: the grant covers exactly that folder, never
    // the bucket or a sibling such as `<prefix>AWSDynamoDBX/`.
    const partition = target.tableArn.split(':')[1];
    const companions: CompanionStatement[] = [
      {
        sid: 'ExportDestination',
        actions: ['s3:AbortMultipartUpload', 's3:PutObject', 's3:PutObjectAcl'],
        resources: [`arn:${partition}:s3:::${parameters.S3Bucket}/${exportFolder(parameters.S3Prefix)}*`],
      },
    ];
    if (parameters.S3SseKmsKeyId) {
      companions.push({
        sid: 'ExportEncryptionKey',
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: [parameters.S3SseKmsKeyId],
      });
    }
    return companions;
  },
});

// ── s3:GetObject ─────────────────────────────────────────────────────────────────────────────

const OBJECT_ARN = new RegExp(`^arn:${PARTITION}:s3:::([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])/(.+)$`);

export interface ObjectTarget {
  readonly bucket: string;
  readonly key: string;
}

const getObjectParameters = () =>
  z.strictObject({
    ExpectedBucketOwner: accountId().optional(),
    Range: z
      .string()
      .regex(/^bytes=\d+-\d*$/, 'must be one byte range, e.g. "bytes=0-1023"')
      .optional(),
    IfMatch: z.string().min(1).max(1024).optional(),
  });

export type GetObjectParameters = z.output<ReturnType<typeof getObjectParameters>>;

const getObject = entry('s3:GetObject', {
  roleClass: ROLE_CLASS.dataRead,
  resourceKind: 'an S3 object ARN (arn:aws:s3:::<bucket>/<key>)',
  target: (resource) => {
    const found = OBJECT_ARN.exec(resource);
    return found ? { bucket: found[1], key: found[2] } : undefined;
  },
  parameters: getObjectParameters,
  forbidden: {
    Bucket: 'the bucket is part of the approved resource',
    Key: 'the key is part of the approved resource',
    VersionId: 'reading a version is s3:GetObjectVersion, a different action that needs its own approval',
  },
  // An SSE-KMS object would also need kms:Decrypt on a key nobody named in the request; such reads
  // fail rather than guess a key.
  companions: () => [],
});

// ── iam:AttachRolePolicy / iam:DetachRolePolicy ──────────────────────────────────────────────

const ROLE_ARN = new RegExp(
  `^arn:(${PARTITION}):iam::(${ACCOUNT}):role/(?:${IAM_NAME}+/)*(${IAM_NAME}{1,64})$`,
);
const POLICY_ARN = new RegExp(
  `^arn:(${PARTITION}):iam::(?:aws|${ACCOUNT}):policy/(?:${IAM_NAME}+/)*${IAM_NAME}{1,128}$`,
);

export interface RoleTarget {
  readonly partition: string;
  readonly account: string;
  /** IAM's role APIs take the name; the path in the approved ARN only matters to the session policy. */
  readonly roleName: string;
}

function roleTarget(resource: string): RoleTarget | undefined {
  const found = ROLE_ARN.exec(resource);
  return found ? { partition: found[1], account: found[2], roleName: found[3] } : undefined;
}

const rolePolicyParameters = () =>
  z.strictObject({
    PolicyArn: z.string().regex(POLICY_ARN, 'must be a managed policy ARN'),
  });

export type RolePolicyParameters = z.output<ReturnType<typeof rolePolicyParameters>>;

const roleSpec = {
  roleClass: ROLE_CLASS.iamAdmin,
  resourceKind: 'an IAM role ARN (arn:aws:iam::<account>:role/<name>)',
  target: roleTarget,
  parameters: rolePolicyParameters,
  forbidden: { RoleName: 'the role is the approved resource, not a parameter' },
  companions: () => [],
  // Without it, the session could attach any managed policy to the approved role until expiry.
  approvedCallConditions: (parameters: RolePolicyParameters) => ({
    ArnEquals: { 'iam:PolicyARN': parameters.PolicyArn },
  }),
};

const attachRolePolicy = entry('iam:AttachRolePolicy', roleSpec);
const detachRolePolicy = entry('iam:DetachRolePolicy', roleSpec);

/**
 * Whether two role ARNs name the same role. IAM role names are unique regardless of case, and the
 * role APIs act on the name, so neither case nor path tells two roles apart.
 */
export function sameRole(a: string, b: string): boolean {
  const [left, right] = [roleTarget(a), roleTarget(b)];
  return (
    left !== undefined &&
    right !== undefined &&
    left.partition === right.partition &&
    left.account === right.account &&
    left.roleName.toLowerCase() === right.roleName.toLowerCase()
  );
}

// ── lambda:UpdateFunctionConfiguration ───────────────────────────────────────────────────────

// Unqualified only: the call changes $LATEST, and a qualified ARN would not match what it acts on.
const FUNCTION_ARN = new RegExp(
  `^arn:${PARTITION}:lambda:(${REGION}):${ACCOUNT}:function:[A-Za-z0-9_-]{1,64}$`,
);
const LAYER_VERSION_ARN = new RegExp(
  `^arn:${PARTITION}:lambda:${REGION}:${ACCOUNT}:layer:[A-Za-z0-9_-]{1,140}:\\d{1,10}$`,
);

/**
 * Environment variables whose only use is to run other code before or around the runtime: no
 * configuration change needs them, so no reviewer is asked to judge them.
 */
const FORBIDDEN_ENVIRONMENT: Readonly<Record<string, string>> = {
  AWS_LAMBDA_EXEC_WRAPPER: "runs a wrapper script of the layer's choosing before the runtime starts",
  LD_PRELOAD: 'loads a shared library into every process of the function',
  LD_AUDIT: 'loads a shared library that sees every symbol the function binds',
  DOTNET_STARTUP_HOOKS: 'runs an assembly of its choosing before the .NET function starts',
};

/**
 * Environment variables with legitimate uses (memory flags, source maps, module paths) that can
 * also load arbitrary code: allowed, but flagged so the reviewer reads the value.
 */
const RISKY_ENVIRONMENT: Readonly<Record<string, string>> = {
  NODE_OPTIONS: 'Node.js reads options from it at start; --require or --import there loads any code',
  NODE_PATH: 'changes where Node.js finds modules, so another module can stand in for a dependency',
  JAVA_TOOL_OPTIONS: 'the JVM reads options from it at start; -javaagent there loads any code',
  JDK_JAVA_OPTIONS: 'the JVM reads options from it at start; -javaagent there loads any code',
  PYTHONPATH: 'changes where Python finds modules, so another module can stand in for a dependency',
  PYTHONHOME: 'changes which Python standard library the function loads',
  PYTHONSTARTUP: 'names a Python file to run at start',
  LD_LIBRARY_PATH: 'changes where shared libraries are loaded from',
  PERL5OPT: 'Perl reads options from it at start; -M there loads any module',
  PERL5LIB: 'changes where Perl finds modules',
  RUBYOPT: 'Ruby reads options from it at start; -r there loads any file',
  RUBYLIB: 'changes where Ruby finds libraries',
};

function environmentVariables(parameters: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const environment = parameters.Environment;
  const variables =
    typeof environment === 'object' && environment !== null
      ? (environment as { Variables?: unknown }).Variables
      : undefined;
  return typeof variables === 'object' && variables !== null ? { ...variables } : {};
}

function functionRisks(parameters: Readonly<Record<string, unknown>>, resource: string): ParameterRisk[] {
  const found: ParameterRisk[] = Object.keys(environmentVariables(parameters))
    .filter((name) => Object.hasOwn(RISKY_ENVIRONMENT, name))
    .map((name) => ({ key: 'Environment', reason: `${name}: ${RISKY_ENVIRONMENT[name]}` }));
  const functionAccount = accountOf(resource);
  const layers = Array.isArray(parameters.Layers) ? parameters.Layers : [];
  for (const layer of layers) {
    const layerAccount = accountOf(layer);
    if (layerAccount !== functionAccount) {
      found.push({
        key: 'Layers',
        reason: `${typeof layer === 'string' ? layer : JSON.stringify(layer)} is published by account ${layerAccount ?? '(unknown)'}, not the function's account ${functionAccount ?? '(unknown)'}: its code runs inside the function`,
      });
    }
  }
  if (parameters.Handler !== undefined) {
    found.push({ key: 'Handler', reason: 'changes which code the function runs on every invocation' });
  }
  return found;
}

export interface FunctionTarget {
  readonly functionArn: string;
  readonly region: string;
}

const functionParameters = () =>
  z
    .strictObject({
      Description: z.string().max(256).optional(),
      Handler: z
        .string()
        .regex(/^[^\s]{1,128}$/, 'must be 1-128 characters without spaces')
        .optional(),
      Runtime: z
        .string()
        .regex(/^[a-z0-9.]{1,32}$/, 'must be a Lambda runtime identifier')
        .optional(),
      Timeout: z.number().int().min(1).max(900).optional(),
      MemorySize: z.number().int().min(128).max(10_240).optional(),
      EphemeralStorage: z.strictObject({ Size: z.number().int().min(512).max(10_240) }).optional(),
      Environment: z
        .strictObject({
          Variables: z
            .record(
              z.string().regex(/^[a-zA-Z][a-zA-Z0-9_]+$/, 'is not an environment variable name'),
              z.string(),
            )
            .superRefine((variables, ctx) => {
              for (const name of Object.keys(variables)) {
                if (Object.hasOwn(FORBIDDEN_ENVIRONMENT, name)) {
                  ctx.addIssue({
                    code: 'custom',
                    message: `forbidden: it ${FORBIDDEN_ENVIRONMENT[name]}`,
                    path: [name],
                  });
                }
              }
            }),
        })
        .optional(),
      Layers: z.array(z.string().regex(LAYER_VERSION_ARN, 'must be a layer version ARN')).max(5).optional(),
      TracingConfig: z.strictObject({ Mode: z.enum(['Active', 'PassThrough']) }).optional(),
      RevisionId: z.string().min(1).max(64).optional(),
    })
    .refine((p) => Object.keys(p).some((key) => key !== 'RevisionId'), 'nothing to change');

export type FunctionParameters = z.output<ReturnType<typeof functionParameters>>;

const updateFunctionConfiguration = entry('lambda:UpdateFunctionConfiguration', {
  roleClass: ROLE_CLASS.lambdaConfig,
  resourceKind: 'an unqualified Lambda function ARN (arn:aws:lambda:<region>:<account>:function:<name>)',
  target: (resource) => {
    const found = FUNCTION_ARN.exec(resource);
    return found ? { functionArn: resource, region: found[1] } : undefined;
  },
  parameters: functionParameters,
  risks: functionRisks,
  forbidden: {
    FunctionName: 'the function is the approved resource, not a parameter',
    Role: 'changing the execution role needs iam:PassRole, which no session is given',
    VpcConfig: 'attaching a VPC needs ec2:Describe* on "*", which no session is given',
    FileSystemConfigs: 'mounting a file system needs EFS permissions outside the approved resource',
    KMSKeyArn: 'changing the encryption key needs KMS permissions outside the approved resource',
  },
  companions: (parameters) =>
    parameters.Layers && parameters.Layers.length > 0
      ? [{ sid: 'FunctionLayers', actions: ['lambda:GetLayerVersion'], resources: [...parameters.Layers] }]
      : [],
});

// ── The registry ─────────────────────────────────────────────────────────────────────────────

/** Every action this system can run. An operation that is not here cannot be executed. */
export const CATALOG = [
  exportTable,
  getObject,
  attachRolePolicy,
  detachRolePolicy,
  updateFunctionConfiguration,
] as const;

type Entry = (typeof CATALOG)[number];
export type CatalogOperation = Entry['operation'];

type PlanOf<E> =
  E extends CatalogEntry<infer Operation, infer Target, infer Parameters>
    ? Plan<Operation, Target, Parameters>
    : never;
/** A planned action: narrowing on `operation` gives its target and parameters their exact types. */
export type ActionPlan = PlanOf<Entry>;

const BY_OPERATION: ReadonlyMap<string, Entry> = new Map(CATALOG.map((item) => [item.operation, item]));

/** What a reviewer must weigh in the parameters of `input`, per top-level key; none outside the catalog. */
export function parameterRisks(input: ActionInput): ParameterRisk[] {
  return BY_OPERATION.get(input.operation)?.risks(input) ?? [];
}

/**
 * Plans an approved action: which execution role runs it, what it targets (from the approved
 * ARN), the validated parameters, and the companion permissions its session needs. Fails closed:
 * an operation outside the catalog, an ARN of the wrong kind, or a parameter the catalog does not
 * allow is a refusal, never a best effort.
 */
export function planAction(input: ActionInput): Result<ActionPlan, CatalogError> {
  const found = BY_OPERATION.get(input.operation);
  if (!found) {
    return err({
      reason: CatalogRefusal.UnknownOperation,
      message: `${input.operation} is not in the action catalog, so it cannot be executed`,
    });
  }
  return found.plan(input);
}
