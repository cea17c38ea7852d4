import { type AuditRecord, GENESIS_HASH, hashRecord, TERMINAL_RECORD_TYPES } from '../core/audit';
import type { ApprovalReceipt } from '../core/receipt';
import type { Result } from '../core/result';
import {
  bindingMismatches,
  bindingOf,
  executionMismatches,
  type ReceiptBinding,
  type ReceiptCheck,
} from './receipts';
import { NO_SLOT, SLOT_FLAG, SlotArena, sourceFlag } from './slots';
import type { ObjectStore } from './stores';
import { readTrail, type ReadOptions, type TrailStats, type TrailVisitor } from './trail';
import {
  FINDING,
  type Finding,
  type FindingKind,
  type InputFinding,
  type RecordFinding,
  type TrailSource,
} from './types';

export interface VerifyOptions extends ReadOptions {
  /** Checks the receipt of every `executed` record; without it receipts are not checked at all. */
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
  /** `executed` records; each needs a valid receipt. */
  readonly executions: number;
  readonly receipts: 'checked' | 'skipped';
  /** True when both the stream archive and an export were read and compared record by record. */
  readonly crossChecked: boolean;
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
 * Receipt signatures are checked on libuv's thread pool (four threads by default): a few at once keep
 * it busy; more only hold native key objects in memory until the next garbage collection.
 */
const RECEIPT_CONCURRENCY = 8;
const PROGRESS_EVERY = 10_000;

/** What a few requests need for a while; most requests never have any. */
interface RequestExtras {
  /** prevHash of records whose predecessor has not been read yet (out-of-order input only). */
  pendingPrev?: Map<number, string>;
  /** The earliest chain problem found while reading. */
  firstBreak?: RecordFinding;
  /** Kept from the `requested` record until the receipt has been compared with it. */
  binding?: ReceiptBinding;
  /** A genuine receipt read before its `requested` record. */
  receiptAwaitingBinding?: CheckedReceipt;
}

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
 * (51 bytes each) and requests (about 70 bytes each), with the number of input files (their names)
 * and with the listed findings; nothing else.
 */
export async function verifyTrail(
  stores: readonly ObjectStore[],
  options: VerifyOptions = {},
): Promise<VerifyReport> {
  const verifier = new TrailVerifier(options);
  const inputs = await readTrail(stores, verifier, options);
  return verifier.finish(inputs);
}

class TrailVerifier implements TrailVisitor {
  private readonly arena = new SlotArena();
  /** requestId → the request's newest slot. */
  private readonly heads = new Map<string, number>();
  private readonly extras = new Map<string, RequestExtras>();
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

  exportStarted(exportTime: string): void {
    this.latestExportMs = Math.max(this.latestExportMs, Date.parse(exportTime));
  }

  record(record: AuditRecord, source: TrailSource, file: string, line: number): void | Promise<void> {
    this.recordsRead += 1;
    if (this.recordsRead % PROGRESS_EVERY === 0) this.options.onRecords?.(this.recordsRead);
    this.sourcesSeen.add(source);
    const { requestId, seq } = record;
    if (seq > MAX_SEQ) {
      this.report({
        kind: FINDING.inputError,
        file,
        line,
        reason: `seq ${seq} of ${requestId} is beyond ${MAX_SEQ}; record skipped`,
      });
      return undefined;
    }
    const { hash, ...unsealed } = record;
    const contentHash = hashRecord(unsealed);
    const head = this.heads.get(requestId) ?? NO_SLOT;
    const existing = this.arena.find(head, seq);
    if (existing !== NO_SLOT) {
      this.sameKey(existing, record, contentHash, source, file, line);
      return undefined;
    }

    const atMs = Date.parse(record.at);
    this.newestMs = Math.max(this.newestMs, atMs);
    const terminal = TERMINAL_RECORD_TYPES.has(record.type);
    const sealed = contentHash === hash;
    const slot = this.arena.add({
      contentHash,
      flags: sourceFlag(source) | (terminal ? SLOT_FLAG.terminal : 0) | (sealed ? SLOT_FLAG.sealed : 0),
      seq,
      next: head,
      file: this.indexOf(file),
      line,
      atMs,
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
    this.link(slot, record, file, line);

    if (record.type === 'requested') this.requested(record);
    else if (record.type === 'executed') return this.executed(record, file, line);
    else if (terminal) this.updateExtras(requestId, { binding: undefined });
    return undefined;
  }

  async finish(inputs: TrailStats): Promise<VerifyReport> {
    await Promise.all(this.inFlight);
    const crossChecked = this.sourcesSeen.size === 2;
    const crossCheckUntil = this.latestExportMs - EXPORT_GRACE_MS;
    const maxQuietMs = (this.options.maxOpenHours ?? 24) * 3_600_000;
    let openRequests = 0;
    for (const [requestId, head] of this.heads) {
      const bySeq = this.slotsBySeq(head);
      const firstBreak = this.completeChain(requestId, bySeq);
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
      if (crossChecked) this.crossCheck(requestId, bySeq, crossCheckUntil);
    }
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
      counts: this.counts,
      findings: this.findings,
      findingsOmitted: total - this.findings.length,
    };
  }

