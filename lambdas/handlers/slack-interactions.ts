import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { UnauthenticatedCallbackMeter } from '../adapters/callback-metrics';
import { slackFromEnvironment, slackSecretFromEnvironment } from '../adapters/slack';
import { slackClickIdempotency, slackClickIdempotencyInCache } from '../inbound/slack-idempotency';
import { handleSlackInteraction, type SlackInteractionDeps } from '../inbound/slack-interactions';
import type { UnauthenticatedCallbacks } from '../app/ports';
import { decisionPath } from './decision-wiring';
import { awsRuntime, builtOnFirstUse, instrumented, type Runtime } from './runtime';

/** Slack's interactivity Request URL (API Gateway HTTP API, payload format 2.0). */
export function createHandler(deps: SlackInteractionDeps) {
  return instrumented(async (event: APIGatewayProxyEventV2, context?: Context) => {
    if (context) deps.idempotency.config.registerLambdaContext(context);
    return handleSlackInteraction(event, deps);
  });
}

/** Built once per instance: the secrets are read from Secrets Manager on the first click only. */
export async function slackInteractionDeps(
  rt: Runtime,
  unauthenticated: UnauthenticatedCallbacks = new UnauthenticatedCallbackMeter(),
): Promise<SlackInteractionDeps> {
  const [slack, signingSecret, notifiers] = await Promise.all([
    slackFromEnvironment(rt.environment, rt.secrets),
    slackSecretFromEnvironment(rt.environment, rt.secrets, 'SLACK_SIGNING_SECRET'),
    rt.notifiers(),
  ]);
  const idempotencyTable = rt.settings.IDEMPOTENCY_TABLE_NAME;
  const idempotency = rt.stores.slackClicks
    ? slackClickIdempotencyInCache(rt.stores.slackClicks)
    : idempotencyTable
      ? slackClickIdempotency(rt.dynamodb, idempotencyTable)
      : undefined;
  if (!slack || !signingSecret || !idempotency) {
    throw new Error(
      'slack-interactions needs SLACK_CHANNEL_ID, a bot token, a signing secret (SLACK_SIGNING_SECRET_ID) and IDEMPOTENCY_TABLE_NAME',
    );
  }
  return {
    ...decisionPath(rt, notifiers),
    signingSecret,
    workspace: slack.workspace,
    idempotency,
    unauthenticated,
  };
}

// One meter per instance, outside the build, so its log sampling counts across invocations.
const meter = new UnauthenticatedCallbackMeter();

export const handler = builtOnFirstUse(async () =>
  createHandler(await slackInteractionDeps(awsRuntime(), meter)),
);
