import { createHash, type Hash } from 'node:crypto';
import { posix } from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import type { AuditRecord } from '../core/audit';
import { err, ok, type Result } from '../core/result';
import type { DigestBatch, DigestOutcome, LineKind } from './digest';
import { type DigestedFile, digestHere, type DigestPool } from './digest-pool';
import { type LineBatch, lineBatches, LineStreamError, OVERSIZED_LINE, splitText } from './lines';
import { parseArchiveLine, parseExportLine, parseIncrementalLine } from './record';
import { LocalStore, type ObjectStore, type StoredObject } from './stores';
import { FINDING, type InputFinding, type TrailSource } from './types';

/** A table export as its manifest-summary.json describes it. */
export interface ExportInfo {
  /** The manifest-summary.json it was found by. */
  readonly file: string;
  /** The point in time the export shows the table at (for an incremental export, its end). */
  readonly exportTimeMs: number;
  /** A full export holds the whole table; an incremental one the writes of a time window. */
  readonly type: 'full' | 'incremental';
}

/** A write an incremental export shows that an append-only table never gets. */
export interface TableChange {
  readonly kind: 'update' | 'delete';
  readonly requestId: string;
  readonly seq: number;
}

/** What every visitor of `readTrail` receives besides the records. */
interface InputVisitor {
  problem(finding: InputFinding): void;
  /** Called before any record of an export; its records come before the next export starts. */
  exportStarted?(info: ExportInfo): void;
  /** After an export's records; `complete` is false when some of its data could not be read. */
  exportFinished?(complete: boolean): void;
}

/** Receives each record, parsed, in input order (which is not chain order). */
export interface RecordVisitor extends InputVisitor {
  /** May return a promise to hold reading back, e.g. while receipt checks catch up. */
  record(record: AuditRecord, source: TrailSource, file: string, line: number): void | Promise<void>;
  /** An update or delete in an incremental export (an update's new image comes as a record too). */
  tableChange?(change: TableChange, file: string, line: number): void;
}

/**
 * Receives each record as a digest (its hashes and the few facts verification compares), in
 * batches in input order; an incremental export's updates and deletes are in the batches too.
 */
export interface DigestVisitor extends InputVisitor {
  /** May return a promise to hold reading back, e.g. while receipt checks catch up. */
  digested(batch: DigestBatch, source: TrailSource, file: string): void | Promise<void>;
}

export type TrailVisitor = RecordVisitor | DigestVisitor;

export interface TrailStats {
  readonly archiveObjects: number;
  readonly exports: number;
  readonly dataFiles: number;
}

export interface ReadOptions {
  /** Receives the size of each raw chunk read, for a progress bar. */
  readonly onBytes?: (bytes: number) => void;
}

interface TrailReadOptions extends ReadOptions {
  /** Worker threads that digest local files for a DigestVisitor; without it, digests are made here. */
  readonly pool?: DigestPool;
}

const MANIFEST_SUMMARY = 'manifest-summary.json';
const ARCHIVE_SUFFIX = '.jsonl.gz';
/** Manifests are a few kilobytes; anything much larger is not a manifest. */
const MAX_MANIFEST_BYTES = 16 * 1024 * 1024;
/**
 * Archive objects are small batches, thousands of them: fetching and unzipping the next few while
 * this one is parsed hides the latency of each (an S3 round trip, a thread-pool hop), which
 * otherwise costs more than the parsing.
 */
const READ_AHEAD = 4;
/**
 * With worker threads, archive objects queued per thread: each is a few milliseconds of a worker's
 * work, and the main thread, busy with receipts now and then, must not let a worker run dry.
 */
const POOLED_ARCHIVE_AHEAD = 64;
/** Export data files queued per thread: each is large, and holds up to a few batches while it waits. */
const POOLED_DATA_FILES_AHEAD = 2;
/** Objects up to this size are read ahead whole; larger ones are streamed, so memory stays bounded. */
const READ_AHEAD_MAX_BYTES = 512 * 1024;

