import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as events from 'aws-cdk-lib/aws-events';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { CATALOG, ROLE_CLASS, type RoleClass } from '../lambdas/core/catalog';
import type { DirectoryConfig } from '../lambdas/core/directory';
import { ROLE_PATH } from './handler-function';
import { acknowledge } from './nag';
import { PREVIEW_ROLE_CLASS, previewCeiling, previewRole } from './preview-roles';
import {
  boundaryActions,
  EXECUTION_ROLE_CLASSES,
  type ExecutionRoleClass,
  genericCeiling,
  isGenericRoleClass,
  neverThisSystemsRolesOrTagged,
  requireAgentSessions,
  revocation,
  roleAcknowledgements,
  type RoleCeiling,
  serviceWildcards,
} from './role-ceilings';

export {
  MANAGED_TAG_KEY,
  neverThisSystemsRolesOrTagged,
  requireAgentSessions,
  revocation,
  SESSION_TAG_KEYS,
} from './role-ceilings';

/** Settings of one role class's execution role. */
export interface ExecutionRoleSettings {
  /**
   * Creates the role. A class without a role cannot run: its approved actions fail at execution
   * with a clear reason, and no principal holds its permissions.
   * @default true
   */
  readonly enabled?: boolean;
  /**
   * ARN patterns the class's primary operations may act on, the role's ceiling beneath each
   * request's session policy. Narrow them to the accounts, tables, buckets, roles or functions
   * agents may ever be approved for.
   *
   * For `data-read` these are added to the objects of the buckets the directory maps
   * (`environments.buckets`): the role reads those buckets and what is listed here, never every
   * bucket. With no mapped bucket and nothing listed, the `data-read` role is not created (as with
   * `enabled: false`): its approved actions fail at execution with a clear reason.
   * @default - every resource of the operations' type in this account; for `data-read`, the
   * objects of the buckets the directory maps
   */
  readonly resources?: readonly string[];
}

/** What each role class may do at most; the session policy narrows it to one call per request. */
export interface ClassCeiling {
  /** ARN patterns of the primary resource, for the account and partition of the stack. */
  readonly defaultResources: (partition: string, account: string) => string[];
  /** Companion permissions the catalog adds to sessions (lambdas/core/catalog.ts). */
  readonly companions: (partition: string, account: string) => iam.PolicyStatementProps[];
}

export const CEILINGS: Readonly<Record<RoleClass, ClassCeiling>> = {
  [ROLE_CLASS.dataExport]: {
    defaultResources: (p, a) => [`arn:${p}:dynamodb:*:${a}:table/*`],
    companions: (p, a) => [
      {
        // DynamoDB writes an export only under `<prefix>/AWSDynamoDB/`: no other key of any bucket.
        sid: 'ExportDestination',
        actions: ['s3:AbortMultipartUpload', 's3:PutObject', 's3:PutObjectAcl'],
        resources: [`arn:${p}:s3:::*/AWSDynamoDB/*`, `arn:${p}:s3:::*/*/AWSDynamoDB/*`],
      },
      {
        sid: 'ExportEncryptionKey',
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: [`arn:${p}:kms:*:${a}:key/*`],
      },
    ],
  },
  // Never every bucket: the buckets come from the directory and the deployer (see `readableBuckets`).
  [ROLE_CLASS.dataRead]: { defaultResources: () => [], companions: () => [] },
  [ROLE_CLASS.iamAdmin]: { defaultResources: (p, a) => [`arn:${p}:iam::${a}:role/*`], companions: () => [] },
  [ROLE_CLASS.lambdaConfig]: {
    defaultResources: (p, a) => [`arn:${p}:lambda:*:${a}:function:*`],
    companions: (p) => [
      {
        sid: 'FunctionLayers',
        actions: ['lambda:GetLayerVersion'],
        resources: [`arn:${p}:lambda:*:*:layer:*:*`],
      },
    ],
  },
};

/** The catalog's operations, grouped by the role class that runs them. */
export function operationsOf(roleClass: RoleClass): string[] {
  return CATALOG.filter((entry) => entry.roleClass === roleClass).map((entry) => entry.operation);
}

/**
 * The buckets the directory places in an environment (`environments.buckets`): the only buckets
 * the data-read role reaches unless the deployer lists more.
 */
export function directoryBuckets(directory: DirectoryConfig): string[] {
  return Object.keys(directory.environments.buckets ?? {}).sort();
}

