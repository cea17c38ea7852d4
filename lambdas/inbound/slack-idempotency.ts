import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { IdempotencyConfig } from '@aws-lambda-powertools/idempotency';
import { CachePersistenceLayer } from '@aws-lambda-powertools/idempotency/cache';
import type { CacheClient } from '@aws-lambda-powertools/idempotency/types';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import type { SlackClickIdempotency } from './slack-interactions';
import { SLACK_SIGNATURE_MAX_AGE_SECONDS } from './slack-signature';
import { IDEMPOTENCY_TABLE_KEY } from '../adapters/tables';

/**
 * Remembers each Slack click in the idempotency table. A copy of a request can pass the signature
 * check only while its timestamp is fresh, so remembering clicks for twice that window covers
 * every replay the signature check lets through, with margin for clock skew.
 */
export function slackClickIdempotency(client: DynamoDBClient, tableName: string): SlackClickIdempotency {
  return {
    store: new DynamoDBPersistenceLayer({
      tableName,
      awsSdkV3Client: client,
      keyAttr: IDEMPOTENCY_TABLE_KEY.partitionKey,
      expiryAttr: IDEMPOTENCY_TABLE_KEY.timeToLiveAttribute,
    }),
    config: new IdempotencyConfig({ expiresAfterSeconds: 2 * SLACK_SIGNATURE_MAX_AGE_SECONDS }),
  };
}

/**
 * Remembers each Slack click in a Valkey/Redis-compatible cache instead of the table: the local
 * runtime's in-memory cache on a machine without Java (and so without DynamoDB Local).
 */
export function slackClickIdempotencyInCache(client: CacheClient): SlackClickIdempotency {
  return {
    store: new CachePersistenceLayer({ client }),
    config: new IdempotencyConfig({ expiresAfterSeconds: 2 * SLACK_SIGNATURE_MAX_AGE_SECONDS }),
  };
}
