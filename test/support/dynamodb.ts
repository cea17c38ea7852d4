import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { randomUUID } from 'node:crypto';
import {
  auditLogTableDefinition,
  idempotencyTableDefinition,
  requestsTableDefinition,
} from '../../lambdas/adapters/tables';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../local/dynamodb-local';

export interface TestTables {
  readonly client: DynamoDBClient;
  readonly documents: DynamoDBDocumentClient;
  readonly requestsTable: string;
  readonly auditTable: string;
  readonly idempotencyTable: string;
}

/** A fresh set of the system's tables in the run's DynamoDB Local. */
export async function createTestTables(): Promise<TestTables> {
  const endpoint = process.env.DYNAMODB_LOCAL_ENDPOINT;
  if (!endpoint)
    throw new Error('DynamoDB Local is not running: jest globalSetup sets DYNAMODB_LOCAL_ENDPOINT');
  const client = new DynamoDBClient({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  const suffix = randomUUID().slice(0, 8);
  const names = {
    requestsTable: `requests-${suffix}`,
    auditTable: `audit-${suffix}`,
    idempotencyTable: `idem-${suffix}`,
  };
  await Promise.all([
    client.send(new CreateTableCommand(requestsTableDefinition(names.requestsTable))),
    client.send(new CreateTableCommand(auditLogTableDefinition(names.auditTable))),
    client.send(new CreateTableCommand(idempotencyTableDefinition(names.idempotencyTable))),
  ]);
  return {
    client,
    documents: DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } }),
    ...names,
  };
}
