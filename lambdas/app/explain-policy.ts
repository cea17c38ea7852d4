import type { Directory } from '../core/directory';
import type { PolicyDecision } from '../core/policy';
import { ACTION_REQUESTED, AGENT_SOURCE_PREFIX, parseActionRequest } from '../core/request';
import type { IamReference } from '../core/types';
import { policyDecisionOn, type EvaluateDeps } from './evaluate';
import type { Clock, PolicyEvaluator } from './ports';

export interface ExplainDeps {
  readonly iam: IamReference;
  readonly policy: PolicyEvaluator;
  readonly directory: Directory;
  readonly clock: Clock;
  readonly maxApprovalTtlSeconds?: EvaluateDeps['maxApprovalTtlSeconds'];
}

export interface ExplainQuery {
  readonly agentId: string;
  readonly operation: string;
  readonly resource: string;
  /** When given, also checked as Evaluate checks them. */
  readonly parameters?: Readonly<Record<string, unknown>>;
  readonly ttlSeconds?: number;
}

/** What asking would lead to: the policy's decision, or why the request would be rejected. */
export type PolicyExplanation =
  | (PolicyDecision & { readonly environment: string })
  | { readonly outcome: 'rejected'; readonly reasons: readonly string[] };

/**
 * What the policy would decide for an action, without asking for it: the request goes through
 * the same validation and the same Cedar evaluation as Evaluate, and nothing is written.
 */
export async function explainPolicy(query: ExplainQuery, deps: ExplainDeps): Promise<PolicyExplanation> {
  const parameters = query.parameters ?? {};
  const parsed = await parseActionRequest(
    {
      source: `${AGENT_SOURCE_PREFIX}${query.agentId}`,
      'detail-type': ACTION_REQUESTED,
      time: deps.clock.now().toISOString(),
      detail: {
        requestId: 'explain-policy',
        action: { operation: query.operation, resource: query.resource, parameters },
        justification: 'What would the policy decide?',
        ...(query.ttlSeconds === undefined ? {} : { ttlSeconds: query.ttlSeconds }),
      },
    },
    deps.iam,
  );
  if (!parsed.ok) return { outcome: 'rejected', reasons: parsed.error.reasons };
  const { decision, environment, runnable } = await policyDecisionOn(parsed.value, deps);
  // With parameters, the same check Evaluate makes that the call could run at all.
  if (query.parameters && runnable.reasons.length > 0)
    return { outcome: 'rejected', reasons: runnable.reasons };
  return { ...decision, environment };
}
