import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request exactly as the server received it. */
export interface RecordedRequest {
  readonly method: string;
  /** The path with its query string, as sent (`/api/chat.postMessage?x=1`). */
  readonly path: string;
  /** Header names are lower-case, as Node delivers them. */
  readonly headers: IncomingHttpHeaders;
  /** The raw body, undecoded, so tests can assert exactly what went over the wire. */
  readonly body: string;
}

/** What the server answers; `body` objects are sent as JSON. */
export interface RecordedResponse {
  readonly status?: number;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string | object;
}

export type RequestResponder = (request: RecordedRequest) => RecordedResponse | Promise<RecordedResponse>;

export interface RecordingHttpServer {
  /** `http://127.0.0.1:<port>`, without a trailing slash. */
  readonly url: string;
  /** Every request received so far, in arrival order. */
  readonly requests: readonly RecordedRequest[];
  /** Requests whose path (without query string) equals `path`. */
  requestsTo(path: string): RecordedRequest[];
  /** Replaces the responder for the requests that follow. */
  respondWith(responder: RequestResponder): void;
  /** Forgets the recorded requests; the responder stays. */
  clear(): void;
  close(): Promise<void>;
}

const answerEmptyJson: RequestResponder = () => ({ status: 200, body: {} });

/**
 * A local HTTP server on a free loopback port that records every request and answers through a
 * replaceable responder: a stand-in for Slack's Web API, the Bot Connector, or any HTTP service a
 * test wants to observe. A responder that throws answers 500 with the error's message.
 */
export async function startRecordingHttpServer(
  responder: RequestResponder = answerEmptyJson,
): Promise<RecordingHttpServer> {
  const requests: RecordedRequest[] = [];
  let respond = responder;

  const server: Server = createServer((incoming, outgoing) => {
    const chunks: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
    incoming.on('end', () => {
      const request: RecordedRequest = {
        method: incoming.method ?? 'GET',
        path: incoming.url ?? '/',
        headers: incoming.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      requests.push(request);
      Promise.resolve()
        .then(() => respond(request))
        .then(
          (response) => send(outgoing, response),
          (error: unknown) =>
            send(outgoing, {
              status: 500,
              body: { error: error instanceof Error ? error.message : String(error) },
            }),
        );
    });
  });
  // Keep-alive sockets would otherwise hold close() open until clients time them out.
  server.keepAliveTimeout = 1_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    requestsTo: (path) => requests.filter((request) => request.path.split('?')[0] === path),
    respondWith: (next) => {
      respond = next;
    },
    clear: () => {
      requests.length = 0;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

function send(outgoing: ServerResponse, response: RecordedResponse): void {
  const isJson = response.body !== undefined && typeof response.body !== 'string';
  const body =
    response.body === undefined ? '' : isJson ? JSON.stringify(response.body) : (response.body as string);
  outgoing.writeHead(response.status ?? 200, {
    ...(isJson ? { 'content-type': 'application/json' } : {}),
    ...response.headers,
  });
  outgoing.end(body);
}
