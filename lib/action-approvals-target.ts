import { BootstraplessSynthesizer, Stack, type StackProps, Tags, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { IAM_ROLE_ARN } from '../lambdas/core/identity';
import { CEILINGS, type ExecutionRoleSettings, operationsOf } from './execution-roles';
import { ROLE_PATH } from './handler-function';
import { acknowledge } from './nag';
import { PREVIEW_ROLE_NAME, previewCeiling, previewRole } from './preview-roles';
import {
  boundaryActions,
  EXECUTION_ROLE_CLASSES,
  type ExecutionRoleClass,
  genericCeiling,
  isGenericRoleClass,
  MANAGED_TAG_KEY,
  neverThisSystemsRolesOrTagged,
  requireAgentSessions,
  revocation,
  roleAcknowledgements,
  type RoleCeiling,
  serviceWildcards,
} from './role-ceilings';

/** Every class of execution role a workload account can hold: the catalog's and the generic path's. */
export type TargetRoleClass = ExecutionRoleClass;
export const TARGET_ROLE_CLASSES: readonly TargetRoleClass[] = EXECUTION_ROLE_CLASSES;

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
  /**
   * The role ARN of the central account's evaluate function: the only principal the preview role
   * trusts. A plain string, like `executeRoleArn`.
   * @default - no preview role: previews of this account's resources say they are unavailable
   */
  readonly evaluateRoleArn?: string;
  /** Per role class settings; every class is created unless disabled. */
  readonly settings?: Readonly<Partial<Record<TargetRoleClass, ExecutionRoleSettings>>>;
  /**
   * Sessions issued before this instant stop working.
   * @default - no revocation
   */
  readonly revokeSessionsIssuedBefore?: Date;
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
  /** The role the central evaluate function reads previews with, when `evaluateRoleArn` is given. */
  public readonly previewRole?: iam.Role;
  public readonly boundary: iam.ManagedPolicy;

  constructor(scope: Construct, id: string, props: ActionApprovalsTargetProps) {
    super(scope, id);
    validateTrustedRoles(props);
    const { partition, account } = Stack.of(this);
    const enabled = TARGET_ROLE_CLASSES.filter((roleClass) => props.settings?.[roleClass]?.enabled ?? true);
    const ceilings = enabled.map((roleClass) =>
      ceilingOf(roleClass, props.settings?.[roleClass], partition, account),
    );
    // A class with nothing to reach (data-read with no buckets named) has no role at all.
    const reachable = ceilings.filter((ceiling) => (ceiling.statements[0]?.resources ?? []).length > 0);
    const preview = props.evaluateRoleArn ? previewCeiling(partition, account) : undefined;
    const approvable = boundaryActions([...reachable, ...(preview ? [preview] : [])]);

    this.boundary = new iam.ManagedPolicy(this, 'Boundary', {
      description:
        'Ceiling of every action-approvals execution role in this account, never on action-approvals itself',
      statements: [
        new iam.PolicyStatement({
          sid: 'ApprovableActions',
          actions: approvable,
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
        approvable,
        'the boundary caps the whole service; each session policy names one action',
      ),
    ]);

    const principal = new iam.ArnPrincipal(props.executeRoleArn);
    const roles: Partial<Record<TargetRoleClass, iam.Role>> = {};
    for (const ceiling of reachable) {
      const { roleClass, statements } = ceiling;
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
      acknowledge(role, roleAcknowledgements(role, ceiling));
      roles[roleClass] = role;
    }
    this.roles = roles;
    if (preview && props.evaluateRoleArn) {
      this.previewRole = previewRole(this, 'preview', {
        evaluateRole: new iam.ArnPrincipal(props.evaluateRoleArn),
        boundary: this.boundary,
        ceiling: preview,
        roleName: PREVIEW_ROLE_NAME,
        ...(props.revokeSessionsIssuedBefore && {
          revokeSessionsIssuedBefore: props.revokeSessionsIssuedBefore,
        }),
      });
      Tags.of(this.previewRole).add(MANAGED_TAG_KEY, 'preview-role');
    }
  }
}

/** The trusted principals are role ARNs (or tokens that resolve to one), each trusted for one purpose. */
function validateTrustedRoles(props: ActionApprovalsTargetProps): void {
  const isRoleArn = (arn: string) => Token.isUnresolved(arn) || IAM_ROLE_ARN.test(arn);
  const problems = [
    ...(isRoleArn(props.executeRoleArn)
      ? []
      : [`executeRoleArn "${props.executeRoleArn}" is not an IAM role ARN`]),
    ...(props.evaluateRoleArn === undefined || isRoleArn(props.evaluateRoleArn)
      ? []
      : [`evaluateRoleArn "${props.evaluateRoleArn}" is not an IAM role ARN`]),
    ...(props.evaluateRoleArn === props.executeRoleArn
      ? ['evaluateRoleArn and executeRoleArn must be different roles: one previews, the other executes']
      : []),
  ];
  if (problems.length > 0) throw new Error(`ActionApprovalsTarget: ${problems.join('; ')}`);
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
    const { executeRoleArn, evaluateRoleArn, settings, revokeSessionsIssuedBefore, ...stackProps } = props;
    super(scope, id, { ...stackProps, synthesizer: new BootstraplessSynthesizer() });
    this.target = new ActionApprovalsTarget(this, 'Target', {
      executeRoleArn,
      ...(evaluateRoleArn ? { evaluateRoleArn } : {}),
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
): RoleCeiling<TargetRoleClass> {
  if (isGenericRoleClass(roleClass)) return genericCeiling(roleClass, settings?.resources);
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
