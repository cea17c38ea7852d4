import { GENESIS_HASH } from '../core/audit';
import type { ApprovalReceipt } from '../core/receipt';
import type { Result } from '../core/result';
import {
  DIGEST_FLAG,
  type DigestBatch,
  HASH_BYTES_PER_RECORD,
  NUMBERS_PER_RECORD,
  type RecordFacts,
} from './digest';
import { defaultThreads, DigestPool } from './digest-pool';
import {
  bindingMismatches,
  decisionMismatches,
  type DecisionFacts,
  type ExecutionFacts,
  executionMismatches,
  type ReceiptBinding,
  type ReceiptCheck,
} from './receipts';
import { NO_SLOT, SLOT_FLAG, SlotArena, sourceFlag } from './slots';
import { LocalStore, type ObjectStore } from './stores';
import {
  type DigestVisitor,
  type ExportInfo,
  readTrail,
  type ReadOptions,
  type TableChange,
  type TrailStats,
} from './trail';
import {
  FINDING,
  type Finding,
  type FindingKind,
  type InputFinding,
  type RecordFinding,
  type TrailSource,
} from './types';

export interface VerifyOptions extends ReadOptions {
  /**
   * Checks the receipt of every `executed` and `simulated` record; without it receipts are not
   * checked at all.
   */
  readonly checkReceipt?: ReceiptCheck;
  /** How many findings the report lists; all are counted. @default 1000 */
  readonly maxFindings?: number;
  /**
   * A request with no terminal record is a finding once it has been quiet this long before the
   * newest record read; younger ones are counted as open (the export caught them in flight).
   * @default 24
   */
  readonly maxOpenHours?: number;
  /** Receives the number of records read so far, now and then. */
  readonly onRecords?: (records: number) => void;
  /**
   * Worker threads that read, gunzip, parse and hash local files; 0 reads everything on this
   * thread. @default one per core (at most 4) once the local inputs hold PARALLEL_FROM_BYTES, else 0
   */
  readonly threads?: number;
}

export interface VerifyReport {
  /** True when nothing was found: every chain, receipt and cross-check holds and every input was read. */
  readonly ok: boolean;
  readonly inputs: TrailStats;
  readonly requests: number;
  /** Distinct (requestId, seq) records. */
  readonly records: number;
  /** Records read, counting each copy: the archive re-delivers, and archive and export overlap. */
  readonly recordsRead: number;
  /** Copies of a record read twice from the same source (the stream delivers at least once): not a finding. */
  readonly duplicates: number;
  /** Requests without a terminal record that are young enough to still be in flight. */
  readonly openRequests: number;
  /** `executed` and `simulated` records; each needs a valid receipt. */
  readonly executions: number;
  readonly receipts: 'checked' | 'skipped';
  /** True when both the stream archive and an export were read and compared record by record. */
  readonly crossChecked: boolean;
  /** The full export newer than every other, against which absence from the table is judged. */
  readonly referenceExport?: { readonly file: string; readonly exportTime: string };
  readonly counts: Readonly<Record<FindingKind, number>>;
  /** Findings, input errors first, then by request and seq; at most `maxFindings`. */
  readonly findings: readonly Finding[];
  readonly findingsOmitted: number;
}

/** Records are written within moments of their `at`; those this close to an export's time may miss it legitimately. */
const EXPORT_GRACE_MS = 60_000;
/**
 * No request lives through this many records; a larger seq is damage. The bound also caps the cost
 * of finding a record in its request's list.
 */
const MAX_SEQ = 4_095;
/**
 * Receipt checks are asynchronous (those jose makes run on libuv's thread pool): a few at once keep
 * it busy; more only hold native key objects in memory until the next garbage collection.
 */
const RECEIPT_CONCURRENCY = 8;
const PROGRESS_EVERY = 10_000;
/** Below this much local input, starting worker threads costs more than they save. */
const PARALLEL_FROM_BYTES = 16 * 1024 * 1024;
const GENESIS = Buffer.from(GENESIS_HASH, 'hex');

