import { sameIdentity } from './identity';
import { err, ok, type Result } from './result';

export const VOTE_DECISIONS = ['approve', 'deny'] as const;
export type VoteDecision = (typeof VOTE_DECISIONS)[number];

export const APPROVAL_STATUS = { pending: 'pending', approved: 'approved', denied: 'denied' } as const;
export type ApprovalStatus = (typeof APPROVAL_STATUS)[keyof typeof APPROVAL_STATUS];

/** Who may decide, how many must agree, and who may never count. */
export interface ApprovalRule {
  readonly quorum: number;
  /** A reviewer must belong to at least one of these groups. */
  readonly approverGroups: readonly string[];
  readonly expiresAt: string;
  /** The agent that asked; its identity can never approve. */
  readonly requesterId: string;
  /** The agent's registered owners: they can stop their agent but never approve for it. */
  readonly ownerIds: readonly string[];
}

export interface Vote {
  /** A real identity (e-mail, IAM principal ARN) resolved by the channel, never a display name. */
  readonly reviewer: string;
  readonly groups: readonly string[];
  readonly decision: VoteDecision;
  readonly at: string;
  readonly channel: 'slack' | 'teams' | 'api' | 'console';
}

export interface ApprovalState {
  readonly status: ApprovalStatus;
  /** Counted votes, in arrival order. */
  readonly votes: readonly Vote[];
  readonly decidedAt?: string;
}

export const REFUSAL = {
  selfApproval: 'self-approval',
  ownerApproval: 'owner-approval',
  notAnApprover: 'not-an-approver',
  duplicateVote: 'duplicate-vote',
  expired: 'expired',
  alreadyDecided: 'already-decided',
} as const;
export type RefusalCode = (typeof REFUSAL)[keyof typeof REFUSAL];

export interface VoteRefusal {
  readonly code: RefusalCode;
  readonly reason: string;
}

export const initialApprovalState: ApprovalState = { status: APPROVAL_STATUS.pending, votes: [] };

/**
 * Every identity each side resolves to through the directory (audit id, chat users, IAM
 * principals): a person is barred by any of them, not only by the one they voted with.
 */
export interface ResolvedIdentities {
  /** The voting reviewer's identities and the caller the channel authenticated. */
  readonly voter: readonly string[];
  /** The requesting agent and the IAM principals it runs as. */
  readonly requester: readonly string[];
  /** Every identity of every owner of the agent. */
  readonly owners: readonly string[];
}

/**
 * Counts one vote. A single deny ends the request; approvals from distinct eligible reviewers
 * accumulate until the quorum is met. Refused votes change nothing. Without `identities`, each
 * side is only the name the vote and the rule give.
 */
export function castVote(
  state: ApprovalState,
  vote: Vote,
  rule: ApprovalRule,
  identities: ResolvedIdentities = {
    voter: [vote.reviewer],
    requester: [rule.requesterId],
    owners: rule.ownerIds,
  },
): Result<ApprovalState, VoteRefusal> {
  const voter = [vote.reviewer, ...identities.voter];
  const isAnyOf = (names: readonly string[]): boolean =>
    voter.some((identity) => names.some((name) => sameIdentity(identity, name)));
  const refuse = (code: RefusalCode, reason: string) => err({ code, reason });
  if (state.status !== APPROVAL_STATUS.pending) {
    return refuse(REFUSAL.alreadyDecided, `the request was already ${state.status}`);
  }
  if (Date.parse(vote.at) >= Date.parse(rule.expiresAt)) {
    return refuse(REFUSAL.expired, `the request expired at ${rule.expiresAt}`);
  }
  if (vote.decision === 'approve' && isAnyOf([rule.requesterId, ...identities.requester])) {
    return refuse(REFUSAL.selfApproval, 'the requester cannot approve its own request');
  }
  const isOwner = isAnyOf([...rule.ownerIds, ...identities.owners]);
  if (vote.decision === 'approve' && isOwner) {
    return refuse(
      REFUSAL.ownerApproval,
      `${vote.reviewer} owns the requesting agent and cannot approve for it`,
    );
  }
  if (!isOwner && !vote.groups.some((group) => rule.approverGroups.includes(group))) {
    return refuse(REFUSAL.notAnApprover, `${vote.reviewer} is not in ${rule.approverGroups.join(' or ')}`);
  }
  if (state.votes.some((counted) => sameIdentity(counted.reviewer, vote.reviewer))) {
    return refuse(REFUSAL.duplicateVote, `${vote.reviewer} has already voted`);
  }

  const votes = [...state.votes, vote];
  if (vote.decision === 'deny') return ok({ status: APPROVAL_STATUS.denied, votes, decidedAt: vote.at });
  const approvals = votes.filter((counted) => counted.decision === 'approve').length;
  if (approvals >= rule.quorum) return ok({ status: APPROVAL_STATUS.approved, votes, decidedAt: vote.at });
  return ok({ status: APPROVAL_STATUS.pending, votes });
}

/** The reviewers whose approvals decided the request. */
export function approvers(state: ApprovalState): string[] {
  return state.votes.filter((vote) => vote.decision === 'approve').map((vote) => vote.reviewer);
}
