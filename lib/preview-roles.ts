import * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import { PREVIEW_READ_ACTIONS } from '../lambdas/core/preview';
import { ROLE_PATH } from './handler-function';
import { acknowledge } from './nag';
import { requireAgentSessions, revocation, roleAcknowledgements, type RoleCeiling } from './role-ceilings';

/** The class name of the role previews are read with, in the central account and in each workload account. */
export const PREVIEW_ROLE_CLASS = 'preview';

/** The fixed name of the preview role in every workload account, so the central account can name it. */
export const PREVIEW_ROLE_NAME = 'action-approvals-preview';

/** The ARN of the preview role in a workload account. */
export function targetPreviewRoleArn(account: string, partition = 'aws'): string {
  return `arn:${partition}:iam::${account}:role${ROLE_PATH}${PREVIEW_ROLE_NAME}`;
}

/** A preview session is tagged with its request only: nobody has approved anything yet. */
export const PREVIEW_SESSION_TAG_KEYS = ['RequestId'] as const;

/**
 * Where each read call of a preview can reach in one account: the resource types IAM's service
 * reference gives for it, never another account's (an AWS managed policy aside).
 */
type PreviewReadAction = (typeof PREVIEW_READ_ACTIONS)[keyof typeof PREVIEW_READ_ACTIONS][number];
const READ_REACH: Readonly<Record<PreviewReadAction, (partition: string, account: string) => string[]>> = {
  'lambda:GetFunctionConfiguration': (p, a) => [`arn:${p}:lambda:*:${a}:function:*`],
  'iam:ListAttachedRolePolicies': (p, a) => [`arn:${p}:iam::${a}:role/*`],
  'iam:GetPolicy': (p, a) => [`arn:${p}:iam::${a}:policy/*`, `arn:${p}:iam::aws:policy/*`],
  'iam:GetPolicyVersion': (p, a) => [`arn:${p}:iam::${a}:policy/*`, `arn:${p}:iam::aws:policy/*`],
  // IAM has no resource-level permission for DescribeSecurityGroups: `*` is the only resource.
  'ec2:DescribeSecurityGroups': () => ['*'],
  'ecs:DescribeServices': (p, a) => [`arn:${p}:ecs:*:${a}:service/*`],
  'cloudformation:DescribeChangeSet': (p, a) => [`arn:${p}:cloudformation:*:${a}:stack/*`],
};

/**
 * The preview role's identity policy: the read calls of every preview kind (PREVIEW_READ_ACTIONS)
 * and nothing else, each on its resource type in this account. Not ReadOnlyAccess nor
 * ViewOnlyAccess: the role is taken by the function that reads untrusted requests, so it may read
 * what a preview shows and not one object, item or secret more, and an AWS managed policy would
 * grow under it whenever AWS adds a service.
 */
export function previewCeiling(partition: string, account: string): RoleCeiling {
  const actions: PreviewReadAction[] = [...new Set(Object.values(PREVIEW_READ_ACTIONS).flat())].sort();
  return {
    roleClass: PREVIEW_ROLE_CLASS,
    statements: actions.map((action) => ({
      sid: action.replace(/[^A-Za-z0-9]/g, ''),
      actions: [action],
      resources: READ_REACH[action](partition, account),
    })),
  };
}

export interface PreviewRoleProps {
  /** The evaluate function's role: the only principal the preview role trusts. */
  readonly evaluateRole: iam.IPrincipal;
  /** The execution roles' boundary: the preview role carries the same. */
  readonly boundary: iam.IManagedPolicy;
  readonly ceiling: RoleCeiling;
  /** @default - a name CloudFormation generates */
  readonly roleName?: string;
  /** @default - no revocation */
  readonly revokeSessionsIssuedBefore?: Date;
}

/**
 * The role previews are read with: trusted by the evaluate function's role alone, which must name
 * the agent as source identity and may tag the session with the request only; capped by the
 * execution roles' boundary; allowed the preview reads and nothing else.
 */
export function previewRole(scope: Construct, id: string, props: PreviewRoleProps): iam.Role {
  const role = new iam.Role(scope, id, {
    ...(props.roleName ? { roleName: props.roleName } : {}),
    path: ROLE_PATH,
    assumedBy: new iam.PrincipalWithConditions(props.evaluateRole, {
      StringLike: { 'sts:SourceIdentity': '?*' },
    }),
    description:
      'action-approvals preview role: reads what a requested action would change, before reviewers decide',
    permissionsBoundary: props.boundary,
    inlinePolicies: {
      Ceiling: new iam.PolicyDocument({
        statements: [
          ...props.ceiling.statements.map((statement) => new iam.PolicyStatement(statement)),
          ...(props.revokeSessionsIssuedBefore ? [revocation(props.revokeSessionsIssuedBefore)] : []),
        ],
      }),
    },
  });
  requireAgentSessions(role, props.evaluateRole, PREVIEW_SESSION_TAG_KEYS);
  acknowledge(role, roleAcknowledgements(role, props.ceiling));
  return role;
}