const gunzipBuffer = promisify(gunzip);

const isExportSummary = (key: string): boolean => posix.basename(key) === MANIFEST_SUMMARY;
const isArchiveObject = (key: string): boolean => key.endsWith(ARCHIVE_SUFFIX);

const problem = (file: string, reason: string, line?: number): InputFinding =>
  line === undefined
    ? { kind: FINDING.inputError, file, reason }
    : { kind: FINDING.inputError, file, line, reason };

/**
 * An archive object made ready ahead of its turn. Only the compressed bytes wait in memory: they
 * are a fraction of the text, and text that waits outlives the young generation and bloats the heap.
 */
type PreparedObject =
  | { readonly kind: 'digesting'; readonly file: DigestedFile }
  | { readonly kind: 'whole'; readonly compressed: Buffer }
  | { readonly kind: 'stream'; readonly raw: Readable }
  | { readonly kind: 'unreadable'; readonly reason: string };

type Upcoming =
  | { readonly kind: 'archive'; readonly key: string; readonly prepared: Promise<PreparedObject> }
  | { readonly kind: 'export'; readonly key: string };

/**
 * Reads every stream-archive object (`*.jsonl.gz`) and every DynamoDB export (found by its
 * `manifest-summary.json`) under the stores, in listing order. Whatever cannot be read is reported
 * to the visitor with its file and line, and reading goes on with the next line or file.
 */
export async function readTrail(
  stores: readonly ObjectStore[],
  visitor: TrailVisitor,
  options: TrailReadOptions = {},
): Promise<TrailStats> {
  const stats = { archiveObjects: 0, exports: 0, dataFiles: 0 };
  for (const store of stores) {
    const reader = new StoreReader(store, visitor, options);
    const { archiveObjects, exports, dataFiles } = await reader.read();
    stats.archiveObjects += archiveObjects;
    stats.exports += exports;
    stats.dataFiles += dataFiles;
  }
  return stats;
}

/** Total size of everything under the stores: the 100 % of a progress bar. */
export async function totalBytes(stores: readonly ObjectStore[]): Promise<number> {
  let total = 0;
  for (const store of stores) {
    try {
      for await (const { size } of store.list()) total += size;
    } catch {
      // readTrail reports the same listing failure where it belongs.
    }
  }
  return total;
}

class StoreReader {
  private readonly stats = { archiveObjects: 0, exports: 0, dataFiles: 0 };
  private listingFailed = false;

  /** Set when files are digested by worker threads, which open local files themselves. */
  private readonly pool: DigestPool | undefined;
  /** Archive objects read ahead of the one being visited. */
  private readonly readAhead: number;

  constructor(
    private readonly store: ObjectStore,
    private readonly visitor: TrailVisitor,
    private readonly options: TrailReadOptions,
  ) {
    this.pool = 'digested' in visitor && store instanceof LocalStore ? options.pool : undefined;
    // Enough files queued that no worker waits for the next while the main thread links the last.
    this.readAhead = this.pool ? POOLED_ARCHIVE_AHEAD * this.pool.threads : READ_AHEAD;
  }

  async read(): Promise<TrailStats> {
    const listing = this.store.list()[Symbol.asyncIterator]();
    const upcoming: Upcoming[] = [];
    let listed = true;
    for (;;) {
      while (listed && upcoming.filter((next) => next.kind === 'archive').length < this.readAhead) {
        const next = await this.nextListed(listing);
        if (next === undefined) listed = false;
        else if (isArchiveObject(next.key))
          upcoming.push({ kind: 'archive', key: next.key, prepared: this.prepare(next) });
        else if (isExportSummary(next.key)) upcoming.push({ kind: 'export', key: next.key });
        // Everything else (export data files, checksums, _started) is read through a manifest or not at all.
      }
      const next = upcoming.shift();
      if (next === undefined) break;
      if (next.kind === 'archive') {
        this.stats.archiveObjects += 1;
        await this.readArchiveObject(next.key, await next.prepared);
      } else {
        this.stats.exports += 1;
        this.stats.dataFiles += await this.readExport(next.key);
      }
    }
    if (!this.listingFailed && this.stats.archiveObjects + this.stats.exports === 0) {
      this.problem(
        this.store.location,
        `no stream-archive objects (*${ARCHIVE_SUFFIX}) or export manifests (${MANIFEST_SUMMARY})`,
      );
    }
    return this.stats;
  }

