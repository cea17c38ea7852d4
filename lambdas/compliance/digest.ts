import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { type AuditRecord, TERMINAL_RECORD_TYPES } from '../core/audit';
import type { Result } from '../core/result';
import { unsealedCanonicalJson } from './canonical-record';
import { type LineBatch, lineBatches, LineStreamError, OVERSIZED_LINE, splitText } from './lines';
import { bindingOf, type DecisionFacts, type ExecutionFacts, type ReceiptBinding } from './receipts';
import { parseArchiveLine, parseExportLine, parseIncrementalLine, type TableChange } from './record';

/** How a file's lines are read: archive lines are plain JSON, export lines DynamoDB JSON. */
export type LineKind = 'archive' | 'export' | 'incremental';

/** What a record tells about the decision its request's receipt attests, if anything. */
export type RecordFacts =
  | { readonly index: number; readonly type: 'requested'; readonly binding: ReceiptBinding }
  | { readonly index: number; readonly type: 'vote'; readonly reviewer: string }
  | {
      readonly index: number;
      readonly type: 'approved';
      readonly approval: NonNullable<DecisionFacts['approval']>;
    }
  | { readonly index: number; readonly type: 'credentials-issued'; readonly expiresAt: string }
  | {
      readonly index: number;
      /** A simulated run (local mode) minted a session on the same approval: its receipt is owed too. */
      readonly type: 'executed' | 'simulated';
      /** The compact JWS in `details.receipt`; absent when the record carries none. */
      readonly receipt: string | undefined;
      readonly execution: ExecutionFacts;
    };

export const DIGEST_FLAG = {
  terminal: 1,
  /** The record's own `hash` is the hash of its content. */
  sealed: 2,
  executed: 4,
} as const;

/** Numbers kept per record in `DigestBatch.numbers`: line, seq, time (ms), flags, request id index. */
export const NUMBERS_PER_RECORD = 5;
/** Bytes kept per record in `DigestBatch.hashes`: the SHA-256 of its content, then its prevHash. */
export const HASH_BYTES_PER_RECORD = 64;

/**
 * What verification needs of the records of some consecutive lines of one file, and nothing else:
 * numbers and hashes in typed arrays (moved, not copied, between threads), request ids, and the
 * few facts a receipt is compared with. Everything else of a record is dropped once it is hashed.
 */
export interface DigestBatch {
  readonly records: number;
  /**
   * NUMBERS_PER_RECORD per record: its line, seq, time in ms, DIGEST_FLAGs and the index of its
   * request id in `requestIds`.
   */
  readonly numbers: Float64Array;
  /** HASH_BYTES_PER_RECORD per record. */
  readonly hashes: Uint8Array;
  /** A request's consecutive records share one entry: an export holds a request's records together. */
  readonly requestIds: string[];
  readonly facts: RecordFacts[];
  /** Lines that are not records, and why; in line order. */
  readonly problems: { readonly line: number; readonly reason: string }[];
  /** Updates and deletes an incremental export shows; an update's new image is a record too. */
  readonly changes: {
    readonly line: number;
    readonly kind: 'update' | 'delete';
    readonly requestId: string;
    readonly seq: number;
  }[];
  /** Non-blank lines, records or not: what an export manifest counts as items. */
  readonly items: number;
}

/** Records per batch: enough that a message per batch costs little, few enough that batches stay small. */
export const RECORDS_PER_BATCH = 1_024;
const FIRST_CAPACITY = 64;

const PARSERS: Readonly<
  Record<Exclude<LineKind, 'incremental'>, (line: string) => Result<AuditRecord, string>>
> = {
  archive: parseArchiveLine,
  export: parseExportLine,
};

const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

/** The facts a receipt is compared with that `record` holds, the way the verifier has always read them. */
function factsOf(record: AuditRecord, index: number): RecordFacts | undefined {
  const { type, details } = record;
  switch (type) {
    case 'requested':
      return { index, type, binding: bindingOf(record) };
    case 'vote':
      return record.actor.kind === 'reviewer' && details?.decision === 'approve' && details.counted !== false
        ? { index, type, reviewer: record.actor.id }
        : undefined;
    case 'approved': {
      const reviewers = details?.reviewers;
      const expiresAt = details?.expiresAt;
      return {
        index,
        type,
        approval: {
          at: record.at,
          ...(Array.isArray(reviewers) && reviewers.every((reviewer) => typeof reviewer === 'string')
            ? { reviewers: reviewers as string[] }
            : {}),
          ...(typeof expiresAt === 'string' ? { expiresAt } : {}),
        },
      };
    }
    case 'credentials-issued':
      return typeof details?.expiresAt === 'string'
        ? { index, type, expiresAt: details.expiresAt }
        : undefined;
    case 'executed':
    case 'simulated':
      return {
        index,
        type,
        receipt: text(details?.receipt),
        execution: { requestId: record.requestId, at: record.at, parametersHash: record.parametersHash },
      };
    default:
      return undefined;
  }
}

