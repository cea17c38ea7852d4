import { parentPort, workerData } from 'node:worker_threads';
import type { JWK } from 'jose';
import type { PoolReply, PoolRequest } from './decode-pool';
import { decodeLines, transferablesOf } from './facts';
import { receiptChecker } from './receipts';

// A decode pool's worker: decodes each run of lines it is sent and hands the facts back, and
// checks the receipts it is sent with the keys it was started with.
const port = parentPort;
const { trustedKeys } = workerData as { trustedKeys: readonly JWK[] };
const checkReceipt = receiptChecker(trustedKeys);

port?.on('message', (request: PoolRequest) => {
  const { id } = request;
  if (request.kind === 'receipt') {
    checkReceipt(request.jws).then(
      (receipt) => port.postMessage({ id, receipt } satisfies PoolReply),
      (error: unknown) =>
        port.postMessage({ id, error: error instanceof Error ? error.message : String(error) }),
    );
    return;
  }
  let reply: PoolReply;
  try {
    const batch = decodeLines(request.format, request.firstLine, request.text.split('\n'), request.oversized);
    port.postMessage({ id, batch } satisfies PoolReply, transferablesOf(batch));
    return;
  } catch (error) {
    reply = { id, error: error instanceof Error ? error.message : String(error) };
  }
  port.postMessage(reply);
});