/** This system's own resources: the boundary denies every session every action on them. */
export interface ProtectedResources {
  /** Its tables; their streams, exports and indexes are denied with them. */
  readonly tables: readonly dynamodb.ITable[];
  /** The names of its state machines (known at synth: an ARN token here would be a cycle). */
  readonly stateMachineNames: readonly string[];
  /** The bus requests and outcomes travel on, and its rules. */
  readonly eventBuses: readonly events.IEventBus[];
  /**
   * Queues named one by one: the dead-letter queues. The outcome queues (one per agent, as many
   * as the directory lists) are denied by the tag the construct puts on them, which keeps the
   * boundary within IAM's 6,144-character limit for managed policies.
   */
  readonly queues: readonly sqs.IQueue[];
  /** ARNs (or ARN patterns) of the chat secrets the functions read. */
  readonly secretArns: readonly string[];
}

/** What the execution roles need to know about the rest of the system. */
export interface ExecutionRolesProps {
  /** The execute handler's role: the only principal the execution roles trust. */
  readonly executeRole: iam.IRole;
  /** The evaluate handler's role: the only principal the preview role trusts. */
  readonly evaluateRole: iam.IRole;
  /** Per role class settings: the catalog's classes and the generic path's. */
  readonly settings: Readonly<Partial<Record<ExecutionRoleClass, ExecutionRoleSettings>>>;
  /** The construct's own buckets: no session may write to them, whatever its approval says. */
  readonly protectedBuckets: readonly s3.IBucket[];
  /** The construct's own keys: no session may use them. */
  readonly protectedKeys: readonly kms.IKey[];
  /** The construct's own tables, workflow, bus, queues and secrets: no session may touch them. */
  readonly protectedResources: ProtectedResources;
  /** Buckets the directory maps to an environment: the data-read role's default reach. */
  readonly mappedBuckets: readonly string[];
  /**
   * Sessions issued before this instant stop working: the revocation STS lacks, as a deny on
   * `aws:TokenIssueTime`. Set it to "now" and deploy to cut off every live session.
   * @default - no revocation
   */
  readonly revokeSessionsIssuedBefore?: Date;
}

/**
 * One IAM role per execution class (the catalog's and the generic path's), each trusted only by
 * the execute handler's role (which must set a source identity and may set only the RequestId and
 * Approvers session tags), and the preview role, trusted only by the evaluate handler's role; all
 * capped by one permissions boundary that also keeps every session away from this system's own
 * roles, functions, tables, buckets, keys, logs, alarms and stack.
 */
export class ExecutionRoles extends Construct {
  /** The role of each enabled class. */
  public readonly roles: Readonly<Partial<Record<ExecutionRoleClass, iam.Role>>>;
  /** The role previews are read with (lib/preview-roles.ts). */
  public readonly previewRole: iam.Role;
  /** The boundary every execution role and the preview role carry. */
  public readonly boundary: iam.ManagedPolicy;

  constructor(scope: Construct, id: string, props: ExecutionRolesProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const { partition, account } = stack;
    const ceilings = enabledCeilings(props, partition, account);
    const preview = previewCeiling(partition, account);
    const approvable = boundaryActions([...ceilings, preview]);

    this.boundary = new iam.ManagedPolicy(this, 'Boundary', {
      description:
        'Ceiling of every action-approvals execution role: approvable actions only, never on this system itself',
      statements: [
        new iam.PolicyStatement({ sid: 'ApprovableActions', actions: approvable, resources: ['*'] }),
        ...neverThisSystemsRolesOrTagged(partition, account, SYSTEM_SERVICES),
        new iam.PolicyStatement({
          sid: 'NeverThisSystemsStack',
          effect: iam.Effect.DENY,
          actions: ['cloudformation:*'],
          resources: [`arn:${partition}:cloudformation:*:${account}:stack/${stack.stackName}/*`],
        }),
        new iam.PolicyStatement({
          sid: 'NeverThisSystemsBuckets',
          effect: iam.Effect.DENY,
          actions: ['s3:*'],
          resources: props.protectedBuckets.flatMap((bucket) => [
            bucket.bucketArn,
            bucket.arnForObjects('*'),
          ]),
        }),
        new iam.PolicyStatement({
          sid: 'NeverThisSystemsKeys',
          effect: iam.Effect.DENY,
          actions: ['kms:*'],
          resources: props.protectedKeys.map((key) => key.keyArn),
        }),
        ...systemDenials(partition, account, props.protectedResources),
      ],
    });
    acknowledge(this.boundary, [
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'A permissions boundary is a ceiling, not a grant: it allows the approvable actions on any resource so that each role’s own policy and each session policy decide the resource.',
      },
      ...serviceWildcards(
        approvable,
        'the boundary caps the whole service; each session policy names one action',
      ),
    ]);