  /** The next listed object; undefined at the end, or once listing failed (which is reported). */
  private async nextListed(listing: AsyncIterator<StoredObject>): Promise<StoredObject | undefined> {
    try {
      const next = await listing.next();
      return next.done ? undefined : next.value;
    } catch (error) {
      this.listingFailed = true;
      this.problem(this.store.location, `cannot list: ${(error as Error).message}`);
      return undefined;
    }
  }

  private problem(file: string, reason: string, line?: number): void {
    this.visitor.problem(problem(file, reason, line));
  }

  private async open(key: string): Promise<Result<Readable, string>> {
    try {
      return ok(await this.store.open(key));
    } catch (error) {
      return err((error as Error).message);
    }
  }

  /** Never rejects: whatever goes wrong is part of the result, reported when the object's turn comes. */
  private async prepare(object: StoredObject): Promise<PreparedObject> {
    if (this.pool && this.store instanceof LocalStore)
      return {
        kind: 'digesting',
        file: this.pool.digest(
          this.store.pathOf(object.key),
          'archive',
          false,
          object.size <= READ_AHEAD_MAX_BYTES ? object.size : undefined,
        ),
      };
    const raw = await this.open(object.key);
    if (!raw.ok) return { kind: 'unreadable', reason: raw.error };
    if (object.size > READ_AHEAD_MAX_BYTES) return { kind: 'stream', raw: raw.value };
    const compressed = await this.collect(raw.value, READ_AHEAD_MAX_BYTES * 2);
    return compressed.ok
      ? { kind: 'whole', compressed: compressed.value }
      : { kind: 'unreadable', reason: compressed.error };
  }

