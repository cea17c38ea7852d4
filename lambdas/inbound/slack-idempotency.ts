import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { IdempotencyConfig } from '@aws-lambda-powertools/idempotency';
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