/**
 * Turns lines into DigestBatches: parses each line as a record of its kind, hashes its canonical
 * content and keeps only what verification compares. The same code runs on the main thread for
 * small trails and in worker threads for large ones, so both give the same findings.
 */
export class LineDigester {
  // Grown as records come: most archive objects hold a few dozen records, and a batch-sized
  // buffer per object would be megabytes of garbage a second outside the JavaScript heap.
  private numbers = new Float64Array(FIRST_CAPACITY * NUMBERS_PER_RECORD);
  private hashes = Buffer.alloc(FIRST_CAPACITY * HASH_BYTES_PER_RECORD);
  private records = 0;
  private requestIds: string[] = [];
  private facts: RecordFacts[] = [];
  private problems: DigestBatch['problems'][number][] = [];
  private changes: DigestBatch['changes'][number][] = [];
  private items = 0;
  private readonly ownHash = Buffer.alloc(32);

  constructor(private readonly kind: LineKind) {}

  /** True when a full batch is waiting to be taken. */
  get full(): boolean {
    return this.records >= RECORDS_PER_BATCH;
  }

  /** Digests the lines of one LineBatch; take() a batch whenever `full`. */
  add({ firstLine, lines }: LineBatch, onFull: (batch: DigestBatch) => void): void {
    for (let index = 0; index < lines.length; index += 1) {
      const line = lines[index];
      const lineNumber = firstLine + index;
      if (line === OVERSIZED_LINE) {
        this.items += 1;
        this.problems.push({ line: lineNumber, reason: 'line is longer than 1 MiB; skipped' });
        continue;
      }
      if (line.trim() === '') continue;
      this.items += 1;
      this.line(line, lineNumber);
      if (this.full) onFull(this.take());
    }
  }

  /** What was digested since the last take, as a batch of its own; resets. */
  take(): DigestBatch {
    const { records } = this;
    const batch: DigestBatch = {
      records,
      numbers: this.numbers.slice(0, records * NUMBERS_PER_RECORD),
      hashes: new Uint8Array(this.hashes.subarray(0, records * HASH_BYTES_PER_RECORD)),
      requestIds: this.requestIds,
      facts: this.facts,
      problems: this.problems,
      changes: this.changes,
      items: this.items,
    };
    this.records = 0;
    this.requestIds = [];
    this.facts = [];
    this.problems = [];
    this.changes = [];
    this.items = 0;
    return batch;
  }

  /** True when nothing was digested since the last take. */
  get empty(): boolean {
    return this.items === 0;
  }

  private line(line: string, lineNumber: number): void {
    if (this.kind !== 'incremental') {
      const parsed = PARSERS[this.kind](line);
      if (parsed.ok) this.record(parsed.value, lineNumber);
      else this.problems.push({ line: lineNumber, reason: parsed.error });
      return;
    }
    const parsed = parseIncrementalLine(line);
    if (!parsed.ok) {
      this.problems.push({ line: lineNumber, reason: parsed.error });
      return;
    }
    const change: TableChange = parsed.value;
    if (change.kind === 'delete') {
      const { requestId, seq } = change;
      this.changes.push({ line: lineNumber, kind: 'delete', requestId, seq });
      return;
    }
    if (change.kind === 'update') {
      const { requestId, seq } = change.record;
      this.changes.push({ line: lineNumber, kind: 'update', requestId, seq });
    }
    this.record(change.record, lineNumber);
  }

  private grow(): void {
    const numbers = new Float64Array(this.numbers.length * 2);
    numbers.set(this.numbers);
    this.numbers = numbers;
    const hashes = Buffer.alloc(this.hashes.length * 2);
    this.hashes.copy(hashes);
    this.hashes = hashes;
  }

