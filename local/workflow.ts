import './polyfills';
import { StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import { randomUUID } from 'node:crypto';
import type { FailureInput } from '../lambdas/app/fail';
import type { BusEvent, LocalEventBus, PutEventsEntry } from './event-bus';
import type { TaskTokens } from './task-tokens';

/** The Lambda handlers the workflow's Task states invoke, as deployed. */
export interface WorkflowHandlers {
  readonly evaluate: (event: unknown) => Promise<unknown>;
  readonly requestApproval: (input: { requestId: string; taskToken: string }) => Promise<unknown>;
  readonly expire: (input: { requestId: string }) => Promise<unknown>;
  readonly execute: (input: { requestId: string; parameters: unknown }) => Promise<unknown>;
  readonly fail: (input: FailureInput) => Promise<unknown>;
}

export interface ExecutionSummary {
  readonly executionName: string;
  /** The request id the event carried, when it carried a readable one. */
  readonly requestId?: string;
  /** States entered: what Step Functions bills a STANDARD execution by. */
  readonly stateTransitions: number;
  readonly status: 'SUCCEEDED' | 'FAILED';
  readonly output?: unknown;
  readonly error?: string;
  readonly cause?: string;
}

type TaskInput = { readonly Payload?: unknown } & Record<string, unknown>;

/** A Task state starting, failing, or (for the approval task) posting its cards and waiting. */
export interface StateChange {
  readonly executionName: string;
  readonly requestId: string | undefined;
  readonly state: string;
  readonly error?: Error;
  readonly waiting?: true;
}

/** The local runtime's executions are named as Step Functions names a state machine's executions. */
const LOCAL_EXECUTION_ARN_PREFIX = 'arn:aws:states:local:000000000000:execution:action-approvals:';

function requestIdOf(event: BusEvent): string | undefined {
  const id = (event.detail as { requestId?: unknown }).requestId;
  return typeof id === 'string' ? id : undefined;
}

async function countStatesEntered(logs: AsyncGenerator<{ type: string }>): Promise<number> {
  let entered = 0;
  for await (const log of logs) if (log.type === 'StateEntered') entered += 1;
  return entered;
}

/**
 * Runs the state machine definition synthesized from the CDK stack with an ASL interpreter, its
 * Task states bound to the real handler modules and its PutEvents state to the local bus. The
 * approval task really waits: until SendTaskSuccess/SendTaskFailure names its token, or until
 * its TimeoutSecondsPath raises States.Timeout.
 */
export class LocalWorkflow {
  private readonly machine: StateMachine;
  private readonly running = new Set<Promise<unknown>>();
  /** How to stop each execution still running, as StopExecution would. */
  private readonly stops = new Set<() => void>();
  /** The token of each request whose approval task is waiting, by request id. */
  private readonly waiting = new Map<string, string>();

  constructor(
    definition: object,
    private readonly handlers: WorkflowHandlers,
    private readonly tokens: TaskTokens,
    private readonly bus: LocalEventBus,
    private readonly onStateChange: (change: StateChange) => void = () => undefined,
    approvalTimeoutSeconds?: number,
  ) {
    this.machine = new StateMachine(forInterpreter(definition, approvalTimeoutSeconds), {
      validationOptions: { checkArn: false },
    });
  }

  /** Starts an execution for a delivered event, as the bus rule's target would. */
  start(event: BusEvent): Promise<ExecutionSummary> {
    const executionName = randomUUID();
    const requestId = requestIdOf(event);
    const taskToken = this.tokens.issue();
    const run = this.machine.run(event as never, {
      // What `$$.Execution.Id` yields: Step Functions' ARN of the execution, here a local one.
      context: {
        Task: { Token: taskToken },
        Execution: { Id: `${LOCAL_EXECUTION_ARN_PREFIX}${executionName}` },
      } as never,
      overrides: {
        taskResourceLocalHandlers: this.bindings({ executionName, requestId }, taskToken) as never,
      },
    });
    const transitions = countStatesEntered(run.eventLogs);
    const finished = run.result.then(
      async (output: unknown): Promise<ExecutionSummary> => ({
        executionName,
        requestId,
        stateTransitions: await transitions,
        status: 'SUCCEEDED',
        output,
      }),
      async (error: unknown): Promise<ExecutionSummary> => {
        const failure = (error as { cause?: { name?: string; message?: string } }).cause ?? (error as Error);
        return {
          executionName,
          requestId,
          stateTransitions: await transitions,
          status: 'FAILED',
          error: failure.name,
          cause: failure.message,
        };
      },
    );
    const stop = () => {
      run.abort();
      // A waiting approval task ends too, so that its timeout's timer does not outlive the run.
      if (this.tokens.isWaiting(taskToken))
        this.tokens.fail(taskToken, 'States.Aborted', 'Execution stopped');
    };
    this.stops.add(stop);
    const tracked = finished.finally(() => {
      this.stops.delete(stop);
      this.tokens.forget(taskToken);
      if (requestId !== undefined && this.waiting.get(requestId) === taskToken)
        this.waiting.delete(requestId);
      this.running.delete(tracked);
    });
    this.running.add(tracked);
    return tracked;
  }

  /**
   * Ends a request's approval wait as reaching its TTL would: the task fails with
   * `States.Timeout` and the workflow takes its expiry path. A clock seam for tests and the load
   * bench, which cannot wait out TTLs of minutes; false when the request is not waiting.
   */
  expireWait(requestId: string): boolean {
    const token = this.waiting.get(requestId);
    if (token === undefined) return false;
    this.waiting.delete(requestId);
    try {
      this.tokens.timeOut(token);
      return true;
    } catch {
      // A callback ended the wait first: the race a vote and a timeout run in Step Functions too.
      return false;
    }
  }

  /** Waits for every execution in flight to end (used on shutdown and by tests). */
  async drain(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }

  /**
   * Stops every execution still running, wherever it is (waiting for reviewers, between retries):
   * for a test that must end within its deadline although something it started would not.
   */
  stopAll(): void {
    for (const stop of [...this.stops]) stop();
  }

  private bindings(execution: { executionName: string; requestId: string | undefined }, taskToken: string) {
    const step =
      <T>(state: string, call: (payload: T) => Promise<unknown>) =>
      async (input: unknown) => {
        this.onStateChange({ ...execution, state });
        try {
          return { Payload: await call((input as TaskInput).Payload as T), StatusCode: 200 };
        } catch (error) {
          // A Lambda's error reaches Step Functions by name only; the runtime's log keeps the rest.
          this.onStateChange({ ...execution, state, error: error as Error });
          throw error;
        }
      };
    return {
      Evaluate: step('Evaluate', this.handlers.evaluate),
      Execute: step('Execute', this.handlers.execute),
      Expire: step('Expire', async (payload: { requestId: string }) => {
        // The approval task timed out: its token stops working, as in Step Functions.
        this.tokens.forget(taskToken);
        return this.handlers.expire(payload);
      }),
      RequestApproval: async (input: unknown) => {
        this.onStateChange({ ...execution, state: 'RequestApproval' });
        const waiting = this.tokens.wait(taskToken);
        await this.handlers.requestApproval(
          (input as TaskInput).Payload as { requestId: string; taskToken: string },
        );
        if (execution.requestId !== undefined) this.waiting.set(execution.requestId, taskToken);
        this.onStateChange({ ...execution, state: 'RequestApproval', waiting: true });
        return waiting;
      },
      RecordFailure: step('RecordFailure', this.handlers.fail),
      Publish: async (input: unknown) => this.publish(input),
      PublishFailure: async (input: unknown) => this.publish(input),
    };
  }

  private publish(input: unknown) {
    const entries = ((input as { Entries?: PutEventsEntry[] }).Entries ?? []).map((entry) => ({
      ...entry,
      Detail: typeof entry.Detail === 'string' ? entry.Detail : JSON.stringify(entry.Detail),
    }));
    const results = this.bus.put(entries);
    const failed = results.filter((result) => 'ErrorCode' in result).length;
    if (failed > 0)
      throw Object.assign(new Error(JSON.stringify(results)), { name: 'EventBridge.FailedEntries' });
    return { Entries: results, FailedEntryCount: 0 };
  }
}

/**
 * aws-local-stepfunctions 3.0.0 reads a Task's `TimeoutSecondsPath` from the input after
 * `Parameters` is applied, where Step Functions reads it from the state's input. Copying each
 * such path into the state's own `Parameters` makes both read the same value; the handlers never
 * see the copy (they get `Payload`). The deployed definition is not changed.
 */
export function forInterpreter(definition: object, fixedTimeoutSeconds?: number): StateMachineDefinition {
  // A JSON round trip, not structuredClone: under jest the latter makes objects of another realm,
  // which the interpreter's plain-object checks do not recognize.
  const copy = JSON.parse(JSON.stringify(definition)) as { States: Record<string, Record<string, unknown>> };
  for (const state of Object.values(copy.States)) {
    const path = state.TimeoutSecondsPath;
    const parameters = state.Parameters as Record<string, unknown> | undefined;
    if (typeof path !== 'string') continue;
    if (fixedTimeoutSeconds !== undefined) {
      // Tests shorten the approval wait; the request's own expiry still governs every vote.
      delete state.TimeoutSecondsPath;
      state.TimeoutSeconds = fixedTimeoutSeconds;
    } else if (parameters && /^\$\.[A-Za-z0-9_]+$/.test(path)) {
      parameters[`${path.slice(2)}.$`] = path;
    }
  }
  return copy as unknown as StateMachineDefinition;
}
