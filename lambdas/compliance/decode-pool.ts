import { availableParallelism } from 'node:os';
import { extname, join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { JWK } from 'jose';
import type { ApprovalReceipt } from '../core/receipt';
import type { Result } from '../core/result';
import { decodeLines, type FactBatch, type LineFormat } from './facts';
import type { ReceiptCheck } from './receipts';

/** Turns runs of lines into facts; the facts of each run come back whole, in any order. */
export interface LineDecoder {
  /** `oversized`: the indexes of lines too long to read, in order; their text is left out. */
  decode(
    format: LineFormat,
    firstLine: number,
    lines: readonly string[],
    oversized: readonly number[],
  ): Promise<FactBatch>;
  /** Stops the decoder's threads, if it has any. */
  close(): Promise<void>;
}

/** What a worker is asked: lines travel as one string (one copy rather than one per line). */
export type PoolRequest =
  | {
      readonly kind: 'lines';
      readonly id: number;
      readonly format: LineFormat;
      readonly firstLine: number;
      readonly text: string;
      readonly oversized: readonly number[];
    }
  | { readonly kind: 'receipt'; readonly id: number; readonly jws: string };

export type PoolReply =
  | { readonly id: number; readonly batch: FactBatch }
  | { readonly id: number; readonly receipt: Result<ApprovalReceipt, string> }
  | { readonly id: number; readonly error: string };

/** Decodes on the calling thread: for small inputs, and where no worker can be started. */
export const inThreadDecoder: LineDecoder = {
  decode: (format, firstLine, lines, oversized) =>
    Promise.resolve(decodeLines(format, firstLine, lines, oversized)),
  close: () => Promise.resolve(),
};

/** How many workers use every core; the reading thread's share is small next to theirs. */
export const defaultDecodeWorkers = (): number => availableParallelism();

/** Lines decoded on the calling thread before workers start: a small trail is done before a worker would be. */
export const IN_THREAD_LINES = 20_000;

/**
 * The worker's entry point, next to this module: the `.js`/`.cjs` it was compiled or bundled to,
 * or, when run from TypeScript source, the `.ts` file loaded through tsx (which runs the CLI from
 * source; Node cannot start a worker from a `.ts` file by itself).
 */
function workerEntry(): { readonly source: string; readonly eval: boolean } {
  const extension = extname(__filename);
  const script = join(__dirname, `decode-worker${extension}`);
  if (extension !== '.ts') return { source: script, eval: false };
  const tsx = require.resolve('tsx/cjs');
  return { source: `require(${JSON.stringify(tsx)});require(${JSON.stringify(script)});`, eval: true };
}

/**
 * A worker holds nothing from one run to the next, but V8 sizes an idle heap for throughput and
 * lets garbage pile up to hundreds of MiB before collecting it; these bounds keep both workers'
 * heaps within the CLI's memory budget (a run of lines needs a few MiB at most).
 */
const WORKER_HEAP_LIMITS = { maxOldGenerationSizeMb: 64, maxYoungGenerationSizeMb: 16 };

interface PoolWorker {
  readonly worker: Worker;
  readonly waiting: Map<number, { resolve: (reply: PoolReply) => void; reject: (error: Error) => void }>;
}

/**
 * Decodes on worker threads, so that parsing and hashing, the bulk of verification, use every
 * core; checks receipts there too. Each request goes to the worker with the fewest waiting. The
 * first `inThreadLines` lines are decoded on the calling thread, and workers start only once a
 * trail turns out larger.
 */
export class DecodePool implements LineDecoder {
  private readonly workers: PoolWorker[] = [];
  private nextId = 0;
  private linesInThread = 0;

  constructor(
    private readonly size: number,
    private readonly inThreadLines = IN_THREAD_LINES,
    /** The keys receipts are checked with on the workers. */
    private readonly trustedKeys: readonly JWK[] = [],
  ) {}

  async decode(
    format: LineFormat,
    firstLine: number,
    lines: readonly string[],
    oversized: readonly number[],
  ): Promise<FactBatch> {
    if (this.linesInThread < this.inThreadLines) {
      this.linesInThread += lines.length;
      return inThreadDecoder.decode(format, firstLine, lines, oversized);
    }
    const text = lines.join('\n');
    const reply = await this.ask((id) => ({ kind: 'lines', id, format, firstLine, text, oversized }));
    if (!('batch' in reply)) throw new Error('decode worker: no facts in its reply');
    return reply.batch;
  }

  /**
   * A receipt check that runs on the workers once they have started (signature checks are
   * otherwise the reading thread's largest cost), and with `inThread` before.
   */
  receiptCheck(inThread: ReceiptCheck): ReceiptCheck {
    return async (jws) => {
      if (this.workers.length === 0) return inThread(jws);
      const reply = await this.ask((id) => ({ kind: 'receipt', id, jws }));
      if (!('receipt' in reply)) throw new Error('decode worker: no receipt check in its reply');
      return reply.receipt;
    };
  }

  async close(): Promise<void> {
    const workers = this.workers.splice(0);
    await Promise.all(workers.map(({ worker }) => worker.terminate()));
  }

  private ask(request: (id: number) => PoolRequest): Promise<PoolReply> {
    const target = this.leastBusy();
    const id = this.nextId;
    this.nextId += 1;
    return new Promise((resolve, reject) => {
      target.waiting.set(id, { resolve, reject });
      target.worker.postMessage(request(id));
    });
  }

  private leastBusy(): PoolWorker {
    let best: PoolWorker | undefined;
    for (const candidate of this.workers)
      if (best === undefined || candidate.waiting.size < best.waiting.size) best = candidate;
    // Workers start with the first requests, so a small input costs no more threads than it uses.
    if (best === undefined || (best.waiting.size > 0 && this.workers.length < this.size)) return this.start();
    return best;
  }

  private start(): PoolWorker {
    const entry = workerEntry();
    const worker = new Worker(entry.source, {
      eval: entry.eval,
      workerData: { trustedKeys: this.trustedKeys },
      resourceLimits: WORKER_HEAP_LIMITS,
    });
    const started: PoolWorker = { worker, waiting: new Map() };
    const failAll = (error: Error): void => {
      for (const { reject } of started.waiting.values()) reject(error);
      started.waiting.clear();
    };
    worker.on('message', (reply: PoolReply) => {
      const waiting = started.waiting.get(reply.id);
      if (!waiting) return;
      started.waiting.delete(reply.id);
      // The worker's message as it is: an internal error is printed as one line, the same from any thread.
      if ('error' in reply) waiting.reject(new Error(reply.error));
      else waiting.resolve(reply);
    });
    worker.on('error', failAll);
    worker.on('exit', (code) => failAll(new Error(`decode worker stopped with exit code ${code}`)));
    this.workers.push(started);
    return started;
  }
}
