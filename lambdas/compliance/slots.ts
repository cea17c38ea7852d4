import type { TrailSource } from './types';

/**
 * What verification remembers about each distinct record, packed into 55 bytes so that millions
 * of them fit in the CLI's memory budget (JS objects and arrays per record or request would cost
 * several times as much): the content hash (32), flags (1), seq (2), the request's previous slot
 * (4), where the record was first read (file index 4, line 4), its time (4, seconds since the
 * epoch), the last export it was read from (2) and the newest full export that holds it (2),
 * both as export numbers (0 for none). A request's records form a list through `next`, newest first.
 */
const SLOT_BYTES = 55;
const FLAGS = 32;
const SEQ = 33;
const NEXT = 35;
const FILE = 39;
const LINE = 43;
const AT = 47;
const LAST_EXPORT = 51;
const NEWEST_FULL_EXPORT = 53;
const SLOTS_PER_CHUNK = 1 << 16;

export const SLOT_FLAG = {
  archive: 1,
  export: 2,
  terminal: 4,
  /** The record's own `hash` field equals the hash of its content. */
  sealed: 8,
} as const;

export const sourceFlag = (source: TrailSource): number =>
  source === 'archive' ? SLOT_FLAG.archive : SLOT_FLAG.export;

/** Marks the end of a request's list; slot indexes are stored + 1 so that it can be 0. */
export const NO_SLOT = -1;

export interface NewSlot {
  /** The SHA-256 of the record's content: 32 bytes. */
  readonly contentHash: Uint8Array;
  readonly flags: number;
  readonly seq: number;
  /** The request's newest slot so far, or NO_SLOT. */
  readonly next: number;
  readonly file: number;
  readonly line: number;
  readonly atMs: number;
  /** The export it was read from (1-based), 0 when read from the archive. */
  readonly lastExport: number;
  /** The same, when that export is a full one; else 0. */
  readonly newestFullExport: number;
}

/** A growing array of fixed-size slots, allocated in chunks so growth never copies what is there. */
export class SlotArena {
  private readonly chunks: Buffer[] = [];
  private count = 0;

  get size(): number {
    return this.count;
  }

  add(slot: NewSlot): number {
    const index = this.count;
    if (index % SLOTS_PER_CHUNK === 0) this.chunks.push(Buffer.allocUnsafe(SLOTS_PER_CHUNK * SLOT_BYTES));
    this.count += 1;
    const [chunk, offset] = this.locate(index);
    chunk.set(slot.contentHash, offset);
    chunk.writeUInt8(slot.flags, offset + FLAGS);
    chunk.writeUInt16LE(slot.seq, offset + SEQ);
    chunk.writeUInt32LE(slot.next + 1, offset + NEXT);
    chunk.writeUInt32LE(slot.file, offset + FILE);
    chunk.writeUInt32LE(slot.line, offset + LINE);
    chunk.writeUInt32LE(Math.floor(slot.atMs / 1000), offset + AT);
    chunk.writeUInt16LE(slot.lastExport, offset + LAST_EXPORT);
    chunk.writeUInt16LE(slot.newestFullExport, offset + NEWEST_FULL_EXPORT);
    return index;
  }

  /** The slot of `seq` in the list starting at `head`, or NO_SLOT. */
  find(head: number, seq: number): number {
    for (let slot = head; slot !== NO_SLOT; slot = this.next(slot)) {
      if (this.seq(slot) === seq) return slot;
    }
    return NO_SLOT;
  }

  /** True when the slot's content hash is the 32 bytes of `hash` from `from`. */
  hasContentHash(index: number, hash: Uint8Array, from = 0): boolean {
    const [chunk, offset] = this.locate(index);
    return chunk.compare(hash, from, from + 32, offset, offset + 32) === 0;
  }

  flags(index: number): number {
    const [chunk, offset] = this.locate(index);
    return chunk.readUInt8(offset + FLAGS);
  }

  addFlags(index: number, flags: number): void {
    const [chunk, offset] = this.locate(index);
    chunk.writeUInt8(chunk.readUInt8(offset + FLAGS) | flags, offset + FLAGS);
  }

  seq(index: number): number {
    const [chunk, offset] = this.locate(index);
    return chunk.readUInt16LE(offset + SEQ);
  }

  next(index: number): number {
    const [chunk, offset] = this.locate(index);
    return chunk.readUInt32LE(offset + NEXT) - 1;
  }

  file(index: number): number {
    const [chunk, offset] = this.locate(index);
    return chunk.readUInt32LE(offset + FILE);
  }

  line(index: number): number {
    const [chunk, offset] = this.locate(index);
    return chunk.readUInt32LE(offset + LINE);
  }

  atMs(index: number): number {
    const [chunk, offset] = this.locate(index);
    return chunk.readUInt32LE(offset + AT) * 1000;
  }

  lastExport(index: number): number {
    const [chunk, offset] = this.locate(index);
    return chunk.readUInt16LE(offset + LAST_EXPORT);
  }

  setLastExport(index: number, exportNumber: number): void {
    const [chunk, offset] = this.locate(index);
    chunk.writeUInt16LE(exportNumber, offset + LAST_EXPORT);
  }

  newestFullExport(index: number): number {
    const [chunk, offset] = this.locate(index);
    return chunk.readUInt16LE(offset + NEWEST_FULL_EXPORT);
  }

  setNewestFullExport(index: number, exportNumber: number): void {
    const [chunk, offset] = this.locate(index);
    chunk.writeUInt16LE(exportNumber, offset + NEWEST_FULL_EXPORT);
  }

  private locate(index: number): [Buffer, number] {
    return [this.chunks[Math.floor(index / SLOTS_PER_CHUNK)], (index % SLOTS_PER_CHUNK) * SLOT_BYTES];
  }
}
