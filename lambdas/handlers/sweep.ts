import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { EventBridgePublisher } from '../adapters/event-bridge';
import { sweepStuckExecutions, type SweepDeps, type SweepResult } from '../app/sweep';
import { runtime } from './runtime';

/** The scheduled sweep: ends the executions a dead execute invocation left behind. */
export function createHandler(deps: SweepDeps): () => Promise<SweepResult> {
  return async () => sweepStuckExecutions(deps);
}

/**
 * How long after its claim an execution counts as stuck, set by the construct from the execute
 * function's timeout. A value that is not a positive whole number is a deployment error.
 */
export function stuckAfterSecondsFrom(setting: string | undefined): number {
  if (setting === undefined || !/^[1-9]\d*$/.test(setting)) {
    throw new Error(`STUCK_AFTER_SECONDS must be a positive whole number of seconds, not "${setting}"`);
  }
  return Number(setting);
}

function deployedDeps(): SweepDeps {
  const rt = runtime();
  return {
    ...rt.requestPath(),
    publisher: new EventBridgePublisher(new EventBridgeClient({}), rt.settings.EVENT_BUS_NAME),
    stuckAfterSeconds: stuckAfterSecondsFrom(process.env.STUCK_AFTER_SECONDS),
  };
}

let deployed: (() => Promise<SweepResult>) | undefined;

/** The function the schedule invokes; its settings are read on the first run. */
export const handler = async (): Promise<SweepResult> => (deployed ??= createHandler(deployedDeps()))();
