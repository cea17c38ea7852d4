import { expireRequest } from '../app/expire';
import { runtime } from './runtime';

/** Catch of `States.Timeout` on the approval task: the request expires, nothing runs. */
export const handler = async (input: { requestId: string }) => {
  const rt = runtime();
  return expireRequest(input, {
    ...rt.requestPath(),
    notifiers: await rt.notifiers(),
    onNotifierError: rt.reportNotifierError,
  });
};
