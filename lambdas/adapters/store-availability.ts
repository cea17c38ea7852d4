import { StoreUnavailableError } from '../app/ports';

// The error names AWS services use for "call less often".
const THROTTLING_ERRORS: ReadonlySet<string> = new Set([
  'ThrottlingException',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'TooManyRequestsException',
]);

/**
 * Whether an AWS call's failure passes: it got no answer (the connection failed), was throttled,
 * or met a server fault. Only errors that went through the SDK's retry step carry `$metadata`;
 * anything else (a refused condition, a validation error, a bug) is an answer, not an outage.
 */
export function isTransientFailure(error: unknown): boolean {
  if (typeof error !== 'object' || error === null || !('$metadata' in error)) return false;
  const { name, $fault, $metadata } = error as {
    name?: unknown;
    $fault?: unknown;
    $metadata?: { httpStatusCode?: unknown };
  };
  if (typeof name === 'string' && THROTTLING_ERRORS.has(name)) return true;
  if ($fault === 'server') return true;
  const status = $metadata?.httpStatusCode;
  return status === undefined || status === 429 || (typeof status === 'number' && status >= 500);
}

/** Runs a store call, reporting a failure that passes as StoreUnavailableError (cause kept). */
export async function unlessUnavailable<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (isTransientFailure(error)) throw new StoreUnavailableError({ cause: error });
    throw error;
  }
}
