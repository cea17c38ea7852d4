import { BootstraplessSynthesizer, Stack, type StackProps, Tags } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { ROLE_CLASS, type RoleClass } from '../lambdas/core/catalog';
import {
  GENERIC_ROLE_CLASS,
  genericCeilingActions,
  type GenericRoleClass,
  WRITES_NAMED_AS_READS,
} from '../lambdas/core/generic-roles';
import {
  CEILINGS,
  type ExecutionRoleSettings,
  MANAGED_TAG_KEY,
  neverThisSystemsRolesOrTagged,
  operationsOf,
  requireAgentSessions,
  revocation,
} from './execution-roles';
import { ROLE_PATH } from './handler-function';
import { acknowledge, wildcardResource } from './nag';

/** Every class of execution role a workload account can hold: the catalog's and the generic path's. */
export type TargetRoleClass = RoleClass | GenericRoleClass;
export const TARGET_ROLE_CLASSES: readonly TargetRoleClass[] = [
  ...Object.values(ROLE_CLASS),
  ...Object.values(GENERIC_ROLE_CLASS),
];

/** The fixed name of a class's role in every workload account, so the central account can name it. */
export function targetRoleName(roleClass: TargetRoleClass): string {
  return `action-approvals-${roleClass}`;
}

/** The ARN of a class's role in a workload account. */
export function targetRoleArn(account: string, roleClass: TargetRoleClass, partition = 'aws'): string {
  return `arn:${partition}:iam::${account}:role${ROLE_PATH}${targetRoleName(roleClass)}`;
}

export interface ActionApprovalsTargetProps {
  /**
   * The role ARN of the central account's execute function: the only principal these roles
   * trust. A plain string (no import, no lookup), so the stack works as a StackSet template.
   */
  readonly executeRoleArn: string;
  /** Per role class settings; every class is created unless disabled. */
  readonly settings?: Readonly<Partial<Record<TargetRoleClass, ExecutionRoleSettings>>>;
  /**
   * Sessions issued before this instant stop working.
   * @default - no revocation
   */
  readonly revokeSessionsIssuedBefore?: Date;
}

interface Ceiling {
  readonly roleClass: TargetRoleClass;
  readonly statements: readonly iam.PolicyStatementProps[];
}

/**
 * The execution roles of one workload account: one per class, each trusted only by the central
 * execute function's role (which must name the agent as source identity and may set only the
 * RequestId and Approvers session tags), each capped by the same kind of boundary as the central
 * account's, which keeps every session away from these roles. IAM resources only, no assets and
 * no lookups, so it deploys as a StackSet to every account of an organisation unit.
 */
export class ActionApprovalsTarget extends Construct {
  /** The role of each enabled class. */
  public readonly roles: Readonly<Partial<Record<TargetRoleClass, iam.Role>>>;
  public readonly boundary: iam.ManagedPolicy;

  constructor(scope: Construct, id: string, props: ActionApprovalsTargetProps) {
    super(scope, id);
    const { partition, account } = Stack.of(this);
    const enabled = TARGET_ROLE_CLASSES.filter((roleClass) => props.settings?.[roleClass]?.enabled ?? true);
    const ceilings = enabled.map((roleClass) =>
      ceilingOf(roleClass, props.settings?.[roleClass], partition, account),
    );
    // A class with nothing to reach (data-read with no buckets named) has no role at all.
    const reachable = ceilings.filter((ceiling) => (ceiling.statements[0]?.resources ?? []).length > 0);

    this.boundary = new iam.ManagedPolicy(this, 'Boundary', {
      description:
        'Ceiling of every action-approvals execution role in this account, never on action-approvals itself',
      statements: [
        new iam.PolicyStatement({
          sid: 'ApprovableActions',
          actions: boundaryActions(reachable),
          resources: ['*'],
        }),
        ...neverThisSystemsRolesOrTagged(partition, account, ['iam:*', 'lambda:*']),
      ],
    });
    acknowledge(this.boundary, [
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'A permissions boundary is a ceiling, not a grant: it allows the approvable actions on any resource so that each role’s own policy and each session policy decide the resource.',
      },
      ...serviceWildcards(
        boundaryActions(reachable),
        'the boundary caps the whole service; each session policy names one action',
      ),
    ]);

