import { randomBytes } from 'node:crypto';

/** The failure a paused task ends with, carrying the error name the workflow's Catch matches. */
export class TaskFailure extends Error {
  constructor(error: string, cause: string) {
    // The interpreter reports `name` as the error and `message` as the cause, as a Lambda does.
    super(cause);
    this.name = error;
  }
}

export class TaskTokenError extends Error {
  constructor(
    readonly code: 'TaskDoesNotExist' | 'InvalidToken',
    message: string,
  ) {
    super(message);
    this.name = code;
  }
}

interface Waiting {
  readonly resolve: (output: unknown) => void;
  readonly reject: (failure: TaskFailure) => void;
}

/**
 * The callback side of Step Functions' `.waitForTaskToken`: a paused task waits on its token
 * until SendTaskSuccess or SendTaskFailure names it. Tokens are opaque, long and single-use, like
 * the real ones.
 */
export class TaskTokens {
  private readonly waiting = new Map<string, Waiting>();

  issue(): string {
    return randomBytes(96).toString('base64');
  }

  /** Waits for the token's callback; the caller's timeout ends the wait. */
  wait(token: string): Promise<unknown> {
    return new Promise((resolve, reject) => this.waiting.set(token, { resolve, reject }));
  }

  /** Whether a task waits for this token's callback. */
  isWaiting(token: string): boolean {
    return this.waiting.has(token);
  }

  /** Forgets a token whose task ended without a callback (timeout, stopped execution). */
  forget(token: string): void {
    this.waiting.delete(token);
  }

  succeed(token: string, output: string): void {
    let parsed: unknown;
    try {
      parsed = JSON.parse(output);
    } catch {
      throw new TaskTokenError('InvalidToken', 'output is not valid JSON');
    }
    this.take(token).resolve(parsed);
  }

  /**
   * Ends a token's wait as its task's timeout would (`States.Timeout`), now: tests use it to
   * expire a request without waiting out its TTL.
   */
  timeOut(token: string): void {
    this.take(token).reject(new TaskFailure('States.Timeout', 'The task timed out.'));
  }

  fail(token: string, error: string, cause: string): void {
    this.take(token).reject(new TaskFailure(error, cause));
  }

  private take(token: string): Waiting {
    const waiting = this.waiting.get(token);
    if (!waiting) throw new TaskTokenError('TaskDoesNotExist', 'Task does not exist anymore');
    this.waiting.delete(token);
    return waiting;
  }
}
