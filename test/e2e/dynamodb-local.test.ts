import { CreateTableCommand, DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  LOCAL_CREDENTIALS,
  LOCAL_REGION,
  startDynamoDbLocal,
  type DynamoDbLocal,
} from '../../local/dynamodb-local';
import { requestsTableDefinition } from '../../lambdas/adapters/tables';

let folder: string;
let dynamodb: DynamoDbLocal | undefined;

beforeEach(async () => {
  folder = await mkdtemp(join(tmpdir(), 'action-approvals-dynamodb-local-'));
});

afterEach(async () => {
  await dynamodb?.stop();
  await rm(folder, { recursive: true, force: true });
});

const tablesAt = async (endpoint: string) => {
  const client = new DynamoDBClient({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  try {
    return (await client.send(new ListTablesCommand({}))).TableNames;
  } finally {
    client.destroy();
  }
};

test('DynamoDB Local keeps its data in a folder that does not exist yet', async () => {
  dynamodb = await startDynamoDbLocal({ path: join(folder, 'not', 'made', 'yet') });

  expect(await tablesAt(dynamodb.endpoint)).toEqual([]);
});

test('a restarted DynamoDB Local answers on the same endpoint with the tables it kept on disk', async () => {
  dynamodb = await startDynamoDbLocal({ path: folder });
  const client = new DynamoDBClient({
    endpoint: dynamodb.endpoint,
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
  });
  await client.send(new CreateTableCommand(requestsTableDefinition('kept')));
  client.destroy();

  await dynamodb.restart();

  expect(await tablesAt(dynamodb.endpoint)).toEqual(['kept']);
});
