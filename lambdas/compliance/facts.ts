import { hash } from 'node:crypto';
import { AUDIT_RECORD_TYPES, type AuditRecord, type AuditRecordType } from '../core/audit';
import type { Result } from '../core/result';
import { unsealedCanonicalJson } from './canonical-record';
import { parseArchiveLine, parseExportLine, parseIncrementalLine } from './record';

/** How the lines of a file are written: the stream archive's plain JSON or an export's DynamoDB JSON. */
export type LineFormat = 'archive' | 'full-export' | 'incremental-export';

/** What one decoded line is. */
export const FACT = {
  /** A record (an archive line, a full export's item, an incremental export's insert). */
  record: 0,
  /** An incremental export's update: the record it now holds, and a change to report. */
  update: 1,
  /** An incremental export's delete: only the key, in `requestIds` and `seqs`. */
  delete: 2,
  /** A line that is not a record: its reason is in `texts`. */
  problem: 3,
} as const;

/** The record types a receipt is compared with; their `anchors` entry is set. */
const ANCHOR_TYPES: ReadonlySet<AuditRecordType> = new Set([
  'requested',
  'vote',
  'approved',
  'credentials-issued',
  'executed',
]);
/** The `details` a receipt is compared with (see verify.ts and receipts.ts); the rest is sealed by the hash. */
const ANCHOR_DETAILS = ['operation', 'resource', 'decision', 'counted', 'reviewers', 'expiresAt', 'receipt'];

const TYPE_INDEX: ReadonlyMap<string, number> = new Map(
  AUDIT_RECORD_TYPES.map((type, index) => [type, index]),
);

/** Bytes per fact in `hashes`: the SHA-256 of the record's content, then its `prevHash`. */
export const HASH_BYTES = 64;

/**
 * What verification needs of a run of lines, in columns of typed arrays (so a worker can hand them
 * over without copying and the reader builds no object per record): for fact `i`, its kind, line,
 * the record's key and time, whether its `hash` matches its content, the content hash and prevHash.
 */
export interface FactBatch {
  readonly count: number;
  readonly kinds: Uint8Array;
  readonly lines: Uint32Array;
  readonly seqs: Float64Array;
  readonly times: Float64Array;
  /** Index into AUDIT_RECORD_TYPES. */
  readonly types: Uint8Array;
  /** 1 when the record's own `hash` equals the hash of its content. */
  readonly sealed: Uint8Array;
  readonly hashes: Uint8Array;
  /** The request id, or a problem's reason. */
  readonly texts: string[];
  /**
   * For records a receipt is compared with: JSON of their `at`, `actor`, `parametersHash` and the
   * receipt-related `details`; else null.
   */
  readonly anchors: (string | null)[];
}

/** A record's fields a receipt is compared with, as `anchors` carries them. */
export type AnchorFields = Pick<AuditRecord, 'at' | 'actor' | 'parametersHash' | 'details'>;

function anchorJson(record: AuditRecord): string {
  const { at, actor, parametersHash, details } = record;
  let picked: Record<string, unknown> | undefined;
  if (details !== undefined) {
    picked = {};
    for (const key of ANCHOR_DETAILS) if (Object.hasOwn(details, key)) picked[key] = details[key];
  }
  return JSON.stringify({ at, actor, parametersHash, details: picked });
}

class FactWriter {
  private count = 0;
  readonly batch: FactBatch;
  /** `batch.hashes` as a Buffer, to write hex into it. */
  private readonly hashBytes: Buffer;
  /** The record's own `hash`, as bytes. */
  private readonly ownHash = Buffer.alloc(32);

  constructor(capacity: number) {
    this.batch = {
      count: 0,
      kinds: new Uint8Array(capacity),
      lines: new Uint32Array(capacity),
      seqs: new Float64Array(capacity),
      times: new Float64Array(capacity),
      types: new Uint8Array(capacity),
      sealed: new Uint8Array(capacity),
      hashes: new Uint8Array(capacity * HASH_BYTES),
      texts: [],
      anchors: [],
    };
    this.hashBytes = Buffer.from(this.batch.hashes.buffer);
  }

  problem(line: number, reason: string): void {
    this.next(FACT.problem, line, reason);
  }

  delete(line: number, requestId: string, seq: number): void {
    this.batch.seqs[this.next(FACT.delete, line, requestId)] = seq;
  }

  record(kind: typeof FACT.record | typeof FACT.update, line: number, record: AuditRecord): void {
    const index = this.next(kind, line, record.requestId);
    const { batch } = this;
    batch.seqs[index] = record.seq;
    batch.times[index] = Date.parse(record.at);
    batch.types[index] = TYPE_INDEX.get(record.type) ?? 0;
    // One-shot hashing: no Hash object per record.
    const contentHash = hash('sha256', unsealedCanonicalJson(record), 'buffer');
    const offset = index * HASH_BYTES;
    contentHash.copy(this.hashBytes, offset);
    // The hex strings were checked to be 64 lowercase hex digits when the record was parsed.
    this.hashBytes.write(record.prevHash, offset + 32, 32, 'hex');
    this.ownHash.write(record.hash, 0, 32, 'hex');
    batch.sealed[index] = contentHash.equals(this.ownHash) ? 1 : 0;
    batch.anchors[index] = ANCHOR_TYPES.has(record.type) ? anchorJson(record) : null;
  }

  finish(): FactBatch {
    return { ...this.batch, count: this.count };
  }

  private next(kind: number, line: number, text: string): number {
    const index = this.count;
    this.count += 1;
    this.batch.kinds[index] = kind;
    this.batch.lines[index] = line;
    this.batch.texts[index] = text;
    this.batch.anchors[index] = null;
    return index;
  }
}

const parseRecord: Readonly<
  Record<'archive' | 'full-export', (line: string) => Result<AuditRecord, string>>
> = {
  archive: parseArchiveLine,
  'full-export': parseExportLine,
};

/**
 * Decodes a run of lines of one file, numbered from `firstLine`: parses each, checks it is a
 * record, hashes its canonical content. `oversized` lists, in order, the indexes of lines too long
 * to read (their text is left out); blank lines are skipped. Pure, so it runs the same on the
 * reading thread and in a worker.
 */
export function decodeLines(
  format: LineFormat,
  firstLine: number,
  lines: readonly string[],
  oversized: readonly number[],
): FactBatch {
  const facts = new FactWriter(lines.length);
  let nextOversized = 0;
  for (let index = 0; index < lines.length; index += 1) {
    const line = lines[index];
    const number = firstLine + index;
    if (oversized[nextOversized] === index) {
      nextOversized += 1;
      facts.problem(number, 'line is longer than 1 MiB; skipped');
      continue;
    }
    if (line.trim() === '') continue;
    if (format === 'incremental-export') {
      const change = parseIncrementalLine(line);
      if (!change.ok) facts.problem(number, change.error);
      else if (change.value.kind === 'delete') facts.delete(number, change.value.requestId, change.value.seq);
      else
        facts.record(change.value.kind === 'update' ? FACT.update : FACT.record, number, change.value.record);
      continue;
    }
    const record = parseRecord[format](line);
    if (record.ok) facts.record(FACT.record, number, record.value);
    else facts.problem(number, record.error);
  }
  return facts.finish();
}

/** The buffers of a batch, to hand over to another thread without copying. */
export const transferablesOf = (batch: FactBatch): ArrayBuffer[] =>
  [batch.kinds, batch.lines, batch.seqs, batch.times, batch.types, batch.sealed, batch.hashes].map(
    (column) => column.buffer as ArrayBuffer,
  );