/** What a few requests need for a while; most requests never have any. */
interface RequestExtras {
  /** prevHash of records whose predecessor has not been read yet (out-of-order input only). */
  pendingPrev?: Map<number, Uint8Array>;
  /** The earliest chain problem found while reading. */
  firstBreak?: RecordFinding;
}

/** What a request's receipt is compared with once every record has been read (in any order). */
interface ReceiptAnchor {
  binding?: ReceiptBinding;
  approval?: DecisionFacts['approval'];
  /** Only votes before the approved record decided it; the seq tells which those are. */
  approvalSeq?: number;
  readonly votes: { readonly seq: number; readonly reviewer: string }[];
  credentialsExpiresAt?: string;
  receipt?: CheckedReceipt;
}

/** A record read again: its key, and where its digest's hashes are. */
interface CopyDigest {
  readonly requestId: string;
  readonly seq: number;
  readonly hashes: Uint8Array;
  readonly hashAt: number;
  /** Its own `hash` matches its content. */
  readonly sealed: boolean;
}

interface ExportRead {
  readonly info: ExportInfo;
  complete: boolean;
}

/** Export numbers are kept in two bytes per record; more exports than this in one run are not read. */
const MAX_EXPORTS = 65_535;

interface CheckedReceipt {
  readonly receipt: ApprovalReceipt;
  readonly seq: number;
  readonly file: string;
  readonly line: number;
}

const FINDING_ORDER: readonly FindingKind[] = Object.values(FINDING);

/**
 * Verifies an audit trail read from stream archives and table exports, in one pass and in input
 * order. Chains are checked as records arrive where their neighbours are known and completed at the
 * end, so the input does not have to be sorted. Memory grows with the number of distinct records
 * (55 bytes each) and requests (about 70 bytes each, plus what an executed request's receipt is
 * compared with), with the number of input files (their names)
 * and with the listed findings; nothing else.
 */
export async function verifyTrail(
  stores: readonly ObjectStore[],
  options: VerifyOptions = {},
): Promise<VerifyReport> {
  const verifier = new TrailVerifier(options);
  const threads = options.threads ?? (await threadsFor(stores));
  const pool = threads > 0 ? new DigestPool(threads) : undefined;
  try {
    const inputs = await readTrail(stores, verifier, { ...options, pool });
    return await verifier.finish(inputs);
  } finally {
    await pool?.close();
  }
}

/** Worker threads pay off for large local inputs only: a worker opens files by their path. */
async function threadsFor(stores: readonly ObjectStore[]): Promise<number> {
  let bytes = 0;
  for (const store of stores) {
    if (!(store instanceof LocalStore)) continue;
    try {
      for await (const { size } of store.list()) {
        bytes += size;
        if (bytes >= PARALLEL_FROM_BYTES) return defaultThreads();
      }
    } catch {
      // readTrail reports the same listing failure where it belongs.
    }
  }
  return 0;
}

