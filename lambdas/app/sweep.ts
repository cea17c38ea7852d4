import type { RequestRecord } from '../core/lifecycle';
import { requestOutcome } from '../core/outcome';
import type { OutcomePublisher, RequestPathDeps } from './ports';
import { onLatest } from './retry';

export interface SweepDeps extends Pick<RequestPathDeps, 'requests' | 'clock'> {
  readonly publisher: OutcomePublisher;
  /**
   * How long after its claim an execution is certainly over: longer than the execute function's
   * timeout, so no invocation that could still finish is ever cut short.
   */
  readonly stuckAfterSeconds: number;
}

export interface SweepResult {
  /** The requests this sweep ended as failed. */
  readonly failed: readonly string[];
}

const SWEEP = { kind: 'system', id: 'sweep' } as const;

/**
 * Ends the requests an execute invocation left in `executing` when it died between its claim and
 * its final write: each becomes `failed`, with a terminal audit record, and its agent is told. The
 * action is never run again: `executing` can only move on to `executed` or `failed`, and the
 * conditional write that ends it here fails if anyone else wrote the request since it was read.
 */
export async function sweepStuckExecutions(deps: SweepDeps): Promise<SweepResult> {
  const now = deps.clock.now();
  const cutoff = new Date(now.getTime() - deps.stuckAfterSeconds * 1000);
  const failed: string[] = [];
  for (const requestId of await deps.requests.executingSince(cutoff)) {
    const ended = await onLatest(deps.requests, requestId, async (record) =>
      isStuck(record, cutoff) ? endStuck(record, now, deps) : undefined,
    );
    if (!ended) continue;
    await deps.publisher.publish(
      requestOutcome(ended, 'failed', { reason: ended.outcomeReason ?? STUCK_REASON }),
    );
    failed.push(requestId);
  }
  return { failed };
}

const STUCK_REASON = 'the execution stopped before recording its result';

// The index is read without consistency: the request itself says whether it is still stuck.
const isStuck = (record: RequestRecord, cutoff: Date): boolean =>
  record.state === 'executing' &&
  record.executingSince !== undefined &&
  Date.parse(record.executingSince) < cutoff.getTime();

async function endStuck(record: RequestRecord, now: Date, deps: SweepDeps): Promise<RequestRecord> {
  return deps.requests.save(record, { state: 'failed', outcomeReason: STUCK_REASON, toldBy: 'sweep' }, [
    {
      requestId: record.requestId,
      at: now.toISOString(),
      type: 'failed',
      actor: SWEEP,
      parametersHash: record.request.parametersHash,
      details: {
        stage: 'sweep',
        reason: STUCK_REASON,
        previousState: record.state,
        executingSince: record.executingSince ?? null,
        stuckAfterSeconds: deps.stuckAfterSeconds,
      },
    },
  ]);
}
