import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { IdempotencyConfig } from '@aws-lambda-powertools/idempotency';
import { CachePersistenceLayer } from '@aws-lambda-powertools/idempotency/cache';
import type { CacheClient } from '@aws-lambda-powertools/idempotency/types';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import { SLACK_VOTE_MAX_AGE_SECONDS } from './slack-clicks';
import type { SlackClickIdempotency } from './slack-interactions';
import { SLACK_SIGNATURE_MAX_AGE_SECONDS } from './slack-signature';
import { IDEMPOTENCY_TABLE_KEY } from '../adapters/tables';

/**
 * How long each side remembers a click. The endpoint: a copy of a request passes its signature
 * check only while its timestamp is fresh, so twice that window covers every replay it lets
 * through, with margin for clock skew. The vote worker: as long as it accepts a signed click.
 */
export const CLICK_MEMORY_SECONDS = {
  endpoint: 2 * SLACK_SIGNATURE_MAX_AGE_SECONDS,
  worker: SLACK_VOTE_MAX_AGE_SECONDS,
} as const;

/** Remembers each Slack click in the idempotency table. */
export function slackClickIdempotency(
  client: DynamoDBClient,
  tableName: string,
  rememberedSeconds: number = CLICK_MEMORY_SECONDS.endpoint,
): SlackClickIdempotency {
  return {
    store: new DynamoDBPersistenceLayer({
      tableName,
      awsSdkV3Client: client,
      keyAttr: IDEMPOTENCY_TABLE_KEY.partitionKey,
      expiryAttr: IDEMPOTENCY_TABLE_KEY.timeToLiveAttribute,
    }),
    config: new IdempotencyConfig({ expiresAfterSeconds: rememberedSeconds }),
  };
}

/**
 * Remembers each Slack click in a Valkey/Redis-compatible cache instead of the table: the local
 * runtime's in-memory cache on a machine without Java (and so without DynamoDB Local).
 */
export function slackClickIdempotencyInCache(
  client: CacheClient,
  rememberedSeconds: number = CLICK_MEMORY_SECONDS.endpoint,
): SlackClickIdempotency {
  return {
    store: new CachePersistenceLayer({ client }),
    config: new IdempotencyConfig({ expiresAfterSeconds: rememberedSeconds }),
  };
}
