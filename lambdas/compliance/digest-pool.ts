import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { type DigestBatch, digestFile, type DigestOutcome, type FileBytes, type LineKind } from './digest';

/** One file for a worker to read: a local path, since a worker opens and reads it itself. */
export interface DigestJob {
  readonly id: number;
  readonly path: string;
  readonly kind: LineKind;
  /** Whether to take the MD5 of the raw bytes (export data files list one). */
  readonly md5: boolean;
  /** The file's size when known and small enough to read whole; else it is streamed. */
  readonly wholeSize: number | undefined;
}

export type ToWorker =
  { readonly type: 'job'; readonly job: DigestJob } | { readonly type: 'taken'; readonly id: number };

export type FromWorker =
  | { readonly type: 'batch'; readonly id: number; readonly batch: DigestBatch; readonly bytes: number }
  | { readonly type: 'bytes'; readonly id: number; readonly bytes: number }
  | { readonly type: 'done'; readonly id: number; readonly outcome: DigestOutcome };

/** Receives a file's batches in line order; a returned promise holds the next batch back. */
export type BatchConsumer = (batch: DigestBatch) => void | Promise<void>;

/** A file being digested, here or on a worker; `read` delivers its batches and says how it ended. */
export interface DigestedFile {
  read(consume: BatchConsumer, onBytes?: (bytes: number) => void): Promise<DigestOutcome>;
}

/** Digests a file on this thread: for inputs a worker cannot open (S3) and small trails. */
export function digestHere(bytes: FileBytes, kind: LineKind, md5: boolean): DigestedFile {
  return { read: (consume, onBytes) => digestFile(bytes, kind, md5, consume, onBytes) };
}

/** More threads than this only add memory: the main thread links what they digest, and that is the next limit. */
const MAX_THREADS = 4;

/** Worker threads for a machine: one per core, as the main thread mostly waits for them. */
export const defaultThreads = (): number => Math.min(availableParallelism(), MAX_THREADS);

/**
 * A worker holds one batch, one chunk of text and one line at a time (a whole small object at
 * most): a small heap makes V8 collect early instead of growing each worker's heap to hundreds of
 * MiB, which is the difference between fitting the CLI's memory budget and not.
 */
const WORKER_LIMITS = { maxOldGenerationSizeMb: 32, maxYoungGenerationSizeMb: 4 };

/**
 * A worker runs from source under tsx and ts-jest, neither of which hooks a worker's own module
 * loading, so it registers tsx's require hook first; a bundle (the bench) ships the worker's own
 * bundle next to it.
 */
function startWorker(): Worker {
  if (!__filename.endsWith('.ts'))
    return new Worker(join(__dirname, 'digest-worker.js'), { resourceLimits: WORKER_LIMITS });
  const hook = JSON.stringify(require.resolve('tsx/cjs'));
  const entry = JSON.stringify(join(__dirname, 'digest-worker.ts'));
  return new Worker(`require(${hook});require(${entry});`, { eval: true, resourceLimits: WORKER_LIMITS });
}

const firstLine = (text: string): string => text.split('\n')[0];

/**
 * Worker threads that read, gunzip, parse and hash whole files and send back digests. It fails
 * closed: once a worker fails, every file it had and every file asked for after that rejects, so a
 * verification ends as an internal error and never as a clean report of files that were not read.
 */
export class DigestPool {
  private readonly workers: { readonly worker: Worker; readonly jobs: Map<number, PooledFile> }[];
  private nextId = 0;
  private failure: Error | undefined;
  private closing = false;

  constructor(threads: number) {
    this.workers = Array.from({ length: threads }, () => {
      const entry = { worker: startWorker(), jobs: new Map<number, PooledFile>() };
      entry.worker.on('message', (message: FromWorker) => entry.jobs.get(message.id)?.receive(message));
      entry.worker.on('error', (error: Error) =>
        this.fail(new Error(`a verification thread failed: ${firstLine(error.message)}`)),
      );
      entry.worker.on('exit', (code) => {
        if (!this.closing) this.fail(new Error(`a verification thread stopped (exit code ${code})`));
      });
      return entry;
    });
  }

  /** Starts digesting a local file on the least busy worker; `wholeSize` as in DigestJob. */
  digest(path: string, kind: LineKind, md5: boolean, wholeSize?: number): DigestedFile {
    const id = this.nextId;
    this.nextId += 1;
    const target = this.workers.reduce((least, entry) => (entry.jobs.size < least.jobs.size ? entry : least));
    const file = new PooledFile(id, target.worker, () => target.jobs.delete(id));
    if (this.failure) {
      file.fail(this.failure);
      return file;
    }
    target.jobs.set(id, file);
    target.worker.postMessage({ type: 'job', job: { id, path, kind, md5, wholeSize } } satisfies ToWorker);
    return file;
  }

  get threads(): number {
    return this.workers.length;
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.workers.map(({ worker }) => worker.terminate()));
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const { jobs } of this.workers) for (const file of jobs.values()) file.fail(this.failure);
  }
}

class PooledFile implements DigestedFile {
  private readonly inbox: FromWorker[] = [];
  private wake: (() => void) | undefined;
  private error: Error | undefined;

  constructor(
    private readonly id: number,
    private readonly worker: Worker,
    private readonly forget: () => void,
  ) {}

  receive(message: FromWorker): void {
    this.inbox.push(message);
    this.wake?.();
  }

  fail(error: Error): void {
    this.error ??= error;
    this.wake?.();
  }

  async read(consume: BatchConsumer, onBytes?: (bytes: number) => void): Promise<DigestOutcome> {
    try {
      for (;;) {
        const message = await this.next();
        if (message.type === 'done') return message.outcome;
        if (message.bytes > 0) onBytes?.(message.bytes);
        if (message.type === 'batch') {
          this.worker.postMessage({ type: 'taken', id: this.id } satisfies ToWorker);
          await consume(message.batch);
        }
      }
    } finally {
      this.forget();
    }
  }

  private async next(): Promise<FromWorker> {
    for (;;) {
      if (this.error) throw this.error;
      const message = this.inbox.shift();
      if (message !== undefined) return message;
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = undefined;
    }
  }
}
