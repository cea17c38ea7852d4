import type { Vote } from '../../lambdas/core/approval';
import type { AuditRecord, ChainVerification } from '../../lambdas/core/audit';
import { approvalCard, type ApprovalCard } from '../../lambdas/core/card';
import { Directory, type DirectoryConfig } from '../../lambdas/core/directory';
import type { RequestRecord, RequestState } from '../../lambdas/core/lifecycle';

/**
 * What the console shows about a request. Built field by field from the record, never by
 * spreading it, so server-side fields (the task token above all) cannot leak into a response.
 */
export interface RequestView extends ApprovalCard {
  readonly state: RequestState;
  readonly createdAt: string;
  readonly policyOutcome: string;
  /** Counted votes in arrival order; refused votes are in the audit timeline. */
  readonly votes: readonly Pick<Vote, 'reviewer' | 'decision' | 'at' | 'channel'>[];
  readonly outcomeReason?: string;
}

export interface RequestDetailView extends RequestView {
  readonly timeline: { readonly records: readonly AuditRecord[]; readonly verification: ChainVerification };
}

export interface ReviewerView {
  readonly id: string;
  readonly groups: readonly string[];
}

export function requestView(record: RequestRecord): RequestView {
  return {
    ...approvalCard(record),
    state: record.state,
    createdAt: record.createdAt,
    policyOutcome: record.policy.outcome,
    votes: (record.approval?.votes ?? []).map(({ reviewer, decision, at, channel }) => ({
      reviewer,
      decision,
      at,
      channel,
    })),
    ...(record.outcomeReason ? { outcomeReason: record.outcomeReason } : {}),
  };
}

/**
 * The reviewers of the directory the handlers were configured with. `Directory` answers lookups
 * but does not list its reviewers, so the same JSON is validated with `Directory.parse` and read
 * directly; only ids and groups are shown, chat identities stay out of the page.
 */
export function directoryReviewers(directoryJson: string): ReviewerView[] {
  const raw: unknown = JSON.parse(directoryJson);
  const parsed = Directory.parse(raw);
  if (!parsed.ok) throw new Error(parsed.error);
  // The schema has no defaults or transforms, so input that validates is the config as parsed.
  return (raw as DirectoryConfig).reviewers.map(({ id, groups }) => ({ id, groups }));
}
