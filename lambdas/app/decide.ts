import { randomUUID } from 'node:crypto';
import { approvers, castVote, initialApprovalState, type VoteDecision } from '../core/approval';
import { approvalCard, type ApprovalCard, type CardOutcome } from '../core/card';
import { identitiesOfReviewer, type Reviewer } from '../core/directory';
import type { RequestRecord } from '../core/lifecycle';
import { requestOutcome } from '../core/outcome';
import { updateCards } from './cards';
import { WorkflowGoneError } from './errors';
import type { ApprovalNotifier, OutcomePublisher, RequestPathDeps, WorkflowCallbacks } from './ports';
import { onLatest } from './retry';

export interface DecideDeps extends RequestPathDeps {
  readonly callbacks: WorkflowCallbacks;
  readonly publisher: OutcomePublisher;
  readonly notifiers: readonly ApprovalNotifier[];
  readonly onNotifierError: (channel: string, error: unknown) => void;
}

/** A reviewer's answer as a channel received it, after the channel authenticated the caller. */
export interface BallotInput {
  readonly requestId: string;
  readonly channel: 'slack' | 'teams' | 'api' | 'console';
  /** The caller as the channel knows it (Slack user id, AAD object id, IAM ARN), for the record. */
  readonly caller: string;
  /** The directory's reviewer for that caller; undefined when the caller is nobody we know. */
  readonly reviewer: Reviewer | undefined;
  readonly decision: VoteDecision;
}

export type BallotResult =
  | { readonly kind: 'refused'; readonly code: string; readonly reason: string; readonly card?: ApprovalCard }
  | {
      readonly kind: 'counted';
      readonly card: ApprovalCard;
      readonly outcome: CardOutcome;
    };

/**
 * The one decision path for every channel: counts a vote under the request's approval rule and,
 * when the vote decides, resumes the workflow. Refused votes change nothing but are recorded.
 */
export async function castBallot(input: BallotInput, deps: DecideDeps): Promise<BallotResult> {
  const at = deps.clock.now().toISOString();
  const existing = await deps.requests.get(input.requestId);
  if (!existing)
    return refuseOutsideChain(input, at, 'unknown-request', `no request ${input.requestId}`, deps);
  if (!input.reviewer) {
    return refuseOutsideChain(
      input,
      at,
      'unknown-reviewer',
      `${input.caller} is not a registered reviewer`,
      deps,
    );
  }
  const reviewer = input.reviewer;

  const outcome = await onLatest(deps.requests, input.requestId, async (record) => {
    if (record.state !== 'awaiting-approval' || !record.rule || !record.taskToken) {
      return { record, refusal: { code: 'not-awaiting-approval', reason: `the request is ${record.state}` } };
    }
    const vote = {
      reviewer: reviewer.id,
      groups: reviewer.groups,
      decision: input.decision,
      at,
      channel: input.channel,
    };
    // Compared by every identity either side has, so an owner listed by e-mail is still barred
    // when voting as their IAM principal, and a reviewer who is the agent's role cannot approve it.
    const counted = castVote(record.approval ?? initialApprovalState, vote, record.rule, {
      voter: [input.caller, ...identitiesOfReviewer(reviewer)],
      ...deps.directory.barredFrom(record.agentId, record.rule),
    });
    const voteRecord = {
      requestId: record.requestId,
      at,
      type: 'vote' as const,
      actor: { kind: 'reviewer' as const, id: reviewer.id },
      parametersHash: record.request.parametersHash,
      details: {
        decision: input.decision,
        channel: input.channel,
        caller: input.caller,
        ...(counted.ok
          ? { counted: true }
          : { counted: false, refusal: counted.error.code, reason: counted.error.reason }),
      },
    };
    if (!counted.ok) {
      return { record: await deps.requests.save(record, {}, [voteRecord]), refusal: counted.error };
    }
    const approval = counted.value;
    if (approval.status === 'pending') {
      return { record: await deps.requests.save(record, { approval }, [voteRecord]) };
    }
    const decidedBy = approval.status === 'approved' ? approvers(approval) : [reviewer.id];
    const decided = await deps.requests.save(
      record,
      {
        approval,
        state: approval.status,
        ...(approval.status === 'denied' ? { outcomeReason: `denied by ${reviewer.id}` } : {}),
      },
      [
        voteRecord,
        {
          requestId: record.requestId,
          at,
          type: approval.status,
          actor: { kind: 'reviewer', id: reviewer.id },
          parametersHash: record.request.parametersHash,
          details: { reviewers: decidedBy, quorum: record.rule.quorum },
        },
      ],
    );
    return { record: decided, decidedBy };
  });

  const card = approvalCard(outcome.record);
  if ('refusal' in outcome && outcome.refusal) {
    // A decided request's chain has ended; a late vote is recorded beside it, not after its end.
    if (outcome.refusal.code === 'not-awaiting-approval') {
      return {
        ...(await refuseOutsideChain(input, at, outcome.refusal.code, outcome.refusal.reason, deps)),
        card,
      };
    }
    return { kind: 'refused', ...outcome.refusal, card };
  }

  const cardOutcome = describeProgress(outcome.record);
  if ('decidedBy' in outcome && outcome.decidedBy)
    await resumeWorkflow(outcome.record, outcome.decidedBy, deps);
  await updateCards(outcome.record, card, cardOutcome, deps);
  return { kind: 'counted', card, outcome: cardOutcome };
}

