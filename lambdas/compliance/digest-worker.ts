import { readFileSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';
import type { DigestJob, FromWorker, ToWorker } from './digest-pool';
import { type DigestBatch, digestFile, type FileBytes } from './digest';
import { openLocalFile, unreadableLocalFile } from './stores';

// A verification worker: reads, gunzips, parses and hashes whole files and sends back only the
// digests (see digest.ts). Any exception escapes to the pool as the worker's 'error' event, which
// fails the verification: a worker never reports a file it did not read as read.

/** Batches sent for the current job and not yet taken by the main thread; more wait for its ack. */
const MAX_UNTAKEN_BATCHES = 4;

const port = parentPort;
if (port === null) throw new Error('digest-worker runs only as a worker thread');

const jobs: DigestJob[] = [];
let running = false;
let current = -1;
let untaken = 0;
let taken: (() => void) | undefined;

const send = (message: FromWorker, transfer: ArrayBuffer[] = []): void => port.postMessage(message, transfer);

/**
 * A small file read whole, a large one streamed; or why it cannot be opened. Read synchronously:
 * this thread has nothing else to do meanwhile, and each asynchronous step would be a round trip
 * through libuv's thread pool, which the main thread and the other workers share.
 */
function bytesOf(job: DigestJob): FileBytes | { readonly reason: string } {
  if (job.wholeSize === undefined) return { open: () => openLocalFile(job.path) };
  try {
    return { whole: readFileSync(job.path) };
  } catch (error) {
    return { reason: unreadableLocalFile(error) };
  }
}

async function run(job: DigestJob): Promise<void> {
  const bytes = bytesOf(job);
  if ('reason' in bytes) {
    send({ type: 'done', id: job.id, outcome: { kind: 'unopenable', reason: bytes.reason } });
    return;
  }
  let unsent = 0;
  const outcome = await digestFile(
    bytes,
    job.kind,
    job.md5,
    async (batch: DigestBatch) => {
      untaken += 1;
      send({ type: 'batch', id: job.id, batch, bytes: unsent }, [
        batch.numbers.buffer as ArrayBuffer,
        batch.hashes.buffer as ArrayBuffer,
      ]);
      unsent = 0;
      while (untaken >= MAX_UNTAKEN_BATCHES) await new Promise<void>((resolve) => (taken = resolve));
    },
    (chunk) => {
      unsent += chunk;
    },
  );
  if (unsent > 0) send({ type: 'bytes', id: job.id, bytes: unsent });
  send({ type: 'done', id: job.id, outcome });
}

async function drain(): Promise<void> {
  running = true;
  for (let job = jobs.shift(); job !== undefined; job = jobs.shift()) {
    current = job.id;
    untaken = 0;
    await run(job);
  }
  running = false;
}

port.on('message', (message: ToWorker) => {
  if (message.type === 'taken') {
    if (message.id !== current) return;
    untaken -= 1;
    taken?.();
    taken = undefined;
    return;
  }
  jobs.push(message.job);
  if (!running)
    drain().catch((error: unknown) => {
      // Rethrown outside the promise, so that it ends the worker with an 'error' event.
      setImmediate(() => {
        throw error;
      });
    });
});