class TrailVerifier implements DigestVisitor {
  private readonly arena = new SlotArena();
  /** requestId → the request's newest slot. */
  private readonly heads = new Map<string, number>();
  private readonly extras = new Map<string, RequestExtras>();
  private readonly anchors = new Map<string, ReceiptAnchor>();
  private readonly exports: ExportRead[] = [];
  /** The export being read (1-based), 0 while reading the archive. */
  private currentExport = 0;
  private readonly files: string[] = [];
  private readonly fileIndex = new Map<string, number>();
  private readonly counts = Object.fromEntries(FINDING_ORDER.map((kind) => [kind, 0])) as Record<
    FindingKind,
    number
  >;
  private readonly findings: Finding[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private readonly sourcesSeen = new Set<TrailSource>();
  private latestExportMs = -Infinity;
  private newestMs = -Infinity;
  private recordsRead = 0;
  private duplicates = 0;
  private executions = 0;

  constructor(private readonly options: VerifyOptions) {}

  problem(finding: InputFinding): void {
    this.report(finding);
  }

  exportStarted(info: ExportInfo): void {
    if (this.exports.length >= MAX_EXPORTS) {
      this.report({
        kind: FINDING.inputError,
        file: info.file,
        reason: `more than ${MAX_EXPORTS} exports; skipped`,
      });
      this.currentExport = 0;
      return;
    }
    this.exports.push({ info, complete: true });
    this.currentExport = this.exports.length;
    this.latestExportMs = Math.max(this.latestExportMs, info.exportTimeMs);
  }

  exportFinished(complete: boolean): void {
    if (this.currentExport !== 0) this.exports[this.currentExport - 1].complete = complete;
    this.currentExport = 0;
  }

  tableChange(change: TableChange, file: string, line: number): void {
    const { kind, requestId, seq } = change;
    this.report({
      kind: kind === 'delete' ? FINDING.deletedFromTable : FINDING.changedInTable,
      requestId,
      seq,
      file,
      line,
      reason:
        kind === 'delete'
          ? 'an incremental export shows the item deleted from the table'
          : 'an incremental export shows the item overwritten (it has an old image)',
    });
  }

  /** Takes a batch's records, problems and table changes in line order, as they were read. */
  async digested(batch: DigestBatch, source: TrailSource, file: string): Promise<void> {
    const { problems, changes, facts } = batch;
    let problem = 0;
    let change = 0;
    let fact = 0;
    const upTo = (line: number): void => {
      for (; problem < problems.length && problems[problem].line < line; problem += 1) {
        const { line: at, reason } = problems[problem];
        this.report({ kind: FINDING.inputError, file, line: at, reason });
      }
      for (; change < changes.length && changes[change].line <= line; change += 1) {
        const { kind, requestId, seq, line: at } = changes[change];
        this.tableChange({ kind, requestId, seq }, file, at);
      }
    };
    for (let index = 0; index < batch.records; index += 1) {
      const line = batch.numbers[index * NUMBERS_PER_RECORD];
      upTo(line);
      const recordFacts = facts[fact]?.index === index ? facts[fact] : undefined;
      if (recordFacts !== undefined) fact += 1;
      const held = this.record(batch, index, recordFacts, source, file, line);
      if (held) await held;
    }
    upTo(Infinity);
  }

  private record(
    batch: DigestBatch,
    index: number,
    facts: RecordFacts | undefined,
    source: TrailSource,
    file: string,
    line: number,
  ): void | Promise<void> {
    this.recordsRead += 1;
    if (this.recordsRead % PROGRESS_EVERY === 0) this.options.onRecords?.(this.recordsRead);
    if (source === 'export' && this.currentExport === 0) return undefined;
    this.sourcesSeen.add(source);
    const numbersAt = index * NUMBERS_PER_RECORD;
    const requestId = batch.requestIds[batch.numbers[numbersAt + 4]];
    const seq = batch.numbers[numbersAt + 1];
    if (seq > MAX_SEQ) {
      this.report({
        kind: FINDING.inputError,
        file,
        line,
        reason: `seq ${seq} of ${requestId} is beyond ${MAX_SEQ}; record skipped`,
      });
      return undefined;
    }
    const digestFlags = batch.numbers[numbersAt + 3];
    const sealed = (digestFlags & DIGEST_FLAG.sealed) !== 0;
    const hashAt = index * HASH_BYTES_PER_RECORD;
    const head = this.heads.get(requestId) ?? NO_SLOT;
    const existing = this.arena.find(head, seq);
    if (existing !== NO_SLOT) {
      this.sameKey(existing, { requestId, seq, hashes: batch.hashes, hashAt, sealed }, source, file, line);
      return undefined;
    }

    const atMs = batch.numbers[numbersAt + 2];
    this.newestMs = Math.max(this.newestMs, atMs);
    const exportNumber = source === 'export' ? this.currentExport : 0;
    const slot = this.arena.add({
      contentHash: batch.hashes.subarray(hashAt, hashAt + 32),
      flags:
        sourceFlag(source) |
        (digestFlags & DIGEST_FLAG.terminal ? SLOT_FLAG.terminal : 0) |
        (sealed ? SLOT_FLAG.sealed : 0),
      seq,
      next: head,
      file: this.indexOf(file),
      line,
      atMs,
      lastExport: exportNumber,
      newestFullExport:
        exportNumber !== 0 && this.exports[exportNumber - 1].info.type === 'full' ? exportNumber : 0,
    });
    this.heads.set(requestId, slot);

    if (!sealed) {
      this.chainBreak(requestId, {
        kind: FINDING.hashMismatch,
        requestId,
        seq,
        file,
        line,
        reason: 'hash does not match the record’s content',
      });
    }
    this.link(slot, requestId, seq, batch.hashes.subarray(hashAt + 32, hashAt + 64), file, line);
    if (digestFlags & DIGEST_FLAG.executed) this.executions += 1;
    return this.options.checkReceipt && facts ? this.anchor(requestId, seq, facts, file, line) : undefined;
  }

  async finish(inputs: TrailStats): Promise<VerifyReport> {
    await Promise.all(this.inFlight);
    const crossChecked = this.sourcesSeen.size === 2;
    const crossCheckUntil = this.latestExportMs - EXPORT_GRACE_MS;
    const reference = this.referenceExport();
    const maxQuietMs = (this.options.maxOpenHours ?? 24) * 3_600_000;
    let openRequests = 0;
    const broken = new Set<string>();
    for (const [requestId, head] of this.heads) {
      const bySeq = this.slotsBySeq(head);
      const firstBreak = this.completeChain(requestId, bySeq);
      if (firstBreak) broken.add(requestId);
      const last = bySeq[bySeq.length - 1];
      // A broken chain has been reported; whether it ended cannot be told from it.
      if (!firstBreak && !(this.arena.flags(last) & SLOT_FLAG.terminal)) {
        const quietMs = this.newestMs - this.arena.atMs(last);
        if (quietMs > maxQuietMs) {
          this.report({
            kind: FINDING.unterminated,
            requestId,
            seq: bySeq.length - 1,
            ...this.locationOf(last),
            reason: `no terminal record; quiet for ${Math.round(quietMs / 3_600_000)} h before the newest record`,
          });
        } else {
          openRequests += 1;
        }
      }
      if (crossChecked) this.archiveCheck(requestId, bySeq, crossCheckUntil);
      if (reference !== undefined && this.exports[reference - 1].complete)
        this.tableCheck(requestId, bySeq, reference);
    }
    this.compareReceipts(broken);
    const byKind = (finding: Finding): number => FINDING_ORDER.indexOf(finding.kind);
    this.findings.sort(
      (a, b) =>
        Number(a.kind !== FINDING.inputError) - Number(b.kind !== FINDING.inputError) ||
        ('requestId' in a && 'requestId' in b
          ? a.requestId.localeCompare(b.requestId) || a.seq - b.seq
          : 0) ||
        byKind(a) - byKind(b),
    );
    const total = Object.values(this.counts).reduce((sum, count) => sum + count, 0);
    return {
      ok: total === 0,
      inputs,
      requests: this.heads.size,
      records: this.arena.size,
      recordsRead: this.recordsRead,
      duplicates: this.duplicates,
      openRequests,
      executions: this.executions,
      receipts: this.options.checkReceipt ? 'checked' : 'skipped',
      crossChecked,
      ...(reference === undefined
        ? {}
        : {
            referenceExport: {
              file: this.exports[reference - 1].info.file,
              exportTime: new Date(this.exports[reference - 1].info.exportTimeMs).toISOString(),
            },
          }),
      counts: this.counts,
      findings: this.findings,
      findingsOmitted: total - this.findings.length,
    };
  }

  /** A record whose (requestId, seq) was read before: a re-delivery, the other source's copy, or a conflict. */
  private sameKey(existing: number, copy: CopyDigest, source: TrailSource, file: string, line: number): void {
    const alreadyInSource = (this.arena.flags(existing) & sourceFlag(source)) !== 0;
    this.arena.addFlags(existing, sourceFlag(source));
    if (source === 'export') this.inExport(existing, copy, file, line);
    if (this.arena.hasContentHash(existing, copy.hashes, copy.hashAt)) {
      if (alreadyInSource && source === 'archive') this.duplicates += 1;
      return;
    }
    const first = this.locationOf(existing);
    this.report({
      kind: FINDING.conflictingRecords,
      requestId: copy.requestId,
      seq: copy.seq,
      file,
      line,
      reason: `differs from the record read at ${first.file}:${first.line}; ${consistency(
        (this.arena.flags(existing) & SLOT_FLAG.sealed) !== 0,
        copy.sealed,
        `${first.file}:${first.line}`,
      )}`,
    });
  }

  /** Notes that the record is in the export being read; twice in one export is a finding. */
  private inExport(
    slot: number,
    record: { readonly requestId: string; readonly seq: number },
    file: string,
    line: number,
  ): void {
    const exportNumber = this.currentExport;
    if (this.arena.lastExport(slot) === exportNumber) {
      const first = this.locationOf(slot);
      this.report({
        kind: FINDING.duplicatedItem,
        requestId: record.requestId,
        seq: record.seq,
        file,
        line,
        reason: `the export holds this item again (first at ${first.file}:${first.line})`,
      });
    }
    this.arena.setLastExport(slot, exportNumber);
    const { info } = this.exports[exportNumber - 1];
    const newest = this.arena.newestFullExport(slot);
    if (
      info.type === 'full' &&
      (newest === 0 || this.exports[newest - 1].info.exportTimeMs < info.exportTimeMs)
    )
      this.arena.setNewestFullExport(slot, exportNumber);
  }

  /** A request's slots indexed by seq, NO_SLOT where no record was read. */
  private slotsBySeq(head: number): number[] {
    const bySeq: number[] = [];
    for (let slot = head; slot !== NO_SLOT; slot = this.arena.next(slot)) {
      const seq = this.arena.seq(slot);
      while (bySeq.length <= seq) bySeq.push(NO_SLOT);
      bySeq[seq] = slot;
    }
    return bySeq;
  }

  private indexOf(file: string): number {
    let index = this.fileIndex.get(file);
    if (index === undefined) {
      index = this.files.push(file) - 1;
      this.fileIndex.set(file, index);
    }
    return index;
  }

  private locationOf(slot: number): { file: string; line: number } {
    return { file: this.files[this.arena.file(slot)], line: this.arena.line(slot) };
  }

  private report(finding: Finding): void {
    this.counts[finding.kind] += 1;
    if (this.findings.length < (this.options.maxFindings ?? 1000)) this.findings.push(finding);
  }

  /** Sets some of a request's extras, and forgets the request's extras once none is left. */
  private updateExtras(requestId: string, change: Partial<RequestExtras>): void {
    const extras = { ...this.extras.get(requestId), ...change };
    if (Object.values(extras).some((value) => value !== undefined)) this.extras.set(requestId, extras);
    else this.extras.delete(requestId);
  }

  /** Keeps the earliest problem of a chain: everything after the first bad record is suspect anyway. */
  private chainBreak(requestId: string, finding: RecordFinding): void {
    const known = this.extras.get(requestId)?.firstBreak;
    if (!known || finding.seq < known.seq) this.updateExtras(requestId, { firstBreak: finding });
  }

  /** Checks the links to both neighbours that have been read; remembers the rest for when they arrive. */
  private link(
    slot: number,
    requestId: string,
    seq: number,
    prevHash: Uint8Array,
    file: string,
    line: number,
  ): void {
    const broken = (at: number, where: { file: string; line: number }, reason: string) =>
      this.chainBreak(requestId, { kind: FINDING.chainBreak, requestId, seq: at, ...where, reason });
    const pending = this.extras.get(requestId)?.pendingPrev;
    if (seq === 0) {
      if (!GENESIS.equals(prevHash))
        broken(0, { file, line }, 'the first record does not point at the genesis hash');
    } else {
      const previous = this.arena.find(this.arena.next(slot), seq - 1);
      if (previous === NO_SLOT) {
        // A copy: the batch it came with is not kept.
        this.updateExtras(requestId, { pendingPrev: new Map(pending).set(seq, Uint8Array.from(prevHash)) });
      } else if (!this.arena.hasContentHash(previous, prevHash)) {
        broken(seq, { file, line }, `prevHash does not match the hash of record ${seq - 1}`);
      }
    }
    const nextPrevHash = pending?.get(seq + 1);
    if (nextPrevHash === undefined) return;
    const rest = new Map(this.extras.get(requestId)?.pendingPrev);
    rest.delete(seq + 1);
    this.updateExtras(requestId, { pendingPrev: rest.size > 0 ? rest : undefined });
    if (!this.arena.hasContentHash(slot, nextPrevHash)) {
      const next = this.arena.find(slot, seq + 1);
      broken(seq + 1, this.locationOf(next), `prevHash does not match the hash of record ${seq}`);
    }
  }

  /** Reports the first bad record of a chain: gaps and records after the end can only be told now. */
  private completeChain(requestId: string, bySeq: readonly number[]): RecordFinding | undefined {
    for (let seq = 0; seq < bySeq.length; seq += 1) {
      const known = this.extras.get(requestId)?.firstBreak;
      if (known && known.seq <= seq) break;
      const slot = bySeq[seq];
      if (slot === NO_SLOT) {
        this.chainBreak(requestId, {
          kind: FINDING.missingRecord,
          requestId,
          seq,
          reason: `no record ${seq} in any input, but record ${bySeq.length - 1} exists`,
        });
      } else if (seq < bySeq.length - 1 && this.arena.flags(slot) & SLOT_FLAG.terminal) {
        const next = bySeq[seq + 1];
        this.chainBreak(requestId, {
          kind: FINDING.afterTerminal,
          requestId,
          seq: seq + 1,
          ...(next === NO_SLOT ? {} : this.locationOf(next)),
          reason: `follows the terminal record ${seq}`,
        });
      }
    }
    const firstBreak = this.extras.get(requestId)?.firstBreak;
    if (firstBreak) this.report(firstBreak);
    return firstBreak;
  }

  /** The full export with the latest export time: what the table held last. */
  private referenceExport(): number | undefined {
    let reference: number | undefined;
    for (const [index, { info }] of this.exports.entries()) {
      if (info.type !== 'full') continue;
      if (reference === undefined || this.exports[reference - 1].info.exportTimeMs < info.exportTimeMs)
        reference = index + 1;
    }
    return reference;
  }

  /** Records an export holds that never reached the stream archive. */
  private archiveCheck(requestId: string, bySeq: readonly number[], until: number): void {
    for (const [seq, slot] of bySeq.entries()) {
      if (slot === NO_SLOT || this.arena.atMs(slot) > until) continue;
      const flags = this.arena.flags(slot);
      if ((flags & SLOT_FLAG.archive) !== 0 || (flags & SLOT_FLAG.export) === 0) continue;
      this.report({
        kind: FINDING.onlyInExport,
        requestId,
        seq,
        ...this.locationOf(slot),
        reason: 'in an export but not in the stream archive',
      });
    }
  }

  /**
   * Records written before the newest full export but absent from it: deleted from the table (when an
   * older export held them) or never in the table's latest state (when only the archive has them).
   */
  private tableCheck(requestId: string, bySeq: readonly number[], reference: number): void {
    const { info } = this.exports[reference - 1];
    const until = info.exportTimeMs - EXPORT_GRACE_MS;
    for (const [seq, slot] of bySeq.entries()) {
      if (slot === NO_SLOT || this.arena.atMs(slot) > until) continue;
      if (this.arena.newestFullExport(slot) === reference) continue;
      const inOlderExport = (this.arena.flags(slot) & SLOT_FLAG.export) !== 0;
      const exportTime = new Date(info.exportTimeMs).toISOString();
      this.report({
        kind: inOlderExport ? FINDING.deletedFromTable : FINDING.onlyInArchive,
        requestId,
        seq,
        ...this.locationOf(slot),
        reason: inOlderExport
          ? `in an older export but not in the full export of ${exportTime} (${info.file}): deleted from the table`
          : `in the stream archive but not in the full export of ${exportTime} (${info.file}): deleted from the table or never written to it`,
      });
    }
  }

  /** Collects what the request's receipt will be compared with, and starts checking the receipt. */
  private anchor(
    requestId: string,
    seq: number,
    facts: RecordFacts,
    file: string,
    line: number,
  ): void | Promise<void> {
    const anchor = (): ReceiptAnchor => {
      let found = this.anchors.get(requestId);
      if (!found) {
        found = { votes: [] };
        this.anchors.set(requestId, found);
      }
      return found;
    };
    switch (facts.type) {
      case 'requested':
        anchor().binding = facts.binding;
        return undefined;
      case 'vote':
        anchor().votes.push({ seq, reviewer: facts.reviewer });
        return undefined;
      case 'approved':
        anchor().approvalSeq = seq;
        anchor().approval = facts.approval;
        return undefined;
      case 'credentials-issued':
        anchor().credentialsExpiresAt = facts.expiresAt;
        return undefined;
      // A simulated run (local mode) minted a session on the same approval: its receipt is owed too.
      case 'executed':
      case 'simulated':
        return this.executed(requestId, seq, facts, file, line);
    }
  }

  private executed(
    requestId: string,
    seq: number,
    { type, receipt: jws, execution }: Extract<RecordFacts, { readonly receipt: unknown }>,
    file: string,
    line: number,
  ): void | Promise<void> {
    const check = this.options.checkReceipt;
    if (!check) return undefined;
    if (jws === undefined) {
      this.report({
        kind: FINDING.receiptMissing,
        requestId,
        seq,
        file,
        line,
        reason: `the ${type} record carries no details.receipt`,
      });
      return undefined;
    }
    const task = check(jws).then((result) => {
      this.inFlight.delete(task);
      this.receiptChecked(requestId, seq, execution, file, line, result);
    });
    this.inFlight.add(task);
    return this.inFlight.size >= RECEIPT_CONCURRENCY ? Promise.race(this.inFlight) : undefined;
  }

  private receiptChecked(
    requestId: string,
    seq: number,
    execution: ExecutionFacts,
    file: string,
    line: number,
    result: Result<ApprovalReceipt, string>,
  ): void {
    if (!result.ok) {
      this.report({ kind: FINDING.receiptInvalid, requestId, seq, file, line, reason: result.error });
      return;
    }
    const mismatches = executionMismatches(result.value, execution);
    if (mismatches.length > 0) {
      this.report({
        kind: FINDING.receiptMismatch,
        requestId,
        seq,
        file,
        line,
        reason: mismatches.join('; '),
      });
      return;
    }
    const anchor = this.anchors.get(requestId) ?? { votes: [] };
    anchor.receipt = { receipt: result.value, seq, file, line };
    this.anchors.set(requestId, anchor);
  }

  /**
   * Compares each genuine receipt with what its chain says was asked for and decided. A broken
   * chain is reported already, and what it says cannot be trusted enough to compare.
   */
  private compareReceipts(broken: ReadonlySet<string>): void {
    for (const [requestId, anchor] of this.anchors) {
      const checked = anchor.receipt;
      if (!checked || broken.has(requestId)) continue;
      const mismatches = [
        ...(anchor.binding ? bindingMismatches(checked.receipt, anchor.binding) : []),
        ...decisionMismatches(checked.receipt, {
          approval: anchor.approval,
          approvers: anchor.votes
            .filter((vote) => anchor.approvalSeq === undefined || vote.seq < anchor.approvalSeq)
            .map((vote) => vote.reviewer),
          credentialsExpiresAt: anchor.credentialsExpiresAt,
        }),
      ];
      if (mismatches.length === 0) continue;
      const { seq, file, line } = checked;
      this.report({
        kind: FINDING.receiptMismatch,
        requestId,
        seq,
        file,
        line,
        reason: mismatches.join('; '),
      });
    }
    this.anchors.clear();
  }
}

/** Which of two copies of a record hashes to its own `hash`: the other was edited, or both re-sealed. */
function consistency(firstSealed: boolean, thisSealed: boolean, first: string): string {
  if (firstSealed && thisSealed)
    return 'both copies are self-consistent (each hash matches its content): one was re-sealed after an edit';
  if (firstSealed)
    return `the copy at ${first} is self-consistent; this copy's hash does not match its content`;
  if (thisSealed)
    return `this copy is self-consistent; the hash of the copy at ${first} does not match its content`;
  return 'neither copy is self-consistent (neither hash matches its content)';
}
