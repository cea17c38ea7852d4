import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { CacheClient } from '@aws-lambda-powertools/idempotency/types';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { DynamoAuditLog } from '../adapters/audit-log';
import { UnauthenticatedCallbackMeter } from '../adapters/callback-metrics';
import { DynamoRequestsStore } from '../adapters/requests-store';
import { slackSecretFromEnvironment } from '../adapters/slack-secrets';
import { SqsQueue } from '../adapters/sqs-queue';
import {
  systemClock,
  type AuditLog,
  type Clock,
  type RequestsStore,
  type SecretSource,
  type UnauthenticatedCallbacks,
} from '../app/ports';
import type { SlackVoteQueue } from '../inbound/slack-clicks';
import { slackClickIdempotency, slackClickIdempotencyInCache } from '../inbound/slack-idempotency';
import {
  handleSlackInteraction,
  type SlackAcknowledgementDeps,
  type SlackParametersDeps,
} from '../inbound/slack-interactions';
import { builtOnFirstUse, clientConfig, instrumented, type Environment } from './lambda-wiring';
import { SecretReader } from './secrets';

// This module is Slack's endpoint, the one function a person waits on: it loads no workflow,
// bus or Slack Web API client (the parameters modal imports that on its first use), so a cold
// start reads one secret and builds two SDK clients before it answers.

/** Slack's interactivity Request URL (API Gateway HTTP API, payload format 2.0). */
export function createHandler(deps: SlackAcknowledgementDeps) {
  return instrumented(async (event: APIGatewayProxyEventV2, context?: Context) => {
    if (context) deps.idempotency.config.registerLambdaContext(context);
    return handleSlackInteraction(event, deps);
  });
}

/** What the endpoint is built from: a `Runtime` in local mode, `endpointWiring()` in Lambda. */
export interface SlackEndpointWiring {
  readonly environment: Environment;
  readonly secrets: SecretSource;
  readonly clock: Clock;
  readonly dynamodb: DynamoDBClient;
  readonly stores: {
    readonly requests: Pick<RequestsStore, 'get'>;
    readonly audit: AuditLog;
    /** Where clicks are remembered instead of the idempotency table. */
    readonly slackClicks?: CacheClient;
  };
}

/** Built once per instance: only the signing secret is read before the first answer. */
export async function slackAcknowledgementDeps(
  wiring: SlackEndpointWiring,
  votes: SlackVoteQueue,
  unauthenticated: UnauthenticatedCallbacks = new UnauthenticatedCallbackMeter(),
): Promise<SlackAcknowledgementDeps> {
  const { environment, secrets, stores } = wiring;
  const signingSecret = await slackSecretFromEnvironment(environment, secrets, 'SLACK_SIGNING_SECRET');
  const idempotencyTable = environment.IDEMPOTENCY_TABLE_NAME;
  const idempotency = stores.slackClicks
    ? slackClickIdempotencyInCache(stores.slackClicks)
    : idempotencyTable
      ? slackClickIdempotency(wiring.dynamodb, idempotencyTable)
      : undefined;
  if (!signingSecret || !idempotency) {
    throw new Error(
      'slack-interactions needs a signing secret (SLACK_SIGNING_SECRET_ID) and IDEMPOTENCY_TABLE_NAME',
    );
  }
  let parameters: Promise<SlackParametersDeps> | undefined;
  const showing = async (): Promise<SlackParametersDeps> => {
    const { slackFromEnvironment } = await import('../adapters/slack.js');
    const slack = await slackFromEnvironment(environment, secrets);
    if (!slack) throw new Error('showing parameters needs SLACK_CHANNEL_ID and a bot token');
    return { requests: stores.requests, workspace: slack.workspace };
  };
  return {
    signingSecret,
    clock: wiring.clock,
    audit: stores.audit,
    idempotency,
    votes,
    unauthenticated,
    parameters: () => {
      parameters ??= showing();
      parameters.catch(() => {
        parameters = undefined;
      });
      return parameters;
    },
  };
}

/** The endpoint's clients and stores in Lambda, from the function's environment. */
export function endpointWiring(environment: Environment): SlackEndpointWiring {
  const { REQUESTS_TABLE_NAME, AUDIT_TABLE_NAME } = environment;
  if (!REQUESTS_TABLE_NAME || !AUDIT_TABLE_NAME) {
    throw new Error('slack-interactions needs REQUESTS_TABLE_NAME and AUDIT_TABLE_NAME');
  }
  const dynamodb = new DynamoDBClient(clientConfig(environment, 'DYNAMODB'));
  const documents = DynamoDBDocumentClient.from(dynamodb, {
    marshallOptions: { removeUndefinedValues: true },
  });
  return {
    environment,
    secrets: new SecretReader(environment),
    clock: systemClock,
    dynamodb,
    stores: {
      requests: new DynamoRequestsStore(documents, REQUESTS_TABLE_NAME, AUDIT_TABLE_NAME),
      audit: new DynamoAuditLog(documents, AUDIT_TABLE_NAME),
    },
  };
}

/** The slack-votes queue the construct names in SLACK_VOTES_QUEUE_URL. */
export function voteQueueFrom(environment: Environment): SlackVoteQueue {
  const queueUrl = environment.SLACK_VOTES_QUEUE_URL;
  if (!queueUrl) throw new Error('slack-interactions needs SLACK_VOTES_QUEUE_URL, the vote worker’s queue');
  return new SqsQueue(new SQSClient(clientConfig(environment, 'SQS')), queueUrl);
}

// One meter per instance, outside the build, so its log sampling counts across invocations.
const meter = new UnauthenticatedCallbackMeter();

export const handler = builtOnFirstUse(async () =>
  createHandler(
    await slackAcknowledgementDeps(endpointWiring(process.env), voteQueueFrom(process.env), meter),
  ),
);
