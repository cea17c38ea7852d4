import { arnTemplateMatcher } from './arn-template';
import { err, ok, type Result } from './result';
import {
  buildSessionPolicy,
  type CompanionStatement,
  type SessionPolicyDocument,
  type SessionPolicyError,
} from './session-policy';
import type { IamActionInfo, RequestedCompanion } from './types';

/** The words every surface shows when the session cannot be limited to the approved resource. */
export const UNSCOPED_RESOURCE_WARNING =
  'IAM cannot limit this action to one resource: the session may make this call on any resource the execution role reaches.';

export const DerivedSessionRefusal = {
  UnscopedAction: 'unscoped-action',
  ResourceTypeMismatch: 'resource-type-mismatch',
  UnknownCompanion: 'unknown-companion',
  CompanionResourceMismatch: 'companion-resource-mismatch',
  SessionPolicy: 'session-policy',
} as const;
export type DerivedSessionRefusal = (typeof DerivedSessionRefusal)[keyof typeof DerivedSessionRefusal];

export interface DerivedSessionError {
  readonly reason: DerivedSessionRefusal | SessionPolicyError['reason'];
  readonly message: string;
}

/** A companion the agent listed, with what IAM's reference says of its action (undefined: no such action). */
export interface CheckedCompanion {
  readonly companion: RequestedCompanion;
  readonly info: IamActionInfo | undefined;
}

export interface DerivedSessionInput {
  /** IAM's reference entry of the approved action. */
  readonly action: IamActionInfo;
  /** The approved ARN. */
  readonly resource: string;
  /** The approval's expiry: the session stops working then. */
  readonly notAfter: Date | string;
  /** Whether the deciding policy allowed an action IAM cannot scope, with `@allowUnscopedResource("true")`. */
  readonly allowUnscopedResource: boolean;
  /** The companions the agent listed, looked up in IAM's reference. */
  readonly companions: readonly CheckedCompanion[];
}

export interface DerivedSession {
  readonly policy: SessionPolicyDocument;
  /** True when IAM cannot limit the action to the approved resource (the policy's Resource is `*`). */
  readonly unscoped: boolean;
}

/** Whether IAM can limit the action to one resource: it can when the action has a resource type. */
export function isScopable(action: IamActionInfo): boolean {
  return action.resourceArnTemplates.length > 0;
}

/**
 * Why the approved action cannot run on the generic path with a derived session, or undefined
 * when it can: an action IAM cannot scope needs the policy's explicit leave, and a scopable one
 * must name a resource of a type it accepts.
 */
export function scopeRefusal(
  action: IamActionInfo,
  resource: string,
  allowUnscopedResource: boolean,
): DerivedSessionError | undefined {
  if (!isScopable(action)) {
    return allowUnscopedResource
      ? undefined
      : {
          reason: DerivedSessionRefusal.UnscopedAction,
          message: `${action.name} has no resource-level permission, so IAM cannot limit it to one resource; a policy must allow that with @allowUnscopedResource("true")`,
        };
  }
  if (!acceptsResource(action, resource)) {
    return {
      reason: DerivedSessionRefusal.ResourceTypeMismatch,
      message: `${JSON.stringify(resource)} is not a resource type that ${action.name} accepts`,
    };
  }
  return undefined;
}

/**
 * Why each listed companion cannot be granted, one line each: its action must exist in IAM's
 * reference and accept resources, and its resource must be of a type that action accepts. The
 * agent names companions, so unlike the catalog's they are never unscoped.
 */
export function companionRefusals(companions: readonly CheckedCompanion[]): string[] {
  return companions.flatMap(({ companion, info }, index) => {
    const where = `companion ${index + 1} (${companion.action})`;
    if (!info) return [`${where}: not an IAM action`];
    if (!isScopable(info)) return [`${where}: IAM cannot limit ${info.name} to one resource`];
    if (!acceptsResource(info, companion.resource)) {
      return [
        `${where}: ${JSON.stringify(companion.resource)} is not a resource type that ${info.name} accepts`,
      ];
    }
    return [];
  });
}

/**
 * The session of a generic action: that one action on the approved ARN (or on `*`, for an action
 * IAM cannot scope that a policy allowed), each listed companion on its own ARN, all until the
 * approval's expiry.
 */
export function deriveSession(input: DerivedSessionInput): Result<DerivedSession, DerivedSessionError> {
  const refusal = scopeRefusal(input.action, input.resource, input.allowUnscopedResource);
  if (refusal) return err(refusal);
  const companionProblems = companionRefusals(input.companions);
  if (companionProblems.length > 0) {
    const unknown = input.companions.some(({ info }) => info === undefined);
    return err({
      reason: unknown
        ? DerivedSessionRefusal.UnknownCompanion
        : DerivedSessionRefusal.CompanionResourceMismatch,
      message: companionProblems.join('; '),
    });
  }
  const unscoped = !isScopable(input.action);
  const companions: CompanionStatement[] = input.companions.map(({ companion, info }) => ({
    actions: [info?.name ?? companion.action],
    resources: [companion.resource],
  }));
  const policy = buildSessionPolicy({
    operation: input.action.name,
    resource: input.resource,
    notAfter: input.notAfter,
    companions,
    ...(unscoped ? { anyResource: true } : {}),
  });
  if (!policy.ok) return policy;
  return ok({ policy: policy.value, unscoped });
}

function acceptsResource(action: IamActionInfo, resource: string): boolean {
  return action.resourceArnTemplates.some((template) => arnTemplateMatcher(template).test(resource));
}
