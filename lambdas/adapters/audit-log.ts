import { type DynamoDBDocumentClient, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { appendRecord, type AuditEvent, type AuditRecord } from '../core/audit';
import { isConditionalCheckFailure } from './errors';

/**
 * The append-only audit trail (the AuditLog table). Records of a known request are written with
 * its state by the RequestsStore; this port starts chains that have no request behind them
 * (rejected input) and reads chains back.
 */
export interface AuditLog {
  /** Writes the first record of a new chain; false when the chain already exists. */
  start(event: AuditEvent): Promise<boolean>;
  read(requestId: string): Promise<AuditRecord[]>;
}

export class DynamoAuditLog implements AuditLog {
  constructor(
    private readonly documents: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async start(event: AuditEvent): Promise<boolean> {
    try {
      await this.documents.send(
        new PutCommand({
          TableName: this.tableName,
          Item: appendRecord(undefined, event),
          ConditionExpression: 'attribute_not_exists(requestId)',
        }),
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
      const page = await this.documents.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'requestId = :id',
          ExpressionAttributeValues: { ':id': requestId },
          ConsistentRead: true,
          ExclusiveStartKey,
        }),
      );
      records.push(...((page.Items ?? []) as AuditRecord[]));
      ExclusiveStartKey = page.LastEvaluatedKey;
    } while (ExclusiveStartKey);
    return records;
  }
}
