import { DynamoAuditLog } from '../../lambdas/adapters/audit-log';
import { DynamoRequestsStore } from '../../lambdas/adapters/requests-store';
import { createTestTables } from '../support/dynamodb';
import { describeStoreContract } from './contracts/store-contract';

describeStoreContract('DynamoDB tables (DynamoDB Local)', async () => {
  const tables = await createTestTables();
  return {
    requests: new DynamoRequestsStore(tables.documents, tables.requestsTable, tables.auditTable),
    audit: new DynamoAuditLog(tables.documents, tables.auditTable),
  };
});