  private record(record: AuditRecord, lineNumber: number): void {
    const index = this.records;
    if (index * NUMBERS_PER_RECORD >= this.numbers.length) this.grow();
    this.records += 1;
    const hashAt = index * HASH_BYTES_PER_RECORD;
    // hashRecord's hash, without a copy of the record.
    const contentHash = createHash('sha256').update(unsealedCanonicalJson(record)).digest();
    contentHash.copy(this.hashes, hashAt);
    this.hashes.write(record.prevHash, hashAt + 32, 'hex');
    this.ownHash.write(record.hash, 'hex');
    const numbersAt = index * NUMBERS_PER_RECORD;
    this.numbers[numbersAt] = lineNumber;
    this.numbers[numbersAt + 1] = record.seq;
    this.numbers[numbersAt + 2] = Date.parse(record.at);
    this.numbers[numbersAt + 3] =
      (TERMINAL_RECORD_TYPES.has(record.type) ? DIGEST_FLAG.terminal : 0) |
      (contentHash.equals(this.ownHash) ? DIGEST_FLAG.sealed : 0) |
      (record.type === 'executed' || record.type === 'simulated' ? DIGEST_FLAG.executed : 0);
    if (this.requestIds.at(-1) !== record.requestId) this.requestIds.push(record.requestId);
    this.numbers[numbersAt + 4] = this.requestIds.length - 1;
    const facts = factsOf(record, index);
    if (facts !== undefined) this.facts.push(facts);
  }
}

/** How reading a file ended. Lines up to the failure were delivered as batches. */
export type DigestOutcome =
  | { readonly kind: 'unopenable'; readonly reason: string }
  | {
      readonly kind: 'read';
      /** Raw (compressed) bytes read. */
      readonly bytes: number;
      /** Where the file stopped being readable (a truncated gzip member, a read error). */
      readonly failure: { readonly line: number; readonly message: string } | undefined;
      /** Base64 MD5 of the raw bytes, when asked for. */
      readonly md5: string | undefined;
    };

/**
 * A small object is unzipped whole only up to this much text: gzip can pack far more into a few
 * hundred KiB, and a worker thread's heap is small. Beyond it the object is streamed instead.
 */
const WHOLE_TEXT_MAX_BYTES = 8 * 1024 * 1024;

/** A gzip file's bytes: all of them at hand (a small object), or a stream to open. */
export type FileBytes = { readonly whole: Buffer } | { readonly open: () => Promise<Readable> };

/**
 * Digests one gzip file of lines, delivering batches in line order. A whole file is unzipped in one
 * go; if that fails (damage, or too much text) it is streamed instead, so the lines before the
 * damage still count and the failure names its line.
 */
export async function digestFile(
  bytes: FileBytes,
  kind: LineKind,
  md5: boolean,
  consume: (batch: DigestBatch) => void | Promise<void>,
  onBytes?: (bytes: number) => void,
): Promise<DigestOutcome> {
  const digester = new LineDigester(kind);
  if ('whole' in bytes) {
    onBytes?.(bytes.whole.length);
    let text: string | undefined;
    try {
      text = gunzipSync(bytes.whole, { maxOutputLength: WHOLE_TEXT_MAX_BYTES }).toString('utf8');
    } catch {
      const { whole } = bytes;
      return digestFile({ open: async () => Readable.from([whole]) }, kind, md5, consume);
    }
    const full: DigestBatch[] = [];
    for (const lines of splitText(text)) digester.add(lines, (batch) => full.push(batch));
    for (const batch of full) await consume(batch);
    if (!digester.empty) await consume(digester.take());
    const digest = md5 ? createHash('md5').update(bytes.whole).digest('base64') : undefined;
    return { kind: 'read', bytes: bytes.whole.length, failure: undefined, md5: digest };
  }
  let raw: Readable;
  try {
    raw = await bytes.open();
  } catch (error) {
    return { kind: 'unopenable', reason: (error as Error).message };
  }
  const digest = md5 ? createHash('md5') : undefined;
  let read = 0;
  const full: DigestBatch[] = [];
  let failure: { line: number; message: string } | undefined;
  try {
    for await (const lines of lineBatches(raw, {
      gzip: true,
      digest,
      onBytes: (chunk) => {
        read += chunk;
        onBytes?.(chunk);
      },
    })) {
      digester.add(lines, (batch) => full.push(batch));
      for (const batch of full.splice(0)) await consume(batch);
    }
  } catch (error) {
    if (!(error instanceof LineStreamError)) throw error;
    failure = { line: error.line, message: error.message };
  }
  if (!digester.empty) await consume(digester.take());
  return { kind: 'read', bytes: read, failure, md5: digest?.digest('base64') };
}