    const principal = new iam.ArnPrincipal(props.executeRoleArn);
    const roles: Partial<Record<TargetRoleClass, iam.Role>> = {};
    for (const { roleClass, statements } of reachable) {
      const role = new iam.Role(this, roleClass, {
        roleName: targetRoleName(roleClass),
        path: ROLE_PATH,
        assumedBy: principal.withConditions({ StringLike: { 'sts:SourceIdentity': '?*' } }),
        description: `action-approvals execution role for ${roleClass} actions: usable only through an approved request's session`,
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
      requireAgentSessions(role, principal);
      // The boundary denies every session any change to what carries this tag.
      Tags.of(role).add(MANAGED_TAG_KEY, 'execution-role');
      acknowledge(role, roleAcknowledgements(role, roleClass, statements));
      roles[roleClass] = role;
    }
    this.roles = roles;
  }
}

/**
 * A stack holding one `ActionApprovalsTarget` and nothing else, synthesized without the CDK
 * bootstrap (no asset bucket, no bootstrap version parameter): its template can be handed to
 * CloudFormation StackSets as it is, for every account of an organisational unit.
 */
export class ActionApprovalsTargetStack extends Stack {
  public readonly target: ActionApprovalsTarget;

  constructor(
    scope: Construct,
    id: string,
    props: ActionApprovalsTargetProps & Omit<StackProps, 'synthesizer'>,
  ) {
    const { executeRoleArn, settings, revokeSessionsIssuedBefore, ...stackProps } = props;
    super(scope, id, { ...stackProps, synthesizer: new BootstraplessSynthesizer() });
    this.target = new ActionApprovalsTarget(this, 'Target', {
      executeRoleArn,
      ...(settings ? { settings } : {}),
      ...(revokeSessionsIssuedBefore ? { revokeSessionsIssuedBefore } : {}),
    });
  }
}

function ceilingOf(
  roleClass: TargetRoleClass,
  settings: ExecutionRoleSettings | undefined,
  partition: string,
  account: string,
): Ceiling {
  if (roleClass === GENERIC_ROLE_CLASS.read || roleClass === GENERIC_ROLE_CLASS.change) {
    return {
      roleClass,
      statements: [
        {
          sid: 'ApprovableActions',
          actions: genericCeilingActions(roleClass),
          resources: [...(settings?.resources ?? ['*'])],
        },
        ...(roleClass === GENERIC_ROLE_CLASS.read
          ? [
              {
                sid: 'NoWritesNamedAsReads',
                effect: iam.Effect.DENY,
                actions: [...WRITES_NAMED_AS_READS],
                resources: ['*'],
              },
            ]
          : []),
      ],
    };
  }
  return {
    roleClass,
    statements: [
      {
        sid: 'ApprovedOperations',
        actions: operationsOf(roleClass),
        resources: [...(settings?.resources ?? CEILINGS[roleClass].defaultResources(partition, account))],
      },
      ...CEILINGS[roleClass].companions(partition, account),
    ],
  };
}

/** Every allowed action of the enabled classes, less those a whole-service wildcard already covers. */
function boundaryActions(ceilings: readonly Ceiling[]): string[] {
  const actions = new Set(
    ceilings.flatMap((ceiling) =>
      ceiling.statements
        .filter((statement) => statement.effect !== iam.Effect.DENY)
        .flatMap((statement) => statement.actions ?? []),
    ),
  );
  const wholeServices = new Set(
    [...actions].filter((action) => action.endsWith(':*')).map((action) => action.split(':')[0]),
  );
  return [...actions]
    .filter((action) => action.endsWith(':*') || !wholeServices.has(action.split(':')[0]))
    .sort();
}

function serviceWildcards(actions: readonly string[], why: string) {
  return actions
    .filter((action) => action.includes('*'))
    .map((action) => ({
      id: `AwsSolutions-IAM5[Action::${action}]`,
      reason: `${action}: ${why}, so the wildcard never reaches a session.`,
    }));
}

function roleAcknowledgements(
  scope: Construct,
  roleClass: TargetRoleClass,
  statements: readonly iam.PolicyStatementProps[],
) {
  const reason = `The ${roleClass} role is a ceiling reached only through a session whose policy names the one approved action and resource; the pattern bounds what any approval can reach.`;
  const allows = statements.filter((statement) => statement.effect !== iam.Effect.DENY);
  const resources = [...new Set(allows.flatMap((statement) => statement.resources ?? []))]
    .map((resource) => wildcardResource(scope, resource))
    .filter((found) => found.includes('*'))
    .map((found) => ({ id: found, reason }));
  const actions = serviceWildcards(
    allows.flatMap((statement) => statement.actions ?? []),
    `the ${roleClass} role's ceiling; each session policy names one action`,
  );
  return [...resources, ...actions];
}
