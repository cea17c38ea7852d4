import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SFNClient } from '@aws-sdk/client-sfn';
import { EventBridgePublisher } from '../adapters/event-bridge';
import { StepFunctionsCallbacks } from '../adapters/step-functions';
import type { DecideDeps } from '../app/decide';
import type { ApprovalNotifier } from '../app/ports';
import { reportNotifierError, type Runtime } from './runtime';

// Apart from the Runtime so that the functions that never decide (execute, expire, evaluate) do
// not load the Step Functions and EventBridge clients at a cold start.

/** What the decision endpoints (API, Slack, Teams) need: the request path, the callbacks, the bus. */
export function decisionPath(rt: Runtime, notifiers: readonly ApprovalNotifier[]): DecideDeps {
  return {
    ...rt.requestPath(),
    callbacks: new StepFunctionsCallbacks(rt.client(SFNClient, 'SFN')),
    publisher: new EventBridgePublisher(
      rt.client(EventBridgeClient, 'EVENTBRIDGE'),
      rt.settings.EVENT_BUS_NAME,
    ),
    notifiers,
    onNotifierError: reportNotifierError,
  };
}
