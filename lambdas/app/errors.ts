import { STILL_EXECUTING_ERROR, STORE_UNAVAILABLE_ERROR } from '../core/outcome';

/**
 * Base of the domain's errors: use cases raise them and adapters translate SDK exceptions into
 * them, so callers can tell a domain failure from a bug.
 */
export class ActionApprovalsError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ActionApprovalsError';
  }
}

/** A conditional write lost a race or found the item in another state. */
export class ConflictError extends ActionApprovalsError {
  constructor(
    message: string,
    readonly requestId: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'ConflictError';
  }
}

/** Somebody wrote the request after it was read: read it again and retry. */
export class StaleWriteError extends ConflictError {
  constructor(requestId: string, options?: ErrorOptions) {
    super('the request changed since it was read', requestId, options);
    this.name = 'StaleWriteError';
  }
}

export class RequestNotFoundError extends ActionApprovalsError {
  constructor(
    readonly requestId: string,
    options?: ErrorOptions,
  ) {
    super(`no request ${requestId}`, options);
    this.name = 'RequestNotFoundError';
  }
}

/** The paused workflow no longer waits for this task token (it timed out or was stopped). */
export class WorkflowGoneError extends ActionApprovalsError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'WorkflowGoneError';
  }
}

/**
 * The store did not answer, or asked to be called less (throttling), after the SDK's own retries:
 * the same call may well succeed in a moment. Its name is what the workflow's retry matches.
 */
export class StoreUnavailableError extends ActionApprovalsError {
  constructor(options?: ErrorOptions) {
    super('the store is unavailable: no answer, throttled, or a server fault', options);
    this.name = STORE_UNAVAILABLE_ERROR;
  }
}

/**
 * The request is `executing`: only the invocation that claimed it (or, once that invocation is
 * certainly over, the stuck-execution sweep) may end it. Its name is what the workflow's retry of
 * its failure path matches.
 */
export class StillExecutingError extends ActionApprovalsError {
  constructor(readonly requestId: string) {
    super(`request ${requestId} is still executing`);
    this.name = STILL_EXECUTING_ERROR;
  }
}
