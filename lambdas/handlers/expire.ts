import { expireRequest, type ExpireDeps } from '../app/expire';
import { awsRuntime, builtOnFirstUse, instrumented } from './runtime';
import { requestApprovalDeps } from './request-approval';

/** Catch of `States.Timeout` on the approval task: the request expires, nothing runs. */
export function createHandler(deps: ExpireDeps) {
  return instrumented(async (input: { requestId: string }) => expireRequest(input, deps));
}

export const handler = builtOnFirstUse(async () => createHandler(await requestApprovalDeps(awsRuntime())));
