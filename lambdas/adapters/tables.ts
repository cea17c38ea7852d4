import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';

/**
 * Key schemas of the system's tables. The CDK construct and the local runtime both build their
 * tables from these, so the code under test and the code deployed read the same layout.
 */
export const REQUESTS_TABLE_KEY = { partitionKey: 'requestId' } as const;
export const AUDIT_LOG_TABLE_KEY = { partitionKey: 'requestId', sortKey: 'seq' } as const;
export const IDEMPOTENCY_TABLE_KEY = { partitionKey: 'id', timeToLiveAttribute: 'expiration' } as const;

export function requestsTableDefinition(TableName: string): CreateTableCommandInput {
  return {
    TableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [{ AttributeName: REQUESTS_TABLE_KEY.partitionKey, AttributeType: 'S' }],
    KeySchema: [{ AttributeName: REQUESTS_TABLE_KEY.partitionKey, KeyType: 'HASH' }],
  };
}

export function auditLogTableDefinition(TableName: string): CreateTableCommandInput {
  return {
    TableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [
      { AttributeName: AUDIT_LOG_TABLE_KEY.partitionKey, AttributeType: 'S' },
      { AttributeName: AUDIT_LOG_TABLE_KEY.sortKey, AttributeType: 'N' },
    ],
    KeySchema: [
      { AttributeName: AUDIT_LOG_TABLE_KEY.partitionKey, KeyType: 'HASH' },
      { AttributeName: AUDIT_LOG_TABLE_KEY.sortKey, KeyType: 'RANGE' },
    ],
    StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_IMAGE' },
  };
}

export function idempotencyTableDefinition(TableName: string): CreateTableCommandInput {
  return {
    TableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [{ AttributeName: IDEMPOTENCY_TABLE_KEY.partitionKey, AttributeType: 'S' }],
    KeySchema: [{ AttributeName: IDEMPOTENCY_TABLE_KEY.partitionKey, KeyType: 'HASH' }],
  };
}