function describeProgress(record: RequestRecord): CardOutcome {
  const votes = record.approval?.votes ?? [];
  if (record.state === 'denied') {
    return { status: 'denied', reviewers: votes.filter((v) => v.decision === 'deny').map((v) => v.reviewer) };
  }
  const approved = votes.filter((v) => v.decision === 'approve').map((v) => v.reviewer);
  if (record.state === 'approved') return { status: 'approved', reviewers: approved };
  return {
    status: 'pending',
    reviewers: approved,
    note: `${approved.length} of ${record.rule?.quorum ?? 1} approvals`,
  };
}

async function resumeWorkflow(
  record: RequestRecord,
  decidedBy: readonly string[],
  deps: DecideDeps,
): Promise<void> {
  const taskToken = record.taskToken as string;
  try {
    if (record.state === 'approved') {
      await deps.callbacks.approve(taskToken, {
        requestId: record.requestId,
        approvers: [...decidedBy],
        decidedAt: record.approval?.decidedAt ?? null,
      });
      await deps.publisher.publish(requestOutcome(record, 'approved', { approvers: decidedBy }));
    } else {
      const cause = requestOutcome(record, 'denied', {
        approvers: decidedBy,
        reason: record.outcomeReason ?? 'denied by a reviewer',
      });
      await deps.callbacks.deny(taskToken, JSON.stringify(cause));
    }
  } catch (error) {
    // The workflow timed out between the vote and the callback: its expiry path reads the
    // decided state and ends the request, so nothing is lost.
    if (!(error instanceof WorkflowGoneError)) throw error;
  }
}

/**
 * A refused vote that belongs to no open request (unknown request, unknown reviewer) is recorded
 * in a chain of its own, so it can neither be lost nor squat on a request id nobody has used yet.
 */
async function refuseOutsideChain(
  input: BallotInput,
  at: string,
  code: string,
  reason: string,
  deps: DecideDeps,
): Promise<BallotResult> {
  await deps.audit.start({
    requestId: `refused-vote-${randomUUID()}`,
    at,
    type: 'rejected',
    actor: input.reviewer
      ? { kind: 'reviewer', id: input.reviewer.id }
      : { kind: 'system', id: `${input.channel}:${input.caller}` },
    details: {
      kind: 'vote',
      refusal: code,
      reason,
      claimedRequestId: input.requestId,
      decision: input.decision,
      channel: input.channel,
    },
  });
  return { kind: 'refused', code, reason };
}
