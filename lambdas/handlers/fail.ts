import { failRequest, type FailureInput } from '../app/fail';
import type { RequestPathDeps } from '../app/ports';
import { awsRuntime, builtOnFirstUse, instrumented } from './runtime';

/** The workflow's failure path: end the request as failed and say so. */
export function createHandler(deps: RequestPathDeps) {
  return instrumented(async (input: FailureInput) => failRequest(input, deps));
}

export const handler = builtOnFirstUse(async () => createHandler(awsRuntime().requestPath()));
