import type { ApprovalRule, ApprovalState } from './approval';
import type { ChainHead } from './audit';
import type { ChangePreview } from './preview';
import type { ActionRequest } from './types';

export const REQUEST_STATE = {
  awaitingApproval: 'awaiting-approval',
  approved: 'approved',
  denied: 'denied',
  expired: 'expired',
  executing: 'executing',
  executed: 'executed',
  /** Run in local mode against a stand-in instead of the service: see OUTCOME_DETAIL_TYPES. */
  simulated: 'simulated',
  failed: 'failed',
} as const;
export type RequestState = (typeof REQUEST_STATE)[keyof typeof REQUEST_STATE];

/** Which state may follow which: a transition not listed here is a bug or an attack, and is refused. */
// Any open request can fail: the workflow's failure path ends it when a step breaks.
const NEXT_STATES: Readonly<Record<RequestState, readonly RequestState[]>> = {
  'awaiting-approval': ['approved', 'denied', 'expired', 'failed'],
  // A change of parameters after approval is a denial; a workflow that timed out after the
  // approval landed expires it.
  approved: ['executing', 'denied', 'expired', 'failed'],
  executing: ['executed', 'simulated', 'failed'],
  denied: [],
  expired: [],
  executed: [],
  simulated: [],
  failed: [],
};

export function canTransition(from: RequestState, to: RequestState): boolean {
  return NEXT_STATES[from].includes(to);
}

export function isFinal(state: RequestState): boolean {
  return NEXT_STATES[state].length === 0;
}

/** Where a chat card for the request was posted, so it can be updated with the outcome. */
export interface ChatMessageRefs {
  readonly slack?: { readonly channel: string; readonly ts: string };
  readonly teams?: {
    readonly serviceUrl: string;
    readonly conversationId: string;
    readonly activityId: string;
  };
}

/** The server-side state of one request: the Requests table item. */
export interface RequestRecord {
  readonly requestId: string;
  readonly agentId: string;
  readonly state: RequestState;
  /** Bumped on every write; writes are conditional on the version they read. */
  readonly version: number;
  readonly request: ActionRequest;
  readonly policy: {
    readonly outcome: string;
    readonly reason: string;
    readonly policyIds: readonly string[];
  };
  readonly createdAt: string;
  /**
   * The workflow execution that claimed the request (Step Functions' execution ARN): only its own
   * retried Evaluate task carries on from the claim; any other execution is a duplicate.
   */
  readonly executionId?: string;
  /** When approval, and the minted session, stop being valid. */
  readonly expiresAt: string;
  readonly rule?: ApprovalRule;
  readonly approval?: ApprovalState;
  /** The Step Functions task token: read only by the decision path, never sent anywhere else. */
  readonly taskToken?: string;
  readonly messages?: ChatMessageRefs;
  readonly outcomeReason?: string;
  /** What the action would change, read before reviewers decide; absent for actions without a preview. */
  readonly preview?: ChangePreview;
  /**
   * Set when IAM cannot limit the action to one resource and the deciding policy allowed it
   * (`@allowUnscopedResource("true")`): the session may act on any resource, and cards say so.
   */
  readonly unscopedResource?: true;
  /**
   * When the execute function claimed the request (`approved → executing`): a request still
   * `executing` well after the function's timeout was left behind by an invocation that died.
   */
  readonly executingSince?: string;
  /**
   * Set when the stuck-execution sweep ended the request: the sweep told the agent itself, so the
   * workflow, whose failure path may be waiting for the same request, does not tell it again.
   */
  readonly toldBy?: 'sweep';
  /** The last record of the request's audit chain, written in the same transaction as this item. */
  readonly auditHead?: ChainHead;
}
