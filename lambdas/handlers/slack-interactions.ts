import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { UnauthenticatedCallbackMeter } from '../adapters/callback-metrics';
import { logger } from '../adapters/logger';
import { slackFromEnvironment, slackSecretFromEnvironment } from '../adapters/slack';
import { slackClickIdempotency } from '../adapters/slack-idempotency';
import { handleSlackInteraction, type SlackInteractionDeps } from '../app/slack-interactions';
import { runtime } from './runtime';

let shared: Promise<SlackInteractionDeps> | undefined;
// Per instance, so its log sampling counts across invocations.
const unauthenticated = new UnauthenticatedCallbackMeter();

/** Built once per instance: the secrets are read from Secrets Manager on the first click only. */
async function dependencies(): Promise<SlackInteractionDeps> {
  const rt = runtime();
  const [slack, signingSecret, notifiers] = await Promise.all([
    slackFromEnvironment(process.env, rt.secrets),
    slackSecretFromEnvironment(process.env, rt.secrets, 'SLACK_SIGNING_SECRET'),
    rt.notifiers(),
  ]);
  const idempotencyTable = rt.settings.IDEMPOTENCY_TABLE_NAME;
  if (!slack || !signingSecret || !idempotencyTable) {
    throw new Error(
      'slack-interactions needs SLACK_CHANNEL_ID, a bot token, a signing secret (SLACK_SIGNING_SECRET_ID) and IDEMPOTENCY_TABLE_NAME',
    );
  }
  return {
    ...rt.decisionPath(notifiers),
    signingSecret,
    workspace: slack.workspace,
    idempotency: slackClickIdempotency(rt.dynamodb, idempotencyTable),
    unauthenticated,
  };
}

/** Slack's interactivity Request URL (API Gateway HTTP API, payload format 2.0). */
export const handler = async (event: APIGatewayProxyEventV2, context: Context) => {
  logger.addContext(context);
  try {
    if (!shared) {
      // A failed start (a secret not readable yet) is retried by the next click, not cached.
      shared = dependencies();
      shared.catch(() => {
        shared = undefined;
      });
    }
    const deps = await shared;
    deps.idempotency.config.registerLambdaContext(context);
    return await handleSlackInteraction(event, deps);
  } finally {
    logger.resetKeys();
  }
};
