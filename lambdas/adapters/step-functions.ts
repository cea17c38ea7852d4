import {
  InvalidToken,
  SendTaskFailureCommand,
  SendTaskSuccessCommand,
  type SFNClient,
  TaskDoesNotExist,
  TaskTimedOut,
} from '@aws-sdk/client-sfn';
import { WorkflowGoneError, type WorkflowCallbacks } from '../app/ports';
import { DENIED_ERROR } from '../core/outcome';

/** How a callback that failed for a reason other than a gone task is tried again. */
export interface CallbackRetry {
  /** Calls in all, the first included. */
  readonly attempts: number;
  /** The wait before the second call; each later wait doubles. */
  readonly firstDelayMs: number;
  readonly sleep: (ms: number) => Promise<void>;
}

/**
 * Five calls over about 1.5 s, after the SDK's own retries of each: a vote stays counted while the
 * task is alive, and the reviewer still gets an answer within API Gateway's 29 s.
 */
export const DEFAULT_CALLBACK_RETRY: CallbackRetry = {
  attempts: 5,
  firstDelayMs: 100,
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/**
 * Resumes paused executions with SendTaskSuccess / SendTaskFailure. A task that is gone (timed
 * out, ended, or an unknown token) is reported as such at once; any other failure (throttling, an
 * outage) is retried with exponential backoff, so an approval is not lost while the task is alive.
 */
export class StepFunctionsCallbacks implements WorkflowCallbacks {
  constructor(
    private readonly client: SFNClient,
    private readonly retry: CallbackRetry = DEFAULT_CALLBACK_RETRY,
  ) {}

  async approve(taskToken: string, output: Readonly<Record<string, unknown>>): Promise<void> {
    await this.send(() =>
      this.client.send(new SendTaskSuccessCommand({ taskToken, output: JSON.stringify(output) })),
    );
  }

  async deny(taskToken: string, cause: string): Promise<void> {
    await this.send(() =>
      this.client.send(new SendTaskFailureCommand({ taskToken, error: DENIED_ERROR, cause })),
    );
  }

  private async send(call: () => Promise<unknown>): Promise<void> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        await call();
        return;
      } catch (error) {
        if (
          error instanceof TaskTimedOut ||
          error instanceof TaskDoesNotExist ||
          error instanceof InvalidToken
        ) {
          throw new WorkflowGoneError(`the workflow no longer waits for this task: ${error.name}`, {
            cause: error,
          });
        }
        if (attempt >= this.retry.attempts) throw error;
        await this.retry.sleep(this.retry.firstDelayMs * 2 ** (attempt - 1));
      }
    }
  }
}
