import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { EventBridgePublisher } from '../adapters/event-bridge';
import { sweepStuckExecutions, type SweepDeps, type SweepResult } from '../app/sweep';
import { awsRuntime, builtOnFirstUse, instrumented, type Runtime } from './runtime';

/** The scheduled sweep: ends the executions a dead execute invocation left behind. */
export function createHandler(deps: SweepDeps) {
  return instrumented(async (_event: unknown): Promise<SweepResult> => sweepStuckExecutions(deps));
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

export function sweepDeps(rt: Runtime): SweepDeps {
  return {
    ...rt.requestPath(),
    publisher: new EventBridgePublisher(
      rt.client(EventBridgeClient, 'EVENTBRIDGE'),
      rt.settings.EVENT_BUS_NAME,
    ),
    stuckAfterSeconds: stuckAfterSecondsFrom(rt.environment.STUCK_AFTER_SECONDS),
  };
}

/** The function the schedule invokes; its settings are read on the first run. */
export const handler = builtOnFirstUse(async () => createHandler(sweepDeps(awsRuntime())));
