import { canonicalJson, sha256Hex } from './canonical';

export const AUDIT_RECORD_TYPES = [
  'requested',
  'rejected',
  'policy-evaluated',
  'approval-requested',
  'vote',
  'approved',
  'denied',
  'expired',
  'credentials-issued',
  'executed',
  'simulated',
  'failed',
] as const;
export type AuditRecordType = (typeof AUDIT_RECORD_TYPES)[number];

/** A request's life ends in exactly one of these. */
export const TERMINAL_RECORD_TYPES: ReadonlySet<AuditRecordType> = new Set([
  'rejected',
  'denied',
  'expired',
  'executed',
  'simulated',
  'failed',
]);

/** The hash a request's first record points back to. */
export const GENESIS_HASH = '0'.repeat(64);

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

export interface AuditActor {
  readonly kind: 'agent' | 'reviewer' | 'system';
  /** Agent id, reviewer identity (e-mail or IAM principal ARN), or the component's name. */
  readonly id: string;
}

/** What happened, before it is placed in the chain. */
export interface AuditEvent {
  readonly requestId: string;
  readonly at: string;
  readonly type: AuditRecordType;
  readonly actor: AuditActor;
  /** The parameters hash the request is bound to, when known (a rejected request may have none). */
  readonly parametersHash?: string;
  readonly details?: Readonly<Record<string, JsonValue>>;
}

export interface AuditRecord extends AuditEvent {
  /** 0 for a request's first record, then +1 each. */
  readonly seq: number;
  readonly prevHash: string;
  /** SHA-256 over the canonical JSON of the record without `hash`. */
  readonly hash: string;
}

export function hashRecord(record: Omit<AuditRecord, 'hash'>): string {
  return sha256Hex(canonicalJson(record));
}

/** Where a chain ends: all that is needed to append the next record. */
export type ChainHead = Pick<AuditRecord, 'requestId' | 'seq' | 'hash'>;

/** Places an event after `previous` (undefined for a request's first record). */
export function appendRecord(previous: ChainHead | undefined, event: AuditEvent): AuditRecord {
  if (previous && previous.requestId !== event.requestId) {
    throw new Error(`cannot chain a record of ${event.requestId} after one of ${previous.requestId}`);
  }
  const unsealed = {
    ...event,
    seq: previous ? previous.seq + 1 : 0,
    prevHash: previous ? previous.hash : GENESIS_HASH,
  };
  return { ...unsealed, hash: hashRecord(unsealed) };
}

export type ChainVerification =
  | { readonly ok: true; readonly records: number }
  | { readonly ok: false; readonly index: number; readonly seq: number | undefined; readonly reason: string };

/**
 * Checks one request's records, in the order given: each is sealed by its own hash, points at
 * the one before, counts up from 0, belongs to the same request, and nothing follows a terminal
 * record. Reports the first record that breaks the chain.
 */
export function verifyChain(records: readonly AuditRecord[]): ChainVerification {
  const broken = (index: number, reason: string): ChainVerification => ({
    ok: false,
    index,
    seq: records[index]?.seq,
    reason,
  });
  for (const [index, record] of records.entries()) {
    const previous = index === 0 ? undefined : records[index - 1];
    const { hash, ...unsealed } = record;
    if (hashRecord(unsealed) !== hash) return broken(index, 'hash does not match the record’s content');
    if (record.seq !== index) return broken(index, `seq is ${record.seq}, expected ${index}`);
    if (record.prevHash !== (previous ? previous.hash : GENESIS_HASH)) {
      return broken(index, 'prevHash does not match the previous record’s hash');
    }
    if (previous && record.requestId !== previous.requestId) {
      return broken(index, `belongs to request ${record.requestId}, not ${previous.requestId}`);
    }
    if (previous && TERMINAL_RECORD_TYPES.has(previous.type)) {
      return broken(index, `follows the terminal record "${previous.type}"`);
    }
  }
  return { ok: true, records: records.length };
}

/** Places events one after another behind `head`. */
export function appendRecords(head: ChainHead | undefined, events: readonly AuditEvent[]): AuditRecord[] {
  const records: AuditRecord[] = [];
  for (const event of events) records.push(appendRecord(records.at(-1) ?? head, event));
  return records;
}

/** The terminal record of a chain, if the request has ended. */
export function terminalRecord(records: readonly AuditRecord[]): AuditRecord | undefined {
  const last = records.at(-1);
  return last && TERMINAL_RECORD_TYPES.has(last.type) ? last : undefined;
}
