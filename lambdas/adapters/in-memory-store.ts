import { appendRecord, appendRecords, type AuditEvent, type AuditRecord } from '../core/audit';
import { canTransition, type RequestRecord, type RequestState } from '../core/lifecycle';
import {
  ConflictError,
  StaleWriteError,
  type AuditLog,
  type RequestChanges,
  type RequestHistory,
  type RequestsStore,
  type RequestSummary,
} from '../app/ports';
import { REQUESTS_BY_AGENT_INDEX, REQUESTS_TABLE_KEY } from './tables';

/**
 * The Requests and AuditLog tables held in one process's memory. They implement the same ports
 * as the DynamoDB adapters and are held to the same contract suite, so use-case tests and the
 * local runtime on a machine without Java run the same code paths. Items are copied in and out
 * as DynamoDB would store them (JSON values, `undefined` fields dropped), so no caller can change
 * a stored item by keeping a reference to it.
 */
export class InMemoryTables {
  private readonly requests = new Map<string, RequestRecord>();
  private readonly chains = new Map<string, AuditRecord[]>();

  readonly requestsStore: RequestsStore & RequestHistory = {
    listByAgent: async (agentId, limit) => this.listByAgent(agentId, limit),
    claim: async (record, opening) => this.claim(record, opening),
    get: async (requestId) => this.getRequest(requestId),
    save: async (current, changes, events) => this.save(current, changes, events ?? []),
    executingSince: async (cutoff) => this.executingSince(cutoff),
  };

  readonly auditLog: AuditLog = {
    start: async (event) => this.start(event),
    read: async (requestId) => (this.chains.get(requestId) ?? []).map(stored),
  };

  /** Every request item, for the local console's listings. */
  allRequests(): RequestRecord[] {
    return [...this.requests.values()].map(stored);
  }

  private claim(record: Omit<RequestRecord, 'auditHead'>, opening: readonly AuditEvent[]): boolean {
    if (this.requests.has(record.requestId) || this.chains.has(record.requestId)) return false;
    const chain = appendRecords(undefined, opening);
    const last = chain.at(-1);
    this.requests.set(
      record.requestId,
      stored({
        ...record,
        ...(last ? { auditHead: { requestId: last.requestId, seq: last.seq, hash: last.hash } } : {}),
      }),
    );
    this.appendToChains(chain);
    return true;
  }

  private getRequest(requestId: string): RequestRecord | undefined {
    const item = this.requests.get(requestId);
    return item ? stored(item) : undefined;
  }

  private save(
    current: RequestRecord,
    changes: RequestChanges,
    events: readonly AuditEvent[],
  ): RequestRecord {
    const nextState: RequestState = changes.state ?? current.state;
    if (nextState !== current.state && !canTransition(current.state, nextState)) {
      throw new ConflictError(`request cannot go from ${current.state} to ${nextState}`, current.requestId);
    }
    const latest = this.requests.get(current.requestId);
    const chain = appendRecords(current.auditHead, events);
    const taken = chain.some((record) => this.hasRecord(record.requestId, record.seq));
    if (!latest || latest.version !== current.version || taken) {
      throw new StaleWriteError(current.requestId);
    }
    const last = chain.at(-1);
    const next = stored({
      ...current,
      ...changes,
      version: current.version + 1,
      ...(last ? { auditHead: { requestId: last.requestId, seq: last.seq, hash: last.hash } } : {}),
    });
    this.requests.set(current.requestId, next);
    this.appendToChains(chain);
    return stored(next);
  }

  /** What the by-agent index answers: the projected attributes of the agent's newest requests. */
  private listByAgent(agentId: string, limit: number): RequestSummary[] {
    const projected = new Set<string>([
      REQUESTS_TABLE_KEY.partitionKey,
      REQUESTS_BY_AGENT_INDEX.partitionKey,
      REQUESTS_BY_AGENT_INDEX.sortKey,
      ...REQUESTS_BY_AGENT_INDEX.projectedAttributes,
    ]);
    return [...this.requests.values()]
      .filter((record) => record.agentId === agentId)
      .sort((a, b) => (a.createdAt < b.createdAt ? 1 : -1))
      .slice(0, limit)
      .map(
        (record) =>
          stored(
            Object.fromEntries(Object.entries(record).filter(([name]) => projected.has(name))),
          ) as RequestSummary,
      );
  }

  private executingSince(cutoff: Date): string[] {
    return [...this.requests.values()]
      .filter(
        (record) =>
          record.state === 'executing' &&
          record.executingSince !== undefined &&
          record.executingSince < cutoff.toISOString(),
      )
      .sort((a, b) => (a.executingSince! < b.executingSince! ? -1 : 1))
      .map((record) => record.requestId);
  }

  private start(event: AuditEvent): boolean {
    const first = appendRecord(undefined, event);
    const existing = (this.chains.get(event.requestId) ?? []).find((record) => record.seq === 0);
    // The same record again is a start retried after its answer was lost: it changes nothing.
    if (existing) return existing.hash === first.hash;
    this.appendToChains([first]);
    return true;
  }

  private hasRecord(requestId: string, seq: number): boolean {
    return (this.chains.get(requestId) ?? []).some((record) => record.seq === seq);
  }

  private appendToChains(records: readonly AuditRecord[]): void {
    for (const record of records) {
      const chain = this.chains.get(record.requestId) ?? [];
      chain.push(stored(record));
      chain.sort((a, b) => a.seq - b.seq);
      this.chains.set(record.requestId, chain);
    }
  }
}

function stored<T>(item: T): T {
  return JSON.parse(JSON.stringify(item)) as T;
}