  private async collect(raw: Readable, limit: number): Promise<Result<Buffer, string>> {
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      for await (const chunk of raw) {
        const bytes = chunk as Buffer;
        size += bytes.length;
        this.options.onBytes?.(bytes.length);
        if (size > limit) {
          raw.destroy();
          return err(`larger than ${limit} bytes`);
        }
        chunks.push(bytes);
      }
    } catch (error) {
      return err((error as Error).message);
    }
    return ok(Buffer.concat(chunks));
  }

  private async readArchiveObject(key: string, prepared: PreparedObject): Promise<void> {
    const file = this.store.displayName(key);
    switch (prepared.kind) {
      case 'unreadable':
        this.problem(file, prepared.reason);
        return;
      case 'digesting':
        await this.readDigests(prepared.file, file, 'archive', {});
        return;
      case 'whole': {
        if ('digested' in this.visitor) {
          // Read ahead already, and counted for progress then.
          const whole = digestHere({ whole: prepared.compressed }, 'archive', false);
          await this.readDigests(whole, file, 'archive', {});
          return;
        }
        let text: string;
        try {
          text = (await gunzipBuffer(prepared.compressed)).toString('utf8');
        } catch {
          // Streamed again, so the lines before the damage still count and the error names its line.
          await this.readStream(Readable.from([prepared.compressed]), file, this.archiveLine(file), {
            gzip: true,
          });
          return;
        }
        await this.readLines(splitText(text), file, this.archiveLine(file));
        return;
      }
      case 'stream':
        if ('digested' in this.visitor) {
          const { raw } = prepared;
          await this.readDigests(digestHere({ open: async () => raw }, 'archive', false), file, 'archive', {
            onBytes: this.options.onBytes,
          });
          return;
        }
        await this.readStream(prepared.raw, file, this.archiveLine(file), {
          gzip: true,
          onBytes: this.options.onBytes,
        });
        return;
    }
  }

  /** Parses a line as a record of `source` and hands it to the visitor. */
  private recordLine(
    file: string,
    source: TrailSource,
    parse: (line: string) => Result<AuditRecord, string>,
  ): LineConsumer {
    return (line, lineNumber) => {
      const parsed = parse(line);
      if (!parsed.ok) {
        this.problem(file, parsed.error, lineNumber);
        return undefined;
      }
      return (this.visitor as RecordVisitor).record(parsed.value, source, file, lineNumber);
    };
  }

  private archiveLine(file: string): LineConsumer {
    return this.recordLine(file, 'archive', parseArchiveLine);
  }

  /**
   * Hands a file's digests to the visitor; what went wrong with the file is reported as readStream
   * reports it. An unopenable file is the caller's to report.
   */
  private async readDigests(
    digested: DigestedFile,
    file: string,
    kind: LineKind,
    options: { readonly onBytes?: (bytes: number) => void; readonly emptyIsClean?: boolean },
  ): Promise<DataFileRead & { readonly outcome: DigestOutcome }> {
    const visitor = this.visitor as DigestVisitor;
    const source: TrailSource = kind === 'archive' ? 'archive' : 'export';
    let items = 0;
    const outcome = await digested.read((batch) => {
      items += batch.items;
      return visitor.digested(batch, source, file);
    }, options.onBytes);
    if (outcome.kind === 'unopenable') {
      if (kind === 'archive') this.problem(file, outcome.reason);
      return { items, complete: false, outcome };
    }
    if (outcome.failure === undefined) return { items, complete: true, outcome };
    // An export writes an empty file for an empty partition: no bytes, no gzip header, no items.
    if (outcome.bytes === 0 && options.emptyIsClean) return { items: 0, complete: true, outcome };
    this.problem(
      file,
      `unreadable from this line on (${outcome.failure.message}); the rest of the file is skipped`,
      outcome.failure.line,
    );
    return { items, complete: false, outcome };
  }

  /** An incremental export's line: its new image is a record; an update or delete is a change besides. */
  private incrementalLine(file: string): LineConsumer {
    const visitor = this.visitor as RecordVisitor;
    return (line, lineNumber) => {
      const parsed = parseIncrementalLine(line);
      if (!parsed.ok) {
        this.problem(file, parsed.error, lineNumber);
        return undefined;
      }
      const change = parsed.value;
      if (change.kind === 'delete') {
        visitor.tableChange?.(change, file, lineNumber);
        return undefined;
      }
      if (change.kind === 'update') {
        const { requestId, seq } = change.record;
        visitor.tableChange?.({ kind: 'update', requestId, seq }, file, lineNumber);
      }
      return visitor.record(change.record, 'export', file, lineNumber);
    };
  }

  /** Feeds each line to `consume`, counting non-blank lines (parsed or not) in `counter`. */
  private async readLines(
    batches: AsyncIterable<LineBatch> | Iterable<LineBatch>,
    file: string,
    consume: LineConsumer,
    counter = { items: 0 },
  ): Promise<void> {
    for await (const { firstLine, lines } of batches) {
      for (const [index, line] of lines.entries()) {
        const lineNumber = firstLine + index;
        if (line === OVERSIZED_LINE) {
          counter.items += 1;
          this.problem(file, 'line is longer than 1 MiB; skipped', lineNumber);
          continue;
        }
        if (line.trim() === '') continue;
        counter.items += 1;
        const held = consume(line, lineNumber);
        if (held) await held;
      }
    }
  }

  /** readLines over a stream; `complete` is false when the stream broke off (which is reported). */
  private async readStream(
    raw: Readable,
    file: string,
    consume: LineConsumer,
    options: {
      readonly gzip: boolean;
      readonly onBytes?: (bytes: number) => void;
      readonly digest?: Hash;
      /** An export's empty partition is a 0-byte file; an archive object is never empty. */
      readonly emptyIsClean?: boolean;
    },
  ): Promise<DataFileRead> {
    const counter = { items: 0 };
    let bytes = 0;
    const onBytes = (chunk: number): void => {
      bytes += chunk;
      options.onBytes?.(chunk);
    };
    try {
      await this.readLines(lineBatches(raw, { ...options, onBytes }), file, consume, counter);
    } catch (error) {
      if (!(error instanceof LineStreamError)) throw error;
      // An export writes an empty file for an empty partition: no bytes, no gzip header, no items.
      if (bytes === 0 && options.emptyIsClean) return { items: 0, complete: true };
      this.problem(
        file,
        `unreadable from this line on (${error.message}); the rest of the file is skipped`,
        error.line,
      );
      return { items: counter.items, complete: false };
    }
    return { items: counter.items, complete: true };
  }

  private async readExport(summaryKey: string): Promise<number> {
    const summaryFile = this.store.displayName(summaryKey);
    const raw = await this.open(summaryKey);
    const text = raw.ok ? await this.collect(raw.value, MAX_MANIFEST_BYTES) : raw;
    const summary = text.ok ? parseSummary(text.value.toString('utf8')) : text;
    if (!summary.ok) {
      this.problem(summaryFile, `not a usable export manifest: ${summary.error}`);
      return 0;
    }
    const { type, exportTimeMs, itemCount } = summary.value;
    this.visitor.exportStarted?.({ file: summaryFile, exportTimeMs, type });
    const read = await this.readExportData(summaryKey, summaryFile, summary.value);
    if (read.complete && itemCount !== undefined && read.items !== itemCount) {
      this.problem(summaryFile, `itemCount is ${itemCount} but the data files hold ${read.items} items`);
    }
    this.visitor.exportFinished?.(read.complete);
    return read.dataFiles;
  }

  private async readExportData(
    summaryKey: string,
    summaryFile: string,
    summary: ExportSummary,
  ): Promise<{ dataFiles: number; items: number; complete: boolean }> {
    const resolve = exportKeyResolver(summaryKey);
    const manifestKey = resolve(summary.manifestFilesS3Key);
    const manifestFile = this.store.displayName(manifestKey);
    const manifest = await this.open(manifestKey);
    if (!manifest.ok) {
      this.problem(
        summaryFile,
        `manifestFilesS3Key ${manifestFile}: ${manifest.error}; ${summary.itemCount ?? 'all'} items of this export are unverified`,
      );
      return { dataFiles: 0, items: 0, complete: false };
    }

    // The manifest is a line per data file: read whole first, so data files can be started ahead.
    const lines = await this.manifestLines(manifest.value);
    const started = new Map<number, DigestedFile>();
    const startAhead = (from: number): void => {
      if (!this.pool || !(this.store instanceof LocalStore)) return;
      const ahead = POOLED_DATA_FILES_AHEAD * this.pool.threads;
      for (let index = from; index < lines.length && started.size < ahead; index += 1) {
        const line = lines[index];
        if (started.has(index) || !('entry' in line)) continue;
        const path = this.store.pathOf(resolve(line.entry.dataFileS3Key));
        started.set(index, this.pool.digest(path, summary.type === 'full' ? 'export' : 'incremental', true));
      }
    };

    let dataFiles = 0;
    let items = 0;
    // The summary's itemCount is only worth comparing when every data file was read to its end.
    let complete = true;
    for (const [index, line] of lines.entries()) {
      if (!('entry' in line)) {
        complete = false;
        this.problem(manifestFile, line.problem, line.lineNumber);
        continue;
      }
      startAhead(index);
      const digesting = started.get(index);
      started.delete(index);
      dataFiles += 1;
      const read = await this.readDataFile(
        resolve(line.entry.dataFileS3Key),
        line.entry,
        summary.type,
        manifestFile,
        line.lineNumber,
        digesting,
      );
      items += read.items;
      complete &&= read.complete;
    }
    return { dataFiles, items, complete };
  }

  /** A manifest's data file entries and unusable lines, in order; a manifest that breaks off ends in a problem. */
  private async manifestLines(raw: Readable): Promise<ManifestLine[]> {
    const lines: ManifestLine[] = [];
    try {
      for await (const { firstLine, lines: batch } of lineBatches(raw, {
        gzip: false,
        onBytes: this.options.onBytes,
      })) {
        for (const [index, line] of batch.entries()) {
          const lineNumber = firstLine + index;
          if (line === OVERSIZED_LINE) {
            lines.push({ lineNumber, problem: 'line is longer than 1 MiB; skipped' });
            continue;
          }
          if (line.trim() === '') continue;
          const entry = parseDataFileEntry(line);
          lines.push(
            entry.ok
              ? { lineNumber, entry: entry.value }
              : { lineNumber, problem: `not a data file entry: ${entry.error}` },
          );
        }
      }
    } catch (error) {
      if (!(error instanceof LineStreamError)) throw error;
      lines.push({ lineNumber: error.line, problem: `unreadable from this line on (${error.message})` });
    }
    return lines;
  }

  private async readDataFile(
    key: string,
    entry: DataFileEntry,
    type: ExportInfo['type'],
    manifestFile: string,
    lineNumber: number,
    digesting: DigestedFile | undefined,
  ): Promise<DataFileRead> {
    const file = this.store.displayName(key);
    const unopenable = (reason: string): DataFileRead => {
      // One finding for the file, not one per record it held: the records are unverified, not each missing.
      this.problem(
        manifestFile,
        `data file ${file}: ${reason}; the ${entry.itemCount} ${entry.itemCount === 1 ? 'item' : 'items'} it lists are unverified`,
        lineNumber,
      );
      return { items: 0, complete: false };
    };
    let read: DataFileRead;
    let actual: string | undefined;
    if ('digested' in this.visitor) {
      const digested =
        digesting ??
        digestHere({ open: () => this.store.open(key) }, type === 'full' ? 'export' : 'incremental', true);
      const { outcome, ...result } = await this.readDigests(digested, file, 'export', {
        onBytes: this.options.onBytes,
        emptyIsClean: true,
      });
      if (outcome.kind === 'unopenable') return unopenable(outcome.reason);
      read = result;
      actual = outcome.md5;
    } else {
      const raw = await this.open(key);
      if (!raw.ok) return unopenable(raw.error);
      const md5 = createHash('md5');
      const consume =
        type === 'incremental'
          ? this.incrementalLine(file)
          : this.recordLine(file, 'export', parseExportLine);
      read = await this.readStream(raw.value, file, consume, {
        gzip: true,
        onBytes: this.options.onBytes,
        digest: md5,
        emptyIsClean: true,
      });
      actual = md5.digest('base64');
    }
    // A file that broke off is already reported; its count and checksum cannot match.
    if (!read.complete) return read;
    const listedAt = `${manifestFile}:${lineNumber}`;
    if (read.items !== entry.itemCount)
      this.problem(file, `holds ${read.items} items but ${listedAt} lists ${entry.itemCount}`);
    // An empty partition's file may be listed without a checksum, or with the checksum of nothing.
    if (entry.md5Checksum !== undefined && actual !== entry.md5Checksum) {
      this.problem(file, `MD5 is ${actual} but ${listedAt} lists ${entry.md5Checksum}`);
    }
    return read;
  }
}

