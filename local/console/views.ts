import type { Vote } from '../../lambdas/core/approval';
import type { AuditRecord, ChainVerification, JsonValue } from '../../lambdas/core/audit';
import {
  approvalCard,
  type ApprovalCard,
  type CardOutcome,
  type ParameterLine,
} from '../../lambdas/core/card';
import type { Directory } from '../../lambdas/core/directory';
import type { RequestRecord, RequestState } from '../../lambdas/core/lifecycle';
import { PREVIEW_TITLES } from '../../lambdas/core/preview';

/**
 * What the console shows about a request. Built field by field from the record, never by
 * spreading it, so server-side fields (the task token above all) cannot leak into a response.
 * From the card it carries `parameters`: every top-level parameter as `{ key, value, risky? }`,
 * `value` the whole value as pretty JSON and `risky` the reason to read it carefully; the page
 * must show them all, uncut, before offering Approve (`parameterSummary` is only the glance).
 */
export interface RequestView extends ApprovalCard {
  readonly state: RequestState;
  readonly createdAt: string;
  readonly policyOutcome: string;
  /** Counted votes in arrival order; refused votes are in the audit timeline. */
  readonly votes: readonly Pick<Vote, 'reviewer' | 'decision' | 'at' | 'channel'>[];
  readonly outcomeReason?: string;
  /** The heading of the card's preview, when one could be read. */
  readonly previewTitle?: string;
}

/** One parameter, key and whole value, with the reason to read it twice when it has one. */
export type ParameterView = ParameterLine;

export interface RequestDetailView extends RequestView {
  readonly timeline: {
    readonly records: readonly AuditRecord[];
    readonly verification: ChainVerification;
    /** For a simulated request: the local stand-in that answered, and what it holds now. */
    readonly standIn?: StandInView;
  };
}

/** What a local stand-in holds of a request's resource (a security group, a service, the recorded calls). */
export interface StandInView {
  readonly name: string;
  readonly state: JsonValue;
}

/** Shown in the page's header so nobody mistakes a local session for real AWS, or the reverse. */
export interface ModeLabels {
  /** e.g. `local STS + IAM policy simulator` or `AWS STS`. */
  readonly sts: string;
  /** Where reviewers are asked: the console, plus Slack and/or Teams when configured. */
  readonly channels: readonly string[];
}

/** What the decision route answers to a vote, as far as the page reads it (errors aside). */
export type DecisionAnswer =
  | { readonly kind: 'counted'; readonly outcome: CardOutcome }
  | { readonly kind: 'refused'; readonly code: string; readonly reason: string };

export interface ReviewerView {
  readonly id: string;
  readonly groups: readonly string[];
}

export function requestView(record: RequestRecord): RequestView {
  const card = approvalCard(record);
  return {
    ...card,
    ...(card.preview?.status === 'available' ? { previewTitle: PREVIEW_TITLES[card.preview.kind] } : {}),
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

/** The directory's reviewers as the page shows them: ids and groups, never chat identities. */
export function reviewerViews(directory: Directory): ReviewerView[] {
  return directory.reviewers().map(({ id, groups }) => ({ id, groups }));
}
