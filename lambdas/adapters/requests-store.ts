import {
  type DynamoDBDocumentClient,
  GetCommand,
  paginateQuery,
  QueryCommand,
  TransactWriteCommand,
} from '@aws-sdk/lib-dynamodb';
import { appendRecords, type AuditEvent, type AuditRecord } from '../core/audit';
import { canTransition, type RequestRecord, type RequestState } from '../core/lifecycle';
import {
  ConflictError,
  StaleWriteError,
  type RequestChanges,
  type RequestHistory,
  type RequestsStore,
  type RequestSummary,
} from '../app/ports';
import { unlessUnavailable } from './store-availability';
import { OPEN_REQUESTS_INDEX, REQUESTS_BY_AGENT_INDEX } from './tables';

export class DynamoRequestsStore implements RequestsStore, RequestHistory {
  constructor(
    private readonly documents: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly auditTableName: string,
  ) {}

  async claim(record: Omit<RequestRecord, 'auditHead'>, opening: readonly AuditEvent[]): Promise<boolean> {
    const chain = appendRecords(undefined, opening);
    try {
      await this.write({ ...record, ...headOf(chain) }, 'attribute_not_exists(requestId)', {}, chain);
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  async get(requestId: string): Promise<RequestRecord | undefined> {
    const { Item } = await unlessUnavailable(() =>
      this.documents.send(
        new GetCommand({ TableName: this.tableName, Key: { requestId }, ConsistentRead: true }),
      ),
    );
    if (!Item) return undefined;
    const { [OPEN_REQUESTS_INDEX.partitionKey]: _indexed, ...record } = Item;
    return record as RequestRecord;
  }

  async executingSince(cutoff: Date): Promise<string[]> {
    const ids: string[] = [];
    const pages = paginateQuery(
      { client: this.documents },
      {
        TableName: this.tableName,
        IndexName: OPEN_REQUESTS_INDEX.indexName,
        KeyConditionExpression: '#state = :executing AND #since < :cutoff',
        ExpressionAttributeNames: {
          '#state': OPEN_REQUESTS_INDEX.partitionKey,
          '#since': OPEN_REQUESTS_INDEX.sortKey,
        },
        ExpressionAttributeValues: { ':executing': 'executing', ':cutoff': cutoff.toISOString() },
      },
    );
    for await (const page of pages) {
      for (const item of page.Items ?? []) ids.push(String(item.requestId));
    }
    return ids;
  }

  async listByAgent(agentId: string, limit: number): Promise<RequestSummary[]> {
    const { Items = [] } = await this.documents.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: REQUESTS_BY_AGENT_INDEX.indexName,
        KeyConditionExpression: '#agent = :agent',
        ExpressionAttributeNames: { '#agent': REQUESTS_BY_AGENT_INDEX.partitionKey },
        ExpressionAttributeValues: { ':agent': agentId },
        ScanIndexForward: false,
        Limit: limit,
      }),
    );
    return Items as RequestSummary[];
  }

  async save(
    current: RequestRecord,
    changes: RequestChanges,
    events: readonly AuditEvent[] = [],
  ): Promise<RequestRecord> {
    const nextState: RequestState = changes.state ?? current.state;
    if (nextState !== current.state && !canTransition(current.state, nextState)) {
      throw new ConflictError(`request cannot go from ${current.state} to ${nextState}`, current.requestId);
    }
    const chain = appendRecords(current.auditHead, events);
    const next: RequestRecord = { ...current, ...changes, version: current.version + 1, ...headOf(chain) };
    try {
      await this.write(next, '#version = :read', { ':read': current.version }, chain);
      return next;
    } catch (error) {
      if (isConditionFailure(error)) {
        throw new StaleWriteError(current.requestId, { cause: error });
      }
      throw error;
    }
  }

  private async write(
    item: RequestRecord,
    condition: string,
    values: Record<string, unknown>,
    chain: readonly AuditRecord[],
  ): Promise<void> {
    const usesVersion = condition.includes('#version');
    await unlessUnavailable(() =>
      this.documents.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Put: {
                TableName: this.tableName,
                // In the open-requests index exactly while executing.
                Item:
                  item.state === 'executing'
                    ? { ...item, [OPEN_REQUESTS_INDEX.partitionKey]: 'executing' }
                    : item,
                ConditionExpression: condition,
                ...(usesVersion ? { ExpressionAttributeNames: { '#version': 'version' } } : {}),
                ...(Object.keys(values).length > 0 ? { ExpressionAttributeValues: values } : {}),
              },
            },
            ...chain.map((record) => ({
              Put: {
                TableName: this.auditTableName,
                Item: record,
                ConditionExpression: 'attribute_not_exists(requestId)',
              },
            })),
          ],
        }),
      ),
    );
  }
}

function headOf(chain: readonly AuditRecord[]): Pick<RequestRecord, 'auditHead'> {
  const last = chain.at(-1);
  return last ? { auditHead: { requestId: last.requestId, seq: last.seq, hash: last.hash } } : {};
}

// A transaction whose condition failed is cancelled as a whole; its reasons say which item failed.
const isConditionFailure = (error: unknown): boolean =>
  error instanceof Error &&
  error.name === 'TransactionCanceledException' &&
  ((error as { CancellationReasons?: { Code?: string }[] }).CancellationReasons ?? []).some(
    (reason) => reason.Code === 'ConditionalCheckFailed',
  );