/** A line of an export's manifest-files.json: a data file, or why it is not one. */
type ManifestLine =
  | { readonly lineNumber: number; readonly entry: DataFileEntry }
  | { readonly lineNumber: number; readonly problem: string };

type LineConsumer = (line: string, lineNumber: number) => void | Promise<void>;

interface DataFileRead {
  /** Non-blank lines, whether they parsed or not: what a manifest counts as items. */
  readonly items: number;
  /** False when the file could not be read to its end. */
  readonly complete: boolean;
}

interface ExportSummary {
  readonly type: ExportInfo['type'];
  readonly exportTimeMs: number;
  readonly manifestFilesS3Key: string;
  readonly itemCount: number | undefined;
}

const EXPORT_TYPES: Readonly<Record<string, ExportInfo['type']>> = {
  FULL_EXPORT: 'full',
  INCREMENTAL_EXPORT: 'incremental',
};

const describeValue = (value: unknown): string =>
  value === undefined ? 'missing' : String(JSON.stringify(value)).slice(0, 60);

function parseSummary(text: string): Result<ExportSummary, string> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return err(`not JSON: ${(error as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return err('expected a JSON object');
  const { outputFormat, manifestFilesS3Key, exportTime, exportToTime, exportType, itemCount } =
    value as Record<string, unknown>;
  if (outputFormat !== 'DYNAMODB_JSON') {
    return err(`outputFormat is ${describeValue(outputFormat)}; only DYNAMODB_JSON exports can be read`);
  }
  // Summaries written before incremental exports existed have no exportType: they are full exports.
  const type =
    exportType === undefined
      ? 'full'
      : typeof exportType === 'string' && Object.hasOwn(EXPORT_TYPES, exportType)
        ? EXPORT_TYPES[exportType]
        : undefined;
  if (type === undefined)
    return err(`exportType is ${describeValue(exportType)}; expected FULL_EXPORT or INCREMENTAL_EXPORT`);
  if (typeof manifestFilesS3Key !== 'string' || manifestFilesS3Key === '')
    return err('manifestFilesS3Key is missing');
  // An incremental export shows the table's writes up to exportToTime.
  const time = type === 'incremental' && exportToTime !== undefined ? exportToTime : exportTime;
  const exportTimeMs = typeof time === 'string' ? Date.parse(time) : NaN;
  if (Number.isNaN(exportTimeMs) || exportTimeMs < 0)
    return err(`${type === 'incremental' ? 'exportToTime' : 'exportTime'} is missing or not a time`);
  if (itemCount !== undefined && (typeof itemCount !== 'number' || !Number.isSafeInteger(itemCount)))
    return err('itemCount is not a whole number');
  return ok({ type, exportTimeMs, manifestFilesS3Key, itemCount });
}

interface DataFileEntry {
  readonly dataFileS3Key: string;
  readonly itemCount: number;
  readonly md5Checksum: string | undefined;
}

function parseDataFileEntry(line: string): Result<DataFileEntry, string> {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (error) {
    return err(`not JSON: ${(error as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return err('expected a JSON object');
  const { dataFileS3Key, itemCount, md5Checksum } = value as Record<string, unknown>;
  if (typeof dataFileS3Key !== 'string' || dataFileS3Key === '') return err('dataFileS3Key is missing');
  if (typeof itemCount !== 'number' || !Number.isSafeInteger(itemCount) || itemCount < 0)
    return err('itemCount is missing or not a count');
  if (md5Checksum !== undefined && typeof md5Checksum !== 'string') return err('md5Checksum is not a string');
  return ok({ dataFileS3Key, itemCount, md5Checksum });
}

/**
 * Manifests name objects by their full S3 key. Resolving the part after `AWSDynamoDB/<exportId>/`
 * against the folder the summary was found in lets an export be verified where it was copied to
 * (another bucket, a local folder) as well as where it was written.
 */
function exportKeyResolver(summaryKey: string): (s3Key: string) => string {
  const exportFolder = posix.dirname(summaryKey);
  return (s3Key) => {
    const inExport = /(?:^|\/)AWSDynamoDB\/[^/]+\/(.+)$/.exec(s3Key);
    if (!inExport) return s3Key;
    return exportFolder === '.' ? inExport[1] : `${exportFolder}/${inExport[1]}`;
  };
}
