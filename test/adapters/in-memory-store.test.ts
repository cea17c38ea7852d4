import { InMemoryTables } from '../../lambdas/adapters/in-memory-store';
import { describeStoreContract } from './contracts/store-contract';

describeStoreContract('in-memory tables', async () => {
  const tables = new InMemoryTables();
  return { requests: tables.requestsStore, audit: tables.auditLog };
});