    const executor = new iam.ArnPrincipal(props.executeRole.roleArn);
    const roles: Partial<Record<ExecutionRoleClass, iam.Role>> = {};
    for (const ceiling of ceilings) {
      const { roleClass, statements } = ceiling;
      const role = new iam.Role(this, roleClass, {
        // A session without a source identity cannot even be created.
        assumedBy: executor.withConditions({ StringLike: { 'sts:SourceIdentity': '?*' } }),
        description: `action-approvals execution role for ${roleClass} actions: usable only through an approved request's session`,
        path: ROLE_PATH,
        permissionsBoundary: this.boundary,
        inlinePolicies: {
          Ceiling: new iam.PolicyDocument({
            statements: [
              ...statements.map((statement) => new iam.PolicyStatement(statement)),
              ...(props.revokeSessionsIssuedBefore ? [revocation(props.revokeSessionsIssuedBefore)] : []),
            ],
          }),
        },
      });
      requireAgentSessions(role, executor);
      acknowledge(role, roleAcknowledgements(role, ceiling));
      roles[roleClass] = role;
    }
    this.roles = roles;
    this.previewRole = previewRole(this, PREVIEW_ROLE_CLASS, {
      evaluateRole: new iam.ArnPrincipal(props.evaluateRole.roleArn),
      boundary: this.boundary,
      ceiling: preview,
      ...(props.revokeSessionsIssuedBefore
        ? { revokeSessionsIssuedBefore: props.revokeSessionsIssuedBefore }
        : {}),
    });
  }
}

/**
 * The services whose resources this construct creates and tags: the boundary denies every session
 * any action on what carries the tag, whatever a generic approval names.
 */
const SYSTEM_SERVICES = [
  'cloudwatch:*',
  'dynamodb:*',
  'events:*',
  'iam:*',
  'lambda:*',
  'logs:*',
  'sns:*',
  'sqs:*',
  'states:*',
];

/** The ceiling of each enabled class; a class that reaches nothing gets no role (fail closed, never "*"). */
function enabledCeilings(
  props: ExecutionRolesProps,
  partition: string,
  account: string,
): RoleCeiling<ExecutionRoleClass>[] {
  const reach = (roleClass: RoleClass): string[] => {
    const listed = props.settings[roleClass]?.resources;
    if (roleClass !== ROLE_CLASS.dataRead)
      return [...(listed ?? CEILINGS[roleClass].defaultResources(partition, account))];
    const mapped = props.mappedBuckets.map((bucket) => `arn:${partition}:s3:::${bucket}/*`);
    return [...new Set([...mapped, ...(listed ?? [])])];
  };
  return EXECUTION_ROLE_CLASSES.filter((roleClass) => props.settings[roleClass]?.enabled ?? true).flatMap(
    (roleClass): RoleCeiling<ExecutionRoleClass>[] => {
      if (isGenericRoleClass(roleClass))
        return [genericCeiling(roleClass, props.settings[roleClass]?.resources)];
      const resources = reach(roleClass);
      if (resources.length === 0) return [];
      return [
        {
          roleClass,
          statements: [
            { sid: 'ApprovedOperations', actions: operationsOf(roleClass), resources },
            ...CEILINGS[roleClass].companions(partition, account),
          ],
        },
      ];
    },
  );
}

/** One deny per kind of this system's own resources, so a session reaches none of them. */
function systemDenials(
  partition: string,
  account: string,
  resources: ProtectedResources,
): iam.PolicyStatement[] {
  const deny = (sid: string, actions: string[], arns: string[]) =>
    arns.length === 0
      ? []
      : [new iam.PolicyStatement({ sid, effect: iam.Effect.DENY, actions, resources: arns })];
  return [
    ...deny(
      'NeverThisSystemsTables',
      ['dynamodb:*'],
      // `<table>/*` covers the table's stream, exports, indexes and backups.
      resources.tables.flatMap((table) => [table.tableArn, `${table.tableArn}/*`]),
    ),
    ...deny(
      'NeverThisSystemsWorkflow',
      ['states:*'],
      resources.stateMachineNames.flatMap((name) => [
        `arn:${partition}:states:*:${account}:stateMachine:${name}`,
        `arn:${partition}:states:*:${account}:execution:${name}:*`,
      ]),
    ),
    ...deny(
      'NeverThisSystemsBus',
      ['events:*'],
      resources.eventBuses.flatMap((bus) => [
        bus.eventBusArn,
        `arn:${partition}:events:*:${account}:rule/${bus.eventBusName}/*`,
      ]),
    ),
    ...deny(
      'NeverThisSystemsQueues',
      ['sqs:*'],
      resources.queues.map((queue) => queue.queueArn),
    ),
    ...deny('NeverThisSystemsSecrets', ['secretsmanager:*'], [...resources.secretArns]),
  ];
}
