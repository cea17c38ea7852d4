import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';

/**
 * Key schemas of the system's tables. The CDK construct and the local runtime both build their
 * tables from these, so the code under test and the code deployed read the same layout.
 */
export const REQUESTS_TABLE_KEY = { partitionKey: 'requestId' } as const;
/**
 * A sparse index of the requests in an open state the sweep looks after: only an item that has
 * `openState` (written while the request is `executing`) is in it, sorted by when it got there.
 */
export const OPEN_REQUESTS_INDEX = {
  indexName: 'OpenRequests',
  partitionKey: 'openState',
  sortKey: 'executingSince',
} as const;
export const AUDIT_LOG_TABLE_KEY = { partitionKey: 'requestId', sortKey: 'seq' } as const;
/**
 * The Requests table's index of each agent's requests, newest last: what the status API lists.
 * It projects what a status needs and nothing else, so the task token and the chat message
 * references never reach it.
 */
export const REQUESTS_BY_AGENT_INDEX = {
  indexName: 'by-agent',
  partitionKey: 'agentId',
  sortKey: 'createdAt',
  projectedAttributes: ['state', 'expiresAt', 'policy', 'request', 'rule', 'approval', 'outcomeReason'],
} as const;
export const IDEMPOTENCY_TABLE_KEY = { partitionKey: 'id', timeToLiveAttribute: 'expiration' } as const;

export function requestsTableDefinition(TableName: string): CreateTableCommandInput {
  return {
    TableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [
      { AttributeName: REQUESTS_TABLE_KEY.partitionKey, AttributeType: 'S' },
      { AttributeName: OPEN_REQUESTS_INDEX.partitionKey, AttributeType: 'S' },
      { AttributeName: OPEN_REQUESTS_INDEX.sortKey, AttributeType: 'S' },
      { AttributeName: REQUESTS_BY_AGENT_INDEX.partitionKey, AttributeType: 'S' },
      { AttributeName: REQUESTS_BY_AGENT_INDEX.sortKey, AttributeType: 'S' },
    ],
    KeySchema: [{ AttributeName: REQUESTS_TABLE_KEY.partitionKey, KeyType: 'HASH' }],
    GlobalSecondaryIndexes: [
      {
        IndexName: OPEN_REQUESTS_INDEX.indexName,
        KeySchema: [
          { AttributeName: OPEN_REQUESTS_INDEX.partitionKey, KeyType: 'HASH' },
          { AttributeName: OPEN_REQUESTS_INDEX.sortKey, KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'KEYS_ONLY' },
      },
      {
        IndexName: REQUESTS_BY_AGENT_INDEX.indexName,
        KeySchema: [
          { AttributeName: REQUESTS_BY_AGENT_INDEX.partitionKey, KeyType: 'HASH' },
          { AttributeName: REQUESTS_BY_AGENT_INDEX.sortKey, KeyType: 'RANGE' },
        ],
        Projection: {
          ProjectionType: 'INCLUDE',
          NonKeyAttributes: [...REQUESTS_BY_AGENT_INDEX.projectedAttributes],
        },
      },
    ],
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
