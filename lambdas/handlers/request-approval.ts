import {
  requestApproval,
  type RequestApprovalDeps,
  type RequestApprovalInput,
} from '../app/request-approval';
import { awsRuntime, builtOnFirstUse, instrumented, type Runtime } from './runtime';

/** Task state "RequestApproval" (`.waitForTaskToken`): store the token, post the cards. */
export function createHandler(deps: RequestApprovalDeps) {
  return instrumented(async (input: RequestApprovalInput) => requestApproval(input, deps));
}

export async function requestApprovalDeps(rt: Runtime): Promise<RequestApprovalDeps> {
  return { ...rt.requestPath(), notifiers: await rt.notifiers(), onNotifierError: rt.reportNotifierError };
}

export const handler = builtOnFirstUse(async () => createHandler(await requestApprovalDeps(awsRuntime())));
