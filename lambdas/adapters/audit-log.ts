import { type DynamoDBDocumentClient, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { AuditLog } from '../app/ports';
import { appendRecord, type AuditEvent, type AuditRecord } from '../core/audit';
import { unlessUnavailable } from './store-availability';

export class DynamoAuditLog implements AuditLog {
  constructor(
    private readonly documents: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async start(event: AuditEvent): Promise<boolean> {
    try {
      await unlessUnavailable(() =>
        this.documents.send(
          new PutCommand({
            TableName: this.tableName,
            Item: appendRecord(undefined, event),
            ConditionExpression: 'attribute_not_exists(requestId)',
          }),
        ),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailure(error)) return false;
      throw error;
    }
  }

  async read(requestId: string): Promise<AuditRecord[]> {
    const records: AuditRecord[] = [];
    let ExclusiveStartKey: Record<string, unknown> | undefined;
    do {
      const page = await unlessUnavailable(() =>
        this.documents.send(
          new QueryCommand({
            TableName: this.tableName,
            KeyConditionExpression: 'requestId = :id',
            ExpressionAttributeValues: { ':id': requestId },
            ConsistentRead: true,
            ExclusiveStartKey,
          }),
        ),
      );
      records.push(...((page.Items ?? []) as AuditRecord[]));
      ExclusiveStartKey = page.LastEvaluatedKey;
    } while (ExclusiveStartKey);
    return records;
  }
}

const isConditionalCheckFailure = (error: unknown): boolean =>
  error instanceof Error && error.name === 'ConditionalCheckFailedException';
