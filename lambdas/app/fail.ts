import { randomUUID } from 'node:crypto';
import { isFinal, type RequestRecord } from '../core/lifecycle';
import { outcomeEvent, requestOutcome, type OutcomeEvent, type OutcomeKind } from '../core/outcome';
import type { RequestPathDeps } from './ports';
import { StillExecutingError, StoreUnavailableError } from './errors';
import { onLatest } from './retry';

/** A fallback for a store call that failed for good; a store unavailable for now is rethrown. */
const unlessPassing =
  <T>(fallback: T) =>
  (error: unknown): T => {
    if (error instanceof StoreUnavailableError) throw error;
    return fallback;
  };

/** What the workflow's failure path hands over: its state when a step broke, and its input. */
export interface FailureInput {
  /**
   * The state at the failure, plus `error`. After Evaluate it is Evaluate's answer, whose
   * `requestId` is the request this execution claimed; when Evaluate itself broke it is the
   * event, which (an EventBridge envelope) has no top-level `requestId`: nothing was claimed.
   */
  readonly state?: { readonly requestId?: unknown; readonly error?: { readonly Error?: unknown } };
  /** The `Action Requested` event the execution started with: its request id is only a claim. */
  readonly event?: {
    readonly id?: unknown;
    readonly source?: unknown;
    readonly detail?: { readonly requestId?: unknown };
  };
}

export interface FailureResult {
  readonly requestId: string;
  readonly outcome: OutcomeKind;
  /** The agent's outcome event; absent when the agent was already told (by the sweep). */
  readonly publish?: OutcomeEvent;
}

const FINAL_OUTCOMES: Readonly<Record<string, OutcomeKind>> = {
  denied: 'denied',
  expired: 'expired',
  executed: 'executed',
  simulated: 'simulated',
  failed: 'failed',
};

/**
 * The workflow's failure path: a step broke (a handler bug, a service outage), so the request ends
 * as `failed` with a terminal audit record, and its agent is told. A request that already ended
 * keeps its end; one that was never claimed gets a chain of its own.
 *
 * A request in `executing` is not this path's to end: the execute invocation that claimed it may
 * still be running (its task was retried while it ran) and the action may yet run. It is ended by
 * that invocation, or by the stuck-execution sweep once the function's timeout is certainly over;
 * until then this path fails with StillExecutingError, which the workflow retries, and then tells
 * the agent how the request ended, unless the sweep already did.
 *
 * @throws StillExecutingError while the claimed request is executing.
 */
export async function failRequest(input: FailureInput, deps: RequestPathDeps): Promise<FailureResult> {
  const error = typeof input.state?.error?.Error === 'string' ? input.state.error.Error : 'unknown';
  // Only the error's name: its cause may quote the request.
  const reason = `the workflow failed: ${error}`;
  // Only the id Evaluate answered with is this execution's claim. The event's own request id is
  // what the agent asked for: another agent's request may already hold it.
  const claimed = typeof input.state?.requestId === 'string' ? input.state.requestId : undefined;
  const asked = typeof input.event?.detail?.requestId === 'string' ? input.event.detail.requestId : undefined;
  const source = typeof input.event?.source === 'string' ? input.event.source : '';
  const agentId = source.startsWith('agent.') ? source.slice('agent.'.length) : undefined;
  const at = deps.clock.now().toISOString();

  // The failure being handled may be the Requests table itself: then the request is treated as
  // unknown, and its end is recorded beside it (a chain that exists is never written into). A
  // store that is only unavailable for now is not: this task fails too, and the workflow retries
  // it until the request can be ended where it is.
  const found = claimed ? await deps.requests.get(claimed).catch(unlessPassing(undefined)) : undefined;
  // A claimed request is the execution's agent's own; a record of another agent's is not touched.
  const existing = found && found.agentId === agentId ? found : undefined;
  if (existing) {
    const ended = await onLatest(
      deps.requests,
      existing.requestId,
      async (record): Promise<RequestRecord> => {
        if (isFinal(record.state)) return record;
        if (record.state === 'executing') throw new StillExecutingError(record.requestId);
        return deps.requests.save(record, { state: 'failed', outcomeReason: reason }, [
          {
            requestId: record.requestId,
            at,
            type: 'failed',
            actor: { kind: 'system', id: 'workflow' },
            parametersHash: record.request.parametersHash,
            details: { stage: 'workflow', error, reason, previousState: record.state },
          },
        ]);
      },
    );
    const outcome = FINAL_OUTCOMES[ended.state] ?? 'failed';
    if (ended.toldBy === 'sweep') return { requestId: ended.requestId, outcome };
    return {
      requestId: ended.requestId,
      outcome,
      publish: requestOutcome(ended, outcome, { reason: ended.outcomeReason ?? reason }),
    };
  }

  const eventId = typeof input.event?.id === 'string' ? input.event.id : randomUUID();
  // A chain is only ever started here, never appended to: a claimed id whose request could not be
  // read is tried first (its chain, if it exists, refuses the start), then the event's own.
  const candidates = [found ? undefined : claimed, `failed-${eventId}`].filter(
    (id): id is string => id !== undefined,
  );
  let requestId = candidates[candidates.length - 1];
  for (const candidate of candidates) {
    const started = await deps.audit
      .start({
        requestId: candidate,
        at,
        type: 'failed',
        actor: agentId ? { kind: 'agent', id: agentId } : { kind: 'system', id: 'workflow' },
        details: {
          stage: 'workflow',
          error,
          reason,
          eventId,
          ...(asked ? { claimedRequestId: asked } : {}),
        },
      })
      // Unrecordable (the audit table is broken too): the agent is still told, and the failed
      // execution raises the alarm.
      .catch(unlessPassing(false));
    if (started) {
      requestId = candidate;
      break;
    }
  }
  return {
    requestId,
    outcome: 'failed',
    publish: outcomeEvent({ requestId, outcome: 'failed', reason, eventId, ...(agentId ? { agentId } : {}) }),
  };
}
