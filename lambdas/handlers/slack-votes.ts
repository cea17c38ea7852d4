import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { UnauthenticatedCallbackMeter } from '../adapters/callback-metrics';
import { logger } from '../adapters/logger';
import { slackFromEnvironment } from '../adapters/slack';
import { slackSecretFromEnvironment } from '../adapters/slack-secrets';
import type { UnauthenticatedCallbacks } from '../app/ports';
import {
  CLICK_MEMORY_SECONDS,
  slackClickIdempotency,
  slackClickIdempotencyInCache,
} from '../inbound/slack-idempotency';
import { castSlackVote, type SlackVoteDeps } from '../inbound/slack-votes';
import { decisionPath } from './decision-wiring';
import { awsRuntime, builtOnFirstUse, instrumented, type Runtime } from './runtime';

/**
 * The vote worker, fed by the slack-votes queue (SQS event source, partial batch responses): a
 * job that fails is reported back alone, so the queue retries it and, after its last receive,
 * moves it to the dead-letter queue; the rest of the batch is deleted.
 */
export function createHandler(deps: SlackVoteDeps) {
  return instrumented(async (event: SQSEvent, context?: Context): Promise<SQSBatchResponse> => {
    if (context) deps.idempotency.config.registerLambdaContext(context);
    const batchItemFailures: SQSBatchResponse['batchItemFailures'] = [];
    for (const record of event.Records) {
      try {
        await castSlackVote(record.body, deps);
      } catch (error) {
        logger.error('slack vote failed; the queue retries it', {
          messageId: record.messageId,
          receiveCount: record.attributes.ApproximateReceiveCount,
          error: error instanceof Error ? error.message : String(error),
        });
        batchItemFailures.push({ itemIdentifier: record.messageId });
      }
    }
    return { batchItemFailures };
  });
}

/** Built once per instance: the secrets are read from Secrets Manager on the first job only. */
export async function slackVoteDeps(
  rt: Runtime,
  unauthenticated: UnauthenticatedCallbacks = new UnauthenticatedCallbackMeter(),
): Promise<SlackVoteDeps> {
  const [slack, signingSecret, notifiers] = await Promise.all([
    slackFromEnvironment(rt.environment, rt.secrets),
    slackSecretFromEnvironment(rt.environment, rt.secrets, 'SLACK_SIGNING_SECRET'),
    rt.notifiers(),
  ]);
  const idempotencyTable = rt.settings.IDEMPOTENCY_TABLE_NAME;
  const idempotency = rt.stores.slackClicks
    ? slackClickIdempotencyInCache(rt.stores.slackClicks, CLICK_MEMORY_SECONDS.worker)
    : idempotencyTable
      ? slackClickIdempotency(rt.dynamodb, idempotencyTable, CLICK_MEMORY_SECONDS.worker)
      : undefined;
  if (!slack || !signingSecret || !idempotency) {
    throw new Error(
      'slack-votes needs SLACK_CHANNEL_ID, a bot token, a signing secret (SLACK_SIGNING_SECRET_ID) and IDEMPOTENCY_TABLE_NAME',
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

export const handler = builtOnFirstUse(async () => createHandler(await slackVoteDeps(awsRuntime(), meter)));
