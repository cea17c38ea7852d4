import { approvalCard } from '../core/card';
import { requestOutcome, type OutcomeEvent } from '../core/outcome';
import { updateCards } from './cards';
import type { ApprovalNotifier, RequestPathDeps } from './ports';
import { onLatest } from './retry';

export interface ExpireDeps extends RequestPathDeps {
  readonly notifiers: readonly ApprovalNotifier[];
  readonly onNotifierError: (channel: string, error: unknown) => void;
}

export interface ExpireResult {
  readonly requestId: string;
  readonly outcome: 'expired' | 'denied';
  readonly publish: OutcomeEvent;
}

/**
 * The workflow's timeout path: nothing runs. A request whose denial landed just before the
 * timeout stays denied; one whose approval landed but never reached the workflow expires.
 */
export async function expireRequest(
  input: { readonly requestId: string },
  deps: ExpireDeps,
): Promise<ExpireResult> {
  const at = deps.clock.now().toISOString();
  const record = await onLatest(deps.requests, input.requestId, async (current) => {
    if (current.state === 'denied' || current.state === 'expired') return current;
    return deps.requests.save(
      current,
      { state: 'expired', outcomeReason: `no decision before ${current.expiresAt}` },
      [
        {
          requestId: current.requestId,
          at,
          type: 'expired',
          actor: { kind: 'system', id: 'expire' },
          parametersHash: current.request.parametersHash,
          details: {
            expiresAt: current.expiresAt,
            votes: (current.approval?.votes ?? []).map((vote) => vote.reviewer),
          },
        },
      ],
    );
  });
  const outcome = record.state === 'denied' ? 'denied' : 'expired';
  await updateCards(record, approvalCard(record), { status: outcome, reviewers: [] }, deps);
  return {
    requestId: record.requestId,
    outcome,
    publish: requestOutcome(record, outcome, { reason: record.outcomeReason ?? outcome }),
  };
}
