import type { Hash } from 'node:crypto';
import { pipeline, type Readable, Transform } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { createGunzip } from 'node:zlib';

/** Longer lines are skipped without being buffered, so one corrupt file cannot exhaust memory. */
export const MAX_LINE_CHARS = 1024 * 1024;

/** zlib's default of 16 KiB means a thread-pool round trip and an await for every few lines. */
const GUNZIP_CHUNK_BYTES = 64 * 1024;

/** Stands in for a line that was longer than MAX_LINE_CHARS. */
export const OVERSIZED_LINE = Symbol('oversized line');

export interface LineBatch {
  /** The 1-based number of the first line in `lines`. */
  readonly firstLine: number;
  /** Every line of one chunk of input, blank ones included so numbering stays right. */
  readonly lines: readonly (string | typeof OVERSIZED_LINE)[];
}

/** The input stopped being readable; every line before `line` was delivered. */
export class LineStreamError extends Error {
  override readonly name = 'LineStreamError';
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(message);
  }
}

export interface LineOptions {
  readonly gzip: boolean;
  /** Receives the number of raw (compressed) bytes of each chunk, for progress. */
  readonly onBytes?: (bytes: number) => void;
  /** Fed every raw byte, e.g. to compare an MD5 with an export manifest. */
  readonly digest?: Hash;
}

/**
 * Splits a byte stream into lines, a chunk at a time: memory stays at one chunk plus one line
 * whatever the size of the input. Batches rather than single lines because an await per line
 * costs more than the work done on most lines.
 *
 * @throws LineStreamError once the stream fails (a truncated gzip member, a dropped connection).
 */
export async function* lineBatches(raw: Readable, options: LineOptions): AsyncGenerator<LineBatch> {
  const { onBytes, digest } = options;
  const tap = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      onBytes?.(chunk.length);
      digest?.update(chunk);
      done(null, chunk);
    },
  });
  // pipeline destroys every stage with the first error, which then surfaces in the loop below.
  const text: Readable = options.gzip
    ? pipeline(raw, tap, createGunzip({ chunkSize: GUNZIP_CHUNK_BYTES }), () => {})
    : pipeline(raw, tap, () => {});
  const decoder = new StringDecoder('utf8');
  let pending = '';
  let oversized = false;
  let nextLine = 1;

  const split = (chunk: string): LineBatch => {
    const firstLine = nextLine;
    const lines: (string | typeof OVERSIZED_LINE)[] = [];
    const parts = (pending + chunk).split('\n');
    pending = parts.pop() ?? '';
    for (const part of parts) {
      lines.push(
        oversized || part.length > MAX_LINE_CHARS
          ? OVERSIZED_LINE
          : part.endsWith('\r')
            ? part.slice(0, -1)
            : part,
      );
      oversized = false;
    }
    if (pending.length > MAX_LINE_CHARS) {
      oversized = true;
      pending = '';
    }
    nextLine += lines.length;
    return { firstLine, lines };
  };

  try {
    for await (const chunk of text) {
      const batch = split(decoder.write(chunk as Buffer));
      if (batch.lines.length > 0) yield batch;
    }
  } catch (error) {
    throw new LineStreamError((error as Error).message, nextLine);
  }
  const batch = split(decoder.end());
  // A last line without a newline is still a line.
  const last: string | typeof OVERSIZED_LINE = oversized ? OVERSIZED_LINE : pending;
  const lines: LineBatch['lines'] = last === '' ? batch.lines : [...batch.lines, last];
  if (lines.length > 0) yield { firstLine: batch.firstLine, lines };
}

/** The lines of a whole decompressed object, as one batch, with the same rules as lineBatches. */
export function splitText(text: string): LineBatch[] {
  const parts = text.split('\n');
  if (parts.at(-1) === '') parts.pop();
  const lines = parts.map((part) =>
    part.length > MAX_LINE_CHARS ? OVERSIZED_LINE : part.endsWith('\r') ? part.slice(0, -1) : part,
  );
  return lines.length > 0 ? [{ firstLine: 1, lines }] : [];
}
