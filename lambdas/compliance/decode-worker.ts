import { parentPort } from 'node:worker_threads';
import type { DecodeReply, DecodeRequest } from './decode-pool';
import { decodeLines, transferablesOf } from './facts';

// A decode pool's worker: decodes each run of lines it is sent and hands the facts back.
const port = parentPort;
port?.on('message', ({ id, format, firstLine, lines }: DecodeRequest) => {
  let reply: DecodeReply;
  try {
    const batch = decodeLines(format, firstLine, lines);
    port.postMessage({ id, batch } satisfies DecodeReply, transferablesOf(batch));
    return;
  } catch (error) {
    reply = { id, error: error instanceof Error ? error.message : String(error) };
  }
  port.postMessage(reply);
});
