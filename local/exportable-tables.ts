import {
  CreateTableCommand,
  DynamoDBClient,
  paginateScan,
  ResourceInUseException,
  type AttributeValue,
} from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from './dynamodb-local';

/** An item as DynamoDB stores it and as an export writes it (DynamoDB JSON). */
export type DynamoItem = Record<string, AttributeValue>;

/**
 * The tables an approved local export reads, and where the samples put the `orders` table:
 * DynamoDB Local, or memory on a machine without Java.
 */
export interface ExportableTables {
  /** Creates the table, keyed by `key`, unless it exists, and writes `items` to it. */
  put(tableName: string, key: string, items: readonly Record<string, unknown>[]): Promise<void>;
  /** Every item of the table; fails when there is no such table. */
  scan(tableName: string): Promise<DynamoItem[]>;
}

/** The tables of a DynamoDB Local instance. */
export class DynamoDbLocalTables implements ExportableTables {
  constructor(readonly endpoint: string) {}

  async put(tableName: string, key: string, items: readonly Record<string, unknown>[]): Promise<void> {
    await this.withClient(async (client) => {
      try {
        await client.send(
          new CreateTableCommand({
            TableName: tableName,
            BillingMode: 'PAY_PER_REQUEST',
            AttributeDefinitions: [{ AttributeName: key, AttributeType: 'S' }],
            KeySchema: [{ AttributeName: key, KeyType: 'HASH' }],
          }),
        );
      } catch (error) {
        if (!(error instanceof ResourceInUseException)) throw error;
      }
      await DynamoDBDocumentClient.from(client).send(
        new BatchWriteCommand({
          RequestItems: { [tableName]: items.map((item) => ({ PutRequest: { Item: item } })) },
        }),
      );
    });
  }

  scan(tableName: string): Promise<DynamoItem[]> {
    return this.withClient(async (client) => {
      const items: DynamoItem[] = [];
      for await (const page of paginateScan({ client }, { TableName: tableName }))
        items.push(...(page.Items ?? []));
      return items;
    });
  }

  private async withClient<T>(use: (client: DynamoDBClient) => Promise<T>): Promise<T> {
    const client = new DynamoDBClient({
      endpoint: this.endpoint,
      region: LOCAL_REGION,
      credentials: LOCAL_CREDENTIALS,
    });
    try {
      return await use(client);
    } finally {
      client.destroy();
    }
  }
}

/**
 * Tables held in this process's memory, for the local runtime without Java. `views` are tables
 * whose items live elsewhere (the runtime's own Requests table, in the in-memory store), read
 * when exported.
 */
export class InMemoryExportableTables implements ExportableTables {
  private readonly tables = new Map<string, Map<string, DynamoItem>>();

  constructor(private readonly views: Readonly<Record<string, () => readonly object[]>> = {}) {}

  async put(tableName: string, key: string, items: readonly Record<string, unknown>[]): Promise<void> {
    const table = this.tables.get(tableName) ?? new Map<string, DynamoItem>();
    for (const item of items) table.set(String(item[key]), marshall(item, { removeUndefinedValues: true }));
    this.tables.set(tableName, table);
  }

  async scan(tableName: string): Promise<DynamoItem[]> {
    const view = Object.hasOwn(this.views, tableName) ? this.views[tableName] : undefined;
    if (view) return view().map((item) => marshall(item, { removeUndefinedValues: true }));
    const table = this.tables.get(tableName);
    if (!table) throw new Error(`Cannot do operations on a non-existent table: ${tableName}`);
    return [...table.values()];
  }
}
