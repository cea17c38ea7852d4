import {
  InvalidToken,
  SendTaskFailureCommand,
  SendTaskSuccessCommand,
  type SFNClient,
  TaskDoesNotExist,
  TaskTimedOut,
} from '@aws-sdk/client-sfn';
import type { WorkflowCallbacks } from '../app/ports';
import { DENIED_ERROR } from '../core/outcome';
import { WorkflowGoneError } from '../app/errors';

/** Resumes paused executions with SendTaskSuccess / SendTaskFailure. */
export class StepFunctionsCallbacks implements WorkflowCallbacks {
  constructor(private readonly client: SFNClient) {}

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
    try {
      await call();
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
      throw error;
    }
  }
}
