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
    const first = appendRecord(undefined, event);
    try {
      await unlessUnavailable(() =>
        this.documents.send(
          new PutCommand({
            TableName: this.tableName,
            Item: first,
            // The same record again is this start retried after its answer was lost (by the SDK
            // or by the caller): its hash seals its content and position, so rewriting it changes
            // nothing. Any other first record is another chain's.
            ConditionExpression: 'attribute_not_exists(requestId) OR #hash = :hash',
            ExpressionAttributeNames: { '#hash': 'hash' },
            ExpressionAttributeValues: { ':hash': first.hash },
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