  /** A record whose (requestId, seq) was read before: a re-delivery, the other source's copy, or a conflict. */
  private sameKey(
    existing: number,
    record: AuditRecord,
    contentHash: string,
    source: TrailSource,
    file: string,
    line: number,
  ): void {
    const alreadyInSource = (this.arena.flags(existing) & sourceFlag(source)) !== 0;
    this.arena.addFlags(existing, sourceFlag(source));
    if (this.arena.hasContentHash(existing, contentHash)) {
      if (alreadyInSource) this.duplicates += 1;
      return;
    }
    const first = this.locationOf(existing);
    this.report({
      kind: FINDING.conflictingRecords,
      requestId: record.requestId,
      seq: record.seq,
      file,
      line,
      reason: `differs from the record read at ${first.file}:${first.line}`,
    });
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
  private link(slot: number, record: AuditRecord, file: string, line: number): void {
    const { requestId, seq, prevHash } = record;
    const broken = (at: number, where: { file: string; line: number }, reason: string) =>
      this.chainBreak(requestId, { kind: FINDING.chainBreak, requestId, seq: at, ...where, reason });
    const pending = this.extras.get(requestId)?.pendingPrev;
    if (seq === 0) {
      if (prevHash !== GENESIS_HASH)
        broken(0, { file, line }, 'the first record does not point at the genesis hash');
    } else {
      const previous = this.arena.find(this.arena.next(slot), seq - 1);
      if (previous === NO_SLOT) {
        this.updateExtras(requestId, { pendingPrev: new Map(pending).set(seq, prevHash) });
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

  private crossCheck(requestId: string, bySeq: readonly number[], until: number): void {
    for (const [seq, slot] of bySeq.entries()) {
      if (slot === NO_SLOT || this.arena.atMs(slot) > until) continue;
      const flags = this.arena.flags(slot);
      const inArchive = (flags & SLOT_FLAG.archive) !== 0;
      const inExport = (flags & SLOT_FLAG.export) !== 0;
      if (inArchive === inExport) continue;
      this.report({
        kind: inArchive ? FINDING.onlyInArchive : FINDING.onlyInExport,
        requestId,
        seq,
        ...this.locationOf(slot),
        reason: inArchive
          ? 'in the stream archive but in no export'
          : 'in an export but not in the stream archive',
      });
    }
  }

  private requested(record: AuditRecord): void {
    if (!this.options.checkReceipt) return;
    const binding = bindingOf(record);
    const waiting = this.extras.get(record.requestId)?.receiptAwaitingBinding;
    if (waiting) {
      this.updateExtras(record.requestId, { receiptAwaitingBinding: undefined });
      this.compareWithBinding(record.requestId, waiting, binding);
    } else {
      this.updateExtras(record.requestId, { binding });
    }
  }

  private executed(record: AuditRecord, file: string, line: number): void | Promise<void> {
    this.executions += 1;
    const check = this.options.checkReceipt;
    if (!check) return undefined;
    const { requestId, seq } = record;
    const jws = record.details?.receipt;
    if (typeof jws !== 'string') {
      this.updateExtras(requestId, { binding: undefined });
      this.report({
        kind: FINDING.receiptMissing,
        requestId,
        seq,
        file,
        line,
        reason: 'the executed record carries no details.receipt',
      });
      return undefined;
    }
    const task = check(jws).then((result) => {
      this.inFlight.delete(task);
      this.receiptChecked(record, file, line, result);
    });
    this.inFlight.add(task);
    return this.inFlight.size >= RECEIPT_CONCURRENCY ? Promise.race(this.inFlight) : undefined;
  }

  private receiptChecked(
    record: AuditRecord,
    file: string,
    line: number,
    result: Result<ApprovalReceipt, string>,
  ): void {
    const { requestId, seq } = record;
    if (!result.ok) {
      this.updateExtras(requestId, { binding: undefined });
      this.report({ kind: FINDING.receiptInvalid, requestId, seq, file, line, reason: result.error });
      return;
    }
    const mismatches = executionMismatches(result.value, record);
    if (mismatches.length > 0) {
      this.updateExtras(requestId, { binding: undefined });
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
    const checked = { receipt: result.value, seq, file, line };
    const binding = this.extras.get(requestId)?.binding;
    if (binding) {
      this.updateExtras(requestId, { binding: undefined });
      this.compareWithBinding(requestId, checked, binding);
    } else {
      this.updateExtras(requestId, { receiptAwaitingBinding: checked });
    }
  }

  private compareWithBinding(requestId: string, checked: CheckedReceipt, binding: ReceiptBinding): void {
    const mismatches = bindingMismatches(checked.receipt, binding);
    if (mismatches.length === 0) return;
    const { seq, file, line } = checked;
    this.report({ kind: FINDING.receiptMismatch, requestId, seq, file, line, reason: mismatches.join('; ') });
  }
}
