import { RequestNotFoundError, StaleWriteError } from './errors';
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
