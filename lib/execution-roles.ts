import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { CATALOG, ROLE_CLASS, type RoleClass } from '../lambdas/core/catalog';
import { ROLE_PATH } from './handler-function';
import { acknowledge, wildcardResource } from './nag';

/** The session tags the execute handler sets (lambdas/adapters/sts.ts); no other key is accepted. */
export const SESSION_TAG_KEYS = ['RequestId', 'Approvers'] as const;

/** The tag the construct puts on everything it creates; the boundary denies touching what carries it. */
export const MANAGED_TAG_KEY = 'ActionApprovals';

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
   * @default - every resource of the operations' type in this account (S3: every bucket)
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
        sid: 'ExportDestination',
        actions: ['s3:AbortMultipartUpload', 's3:PutObject', 's3:PutObjectAcl'],
        resources: [`arn:${p}:s3:::*/*`],
      },
      {
        sid: 'ExportEncryptionKey',
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: [`arn:${p}:kms:*:${a}:key/*`],
      },
    ],
  },
  [ROLE_CLASS.dataRead]: { defaultResources: (p) => [`arn:${p}:s3:::*/*`], companions: () => [] },
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

/** What the execution roles need to know about the rest of the system. */
export interface ExecutionRolesProps {
  /** The execute handler's role: the only principal the execution roles trust. */
  readonly executeRole: iam.IRole;
  /** Per role class settings. */
  readonly settings: Readonly<Partial<Record<RoleClass, ExecutionRoleSettings>>>;
  /** The construct's own buckets: no session may write to them, whatever its approval says. */
  readonly protectedBuckets: readonly s3.IBucket[];
  /** The construct's own keys: no session may use them. */
  readonly protectedKeys: readonly kms.IKey[];
  /**
   * Sessions issued before this instant stop working: the revocation STS lacks, as a deny on
   * `aws:TokenIssueTime`. Set it to "now" and deploy to cut off every live session.
   * @default - no revocation
   */
  readonly revokeSessionsIssuedBefore?: Date;
}

/**
 * One IAM role per action class of the catalog, each trusted only by the execute handler's role
 * (which must set a source identity and may set only the RequestId and Approvers session tags),
 * each capped by a permissions boundary that also keeps every session away from this system's
 * own roles, functions, buckets and keys.
 */
export class ExecutionRoles extends Construct {
  /** The role of each enabled class. */
  public readonly roles: Readonly<Partial<Record<RoleClass, iam.Role>>>;
  /** The boundary every execution role carries. */
  public readonly boundary: iam.ManagedPolicy;

  constructor(scope: Construct, id: string, props: ExecutionRolesProps) {
    super(scope, id);
    const { partition, account } = Stack.of(this);
    const enabled = (Object.values(ROLE_CLASS) as RoleClass[]).filter(
      (roleClass) => props.settings[roleClass]?.enabled ?? true,
    );

    const ceilings = enabled.map((roleClass) => ({
      roleClass,
      statements: [
        {
          sid: 'ApprovedOperations',
          actions: operationsOf(roleClass),
          resources: [
            ...(props.settings[roleClass]?.resources ??
              CEILINGS[roleClass].defaultResources(partition, account)),
          ],
        },
        ...CEILINGS[roleClass].companions(partition, account),
      ],
    }));

    this.boundary = new iam.ManagedPolicy(this, 'Boundary', {
      description:
        'Ceiling of every action-approvals execution role: catalog actions only, never on this system itself',
      statements: [
        new iam.PolicyStatement({
          sid: 'CatalogActions',
          actions: [
            ...new Set(
              ceilings.flatMap((ceiling) =>
                ceiling.statements.flatMap((statement) => statement.actions ?? []),
              ),
            ),
          ].sort(),
          resources: ['*'],
        }),
        new iam.PolicyStatement({
          sid: 'NeverThisSystemsRoles',
          effect: iam.Effect.DENY,
          actions: ['iam:*'],
          resources: [`arn:${partition}:iam::${account}:role${ROLE_PATH}*`],
        }),
        new iam.PolicyStatement({
          sid: 'NeverThisSystemsTaggedResources',
          effect: iam.Effect.DENY,
          actions: ['iam:*', 'lambda:*'],
          resources: ['*'],
          conditions: { Null: { [`aws:ResourceTag/${MANAGED_TAG_KEY}`]: 'false' } },
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
      ],
    });
    acknowledge(this.boundary, [
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'A permissions boundary is a ceiling, not a grant: it allows the catalog actions on any resource so that each role’s own policy and each session policy decide the resource.',
      },
    ]);

    const roles: Partial<Record<RoleClass, iam.Role>> = {};
    for (const { roleClass, statements } of ceilings) {
      const role = new iam.Role(this, roleClass, {
        // A session without a source identity cannot even be created.
        assumedBy: new iam.ArnPrincipal(props.executeRole.roleArn).withConditions({
          StringLike: { 'sts:SourceIdentity': '?*' },
        }),
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
      this.restrictTrust(role, props.executeRole);
      acknowledge(role, wildcardsOf(role, roleClass, statements));
      roles[roleClass] = role;
    }
    this.roles = roles;
  }

  private restrictTrust(role: iam.Role, executeRole: iam.IRole): void {
    const principal = new iam.ArnPrincipal(executeRole.roleArn);
    role.assumeRolePolicy?.addStatements(
      // The execute handler names the agent as the session's source identity; CloudTrail then
      // attributes every call of the session to it, and a session without one is refused.
      new iam.PolicyStatement({
        sid: 'SourceIdentityIsTheAgent',
        actions: ['sts:SetSourceIdentity'],
        principals: [principal],
        conditions: { StringLike: { 'sts:SourceIdentity': '?*' } },
      }),
      new iam.PolicyStatement({
        sid: 'OnlyRequestTags',
        actions: ['sts:TagSession'],
        principals: [principal],
        conditions: { 'ForAllValues:StringEquals': { 'aws:TagKeys': [...SESSION_TAG_KEYS] } },
      }),
    );
  }
}

export function revocation(before: Date): iam.PolicyStatement {
  return new iam.PolicyStatement({
    sid: 'RevokeOlderSessions',
    effect: iam.Effect.DENY,
    actions: ['*'],
    resources: ['*'],
    conditions: { DateLessThan: { 'aws:TokenIssueTime': before.toISOString() } },
  });
}

function wildcardsOf(
  scope: Construct,
  roleClass: RoleClass,
  statements: readonly iam.PolicyStatementProps[],
) {
  const reason = `The ${roleClass} role is a ceiling reached only through a session whose policy names the one approved resource; the pattern bounds what any approval can reach.`;
  const ids = statements
    .flatMap((statement) => statement.resources ?? [])
    .map((resource) => wildcardResource(scope, resource));
  return [...new Set(ids)].filter((id) => id.includes('*')).map((id) => ({ id, reason }));
}
