import type { ActionRequest } from './types';

export const OUTCOME_SOURCE = 'action-approvals';

export const OUTCOME_DETAIL_TYPES = {
  approved: 'Action Approved',
  denied: 'Action Denied',
  expired: 'Action Expired',
  executed: 'Action Executed',
  /**
   * Approved and run by the local runtime against a stand-in (an in-memory model of the service, or
   * a recorder), not against the service itself: nothing outside this machine changed. Never
   * published in AWS.
   */
  simulated: 'Action Simulated',
  failed: 'Action Failed',
  rejected: 'Action Rejected',
} as const;
export type OutcomeKind = keyof typeof OUTCOME_DETAIL_TYPES;

/** The `detail` of an outcome event: what an agent waiting on its request learns. */
export interface OutcomeDetail {
  readonly requestId: string;
  readonly outcome: OutcomeKind;
  /**
   * The id of the `Action Requested` event a rejection answers: a malformed request may have no
   * usable request id, but its sender always has the event id PutEvents returned.
   */
  readonly eventId?: string;
  readonly agentId?: string;
  readonly operation?: string;
  readonly resource?: string;
  readonly reason?: string;
  readonly reasons?: readonly string[];
  readonly approvers?: readonly string[];
  /** What the executed call returned, summarized by the action catalog. */
  readonly result?: Readonly<Record<string, unknown>>;
  /** The signed approval receipt (compact JWS) of an executed or simulated action. */
  readonly receipt?: string;
}

/** A PutEvents entry, less the bus name, for an outcome. */
export interface OutcomeEvent {
  readonly Source: typeof OUTCOME_SOURCE;
  readonly DetailType: (typeof OUTCOME_DETAIL_TYPES)[OutcomeKind];
  readonly Detail: string;
}

/** The outcome of a known request, naming its agent, operation and resource. */
export function requestOutcome(
  record: { readonly requestId: string; readonly agentId: string; readonly request: ActionRequest },
  outcome: OutcomeKind,
  extra: Omit<OutcomeDetail, 'requestId' | 'outcome' | 'agentId' | 'operation' | 'resource'> = {},
): OutcomeEvent {
  return outcomeEvent({
    requestId: record.requestId,
    outcome,
    agentId: record.agentId,
    operation: record.request.action.operation,
    resource: record.request.action.resource,
    ...extra,
  });
}

export function outcomeEvent(detail: OutcomeDetail): OutcomeEvent {
  return {
    Source: OUTCOME_SOURCE,
    DetailType: OUTCOME_DETAIL_TYPES[detail.outcome],
    Detail: JSON.stringify(detail),
  };
}

/** The error a denial fails the paused task with; the workflow's Catch routes it to publishing. */
export const DENIED_ERROR = 'ActionApprovals.Denied';

/**
 * The error a function fails with when the store did not answer or throttled it, after the SDK's
 * own retries: the workflow retries the task with backoff, as it does Lambda's own failures.
 */
export const STORE_UNAVAILABLE_ERROR = 'ActionApprovals.StoreUnavailable';

/**
 * The error the workflow's failure path fails with while the request is still `executing`: the
 * execute invocation that claimed it, or the stuck-execution sweep after the function's timeout,
 * ends it; the workflow retries the failure path until then, to tell the agent how it ended.
 */
export const STILL_EXECUTING_ERROR = 'ActionApprovals.StillExecuting';
