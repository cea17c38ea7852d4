import type { ActionOutcome } from '../client';
import type { LocalRuntime } from './runtime';
import { sampleRequests, seedSampleOrders, writeSampleReport } from './samples';

/** The agent the samples are sent as; the sample directory knows its owner. */
export const SAMPLE_AGENT_ID = 'reporting-bot';

/**
 * The sample agent `npm start` runs: it prepares what the three sample actions touch (the staging
 * report and the `orders` table), then submits the requests, each id suffixed with `run` so that a
 * persisted runtime accepts them again, and says what it learned of each outcome.
 */
export async function runSampleAgent(
  local: LocalRuntime,
  dataDir: string,
  say: (line: string) => void,
  run: string = Date.now().toString(36),
): Promise<ActionOutcome[]> {
  await writeSampleReport(dataDir);
  await seedSampleOrders(local.tables);
  const agent = local.agentClient(SAMPLE_AGENT_ID);
  say(`sample agent "${SAMPLE_AGENT_ID}" submits three requests:`);
  return Promise.all(
    sampleRequests(new Date()).map(async ({ detail: { requestId, action, justification } }) => {
      const outcome = await agent.requestAction(
        { agentId: SAMPLE_AGENT_ID, requestId: `${requestId}-${run}`, ...action, justification },
        60 * 60_000,
      );
      say(`agent learned: ${outcome.requestId} ${describeOutcome(outcome)}`);
      return outcome;
    }),
  );
}

function describeOutcome(outcome: ActionOutcome): string {
  if (outcome.outcome === 'timed-out') return 'timed out waiting';
  const { reason, approvers } = outcome.detail as { reason?: string; approvers?: string[] };
  return `${outcome.outcome}${approvers ? ` (approved by ${approvers.join(', ')})` : ''}${reason ? ` — ${reason}` : ''}`;
}
