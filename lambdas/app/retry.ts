import { RequestNotFoundError, StaleWriteError, StoreUnavailableError } from './errors';
import type { RequestsStore } from './ports';
import type { RequestRecord } from '../core/lifecycle';

const MAX_ATTEMPTS = 8;

/**
 * Runs `step` on the freshest copy of the request until its conditional write wins: writers that
 * race (two reviewers clicking at once, a vote and a timeout) each see the other's result.
 */
export async function onLatest<T>(
  store: RequestsStore,
  requestId: string,
  step: (record: RequestRecord) => Promise<T>,
): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await step(await requireRequest(store, requestId));
    } catch (error) {
      if (!(error instanceof StaleWriteError) || attempt >= MAX_ATTEMPTS) throw error;
    }
  }
}

/** Loads a request or throws, for paths where a missing request is an error. */
export async function requireRequest(store: RequestsStore, requestId: string): Promise<RequestRecord> {
  const record = await store.get(requestId);
  if (!record) throw new RequestNotFoundError(requestId);
  return record;
}

/** How a write that must not be lost is tried again while the store is unavailable. */
export interface UnavailableRetry {
  /** Stop retrying once this much waiting has been done. */
  readonly forMs: number;
  readonly firstDelayMs: number;
  /** Each wait doubles up to this. */
  readonly maxDelayMs: number;
  readonly sleep: (ms: number) => Promise<void>;
}

/** About 30 s: well inside the execute function's one-minute timeout. */
export const DEFAULT_UNAVAILABLE_RETRY: UnavailableRetry = {
  forMs: 30_000,
  firstDelayMs: 250,
  maxDelayMs: 4_000,
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/** Runs `step` again, with backoff, while it fails because the store is unavailable. */
export async function whileUnavailable<T>(
  step: () => Promise<T>,
  retry: UnavailableRetry = DEFAULT_UNAVAILABLE_RETRY,
): Promise<T> {
  let waited = 0;
  for (let delay = retry.firstDelayMs; ; delay = Math.min(delay * 2, retry.maxDelayMs)) {
    try {
      return await step();
    } catch (error) {
      if (!(error instanceof StoreUnavailableError) || waited >= retry.forMs) throw error;
      await retry.sleep(delay);
      waited += delay;
    }
  }
}
