import * as iam from 'aws-cdk-lib/aws-iam';
import type { IConstruct } from 'constructs';
import { ROLE_CLASS, type RoleClass } from '../lambdas/core/catalog';
import {
  GENERIC_ROLE_CLASS,
  genericCeilingActions,
  type GenericRoleClass,
  WRITES_NAMED_AS_READS,
} from '../lambdas/core/generic-roles';
import { ROLE_PATH } from './handler-function';
import { wildcardResource } from './nag';

// What the central account's execution roles and a workload account's share: the generic classes'
// ceilings, how a boundary is made of the roles beneath it, and the cdk-nag findings that follow.

/** The session tags the execute handler sets (lambdas/adapters/sts.ts); no other key is accepted. */
export const SESSION_TAG_KEYS = ['RequestId', 'Approvers'] as const;

/** The tag the construct puts on everything it creates; the boundary denies touching what carries it. */
export const MANAGED_TAG_KEY = 'ActionApprovals';

/** Every class of execution role: the catalog's and the generic path's. */
export type ExecutionRoleClass = RoleClass | GenericRoleClass;
export const EXECUTION_ROLE_CLASSES: readonly ExecutionRoleClass[] = [
  ...Object.values(ROLE_CLASS),
  ...Object.values(GENERIC_ROLE_CLASS),
];

export function isGenericRoleClass(roleClass: string): roleClass is GenericRoleClass {
  return roleClass === GENERIC_ROLE_CLASS.read || roleClass === GENERIC_ROLE_CLASS.change;
}

/** What one role may do at most: the first statement names the primary actions and their reach. */
export interface RoleCeiling<Class extends string = string> {
  readonly roleClass: Class;
  readonly statements: readonly iam.PolicyStatementProps[];
}

/**
 * A generic class's ceiling: the read verbs (less the writes a reading verb names) or the whole
 * of every shipped service, on `resources`.
 * @param resources ARN patterns the class may reach; every resource when not narrowed
 */
export function genericCeiling(
  roleClass: GenericRoleClass,
  resources: readonly string[] = ['*'],
): RoleCeiling<GenericRoleClass> {
  return {
    roleClass,
    statements: [
      { sid: 'ApprovableActions', actions: genericCeilingActions(roleClass), resources: [...resources] },
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

/**
 * What a boundary over these roles allows: every action they are allowed, less those a
 * whole-service wildcard already covers (a boundary must fit IAM's 6,144 characters).
 */
export function boundaryActions(ceilings: readonly RoleCeiling[]): string[] {
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

/** The cdk-nag acknowledgements of action wildcards, with the reason they are accepted. */
export function serviceWildcards(actions: readonly string[], why: string) {
  return [...new Set(actions)]
    .filter((action) => action.includes('*'))
    .map((action) => ({
      id: `AwsSolutions-IAM5[Action::${action}]`,
      reason: `${action}: ${why}, so the wildcard never reaches a session.`,
    }));
}

/** The cdk-nag acknowledgements of a role's wildcards: resource patterns and action wildcards. */
export function roleAcknowledgements(scope: IConstruct, ceiling: RoleCeiling) {
  const reason = `The ${ceiling.roleClass} role is a ceiling reached only through a session whose policy names the one approved action and resource; the pattern bounds what any approval can reach.`;
  const allows = ceiling.statements.filter((statement) => statement.effect !== iam.Effect.DENY);
  const resources = [...new Set(allows.flatMap((statement) => statement.resources ?? []))]
    .map((resource) => wildcardResource(scope, resource))
    .filter((found) => found.includes('*'))
    .map((found) => ({ id: found, reason }));
  const actions = serviceWildcards(
    allows.flatMap((statement) => statement.actions ?? []),
    `the ${ceiling.roleClass} role's ceiling; each session policy names one action`,
  );
  return [...new Map([...resources, ...actions].map((found) => [found.id, found])).values()];
}

/** Sessions issued before `before` stop working: the revocation STS lacks, as a deny on `aws:TokenIssueTime`. */
export function revocation(before: Date): iam.PolicyStatement {
  return new iam.PolicyStatement({
    sid: 'RevokeOlderSessions',
    effect: iam.Effect.DENY,
    actions: ['*'],
    resources: ['*'],
    conditions: { DateLessThan: { 'aws:TokenIssueTime': before.toISOString() } },
  });
}

/**
 * Narrows who may take `role` to sessions that name their agent: the execute handler sets the
 * agent as the session's source identity (CloudTrail then attributes every call of the session
 * to it, and a session without one is refused) and tags it with the request's tags only.
 * @param tagKeys the only session tags allowed; the execute path's when not given
 */
export function requireAgentSessions(
  role: iam.Role,
  principal: iam.IPrincipal,
  tagKeys: readonly string[] = SESSION_TAG_KEYS,
): void {
  role.assumeRolePolicy?.addStatements(
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
      conditions: { 'ForAllValues:StringEquals': { 'aws:TagKeys': [...tagKeys] } },
    }),
  );
}

/**
 * The boundary's denials that hold in every account: no session touches this system's roles, nor
 * (through `taggedActions`) anything carrying its tag.
 */
export function neverThisSystemsRolesOrTagged(
  partition: string,
  account: string,
  taggedActions: readonly string[],
): iam.PolicyStatement[] {
  return [
    new iam.PolicyStatement({
      sid: 'NeverThisSystemsRoles',
      effect: iam.Effect.DENY,
      actions: ['iam:*'],
      resources: [`arn:${partition}:iam::${account}:role${ROLE_PATH}*`],
    }),
    new iam.PolicyStatement({
      sid: 'NeverThisSystemsTaggedResources',
      effect: iam.Effect.DENY,
      actions: [...taggedActions],
      resources: ['*'],
      conditions: { Null: { [`aws:ResourceTag/${MANAGED_TAG_KEY}`]: 'false' } },
    }),
  ];
}
