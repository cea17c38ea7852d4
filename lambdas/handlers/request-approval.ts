import { requestApproval, type RequestApprovalInput } from '../app/request-approval';
import { runtime } from './runtime';

/** Task state "RequestApproval" (`.waitForTaskToken`): store the token, post the cards. */
export const handler = async (input: RequestApprovalInput) => {
  const rt = runtime();
  await requestApproval(input, {
    ...rt.requestPath(),
    notifiers: await rt.notifiers(),
    onNotifierError: rt.reportNotifierError,
  });
};
