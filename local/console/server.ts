import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { build } from 'esbuild';
import { z } from 'zod';
import type { BallotResult } from '../../lambdas/app/decide';
import { VOTE_DECISIONS } from '../../lambdas/core/approval';
import type { Activity, LocalRuntime } from '../runtime';
import type { ActivityListener } from './activity';
import {
  requestView,
  reviewerViews,
  type DecisionAnswer,
  type ModeLabels,
  type RequestDetailView,
  type ReviewerView,
} from './views';

/** What the console needs from the runtime. */
export type ConsoleRuntime = Pick<LocalRuntime, 'vote' | 'requests' | 'timeline' | 'runtime' | 'targets'>;

export interface ConsoleOptions {
  /** 0, the default, picks a free port; a fixed port that is busy falls back to a free one. */
  readonly port?: number;
  readonly modeLabels: ModeLabels;
  /** Subscribes to the runtime's activity (see `ActivityFeed`); returns the unsubscribe. */
  readonly activity?: (listener: ActivityListener) => () => void;
}

export interface ConsoleServer {
  readonly url: string;
  stop(): Promise<void>;
}

/** What a live-update message says: something changed, and for which request when known. */
export interface ConsoleEvent {
  readonly kind: Activity['kind'] | 'vote';
  readonly requestId?: string;
}

const PUBLIC_DIR = join(__dirname, 'public');
const STATIC_FILES: Readonly<Record<string, { file: string; type: string }>> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/index.html': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/styles.css': { file: 'styles.css', type: 'text/css; charset=utf-8' },
  '/favicon.svg': { file: 'favicon.svg', type: 'image/svg+xml' },
};
/** The page's script, served from memory: `client/app.ts` bundled by esbuild when the console starts. */
const PAGE_SCRIPT_PATH = '/app.js';
const PAGE_SCRIPT_ENTRY = join(__dirname, 'client', 'app.ts');

const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

const MAX_DECISION_BYTES = 16 * 1024;

const decisionBody = z.strictObject(
  {
    reviewer: z
      .string({ error: 'reviewer must be the id of a reviewer, as listed by /api/reviewers' })
      .trim()
      .min(1, 'reviewer must not be empty')
      .max(320, 'reviewer must be at most 320 characters'),
    decision: z.enum(VOTE_DECISIONS, { error: 'decision must be "approve" or "deny"' }),
  },
  {
    error: (issue) =>
      issue.code === 'unrecognized_keys'
        ? `unexpected field ${issue.keys.join(', ')}: only reviewer and decision are accepted`
        : 'expected an object { reviewer, decision }',
  },
);

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
  }
}

/**
 * The reviewer console: a page and a small JSON API over the local runtime, on loopback only.
 * It has no sign-in (reviewers are picked from the directory, as `LocalRuntime.vote` documents),
 * so it refuses what would let another site drive it: foreign Host headers (DNS rebinding),
 * foreign Origins and non-JSON bodies on the one state-changing route (CSRF).
 */
export async function startConsole(local: ConsoleRuntime, options: ConsoleOptions): Promise<ConsoleServer> {
  const pageScript = await bundlePageScript();
  const reviewers = reviewerViews(local.runtime.directory);
  const streams = new Set<ServerResponse>();
  const broadcast = (event: ConsoleEvent): void => {
    const frame = `data: ${JSON.stringify(event)}\n\n`;
    for (const stream of streams) stream.write(frame);
  };

  // Filled once the port is known; until then every request is refused.
  const ownHosts = new Set<string>();
  const context: RouteContext = { local, options, pageScript, reviewers, streams, broadcast, ownHosts };
  const server = createServer((request, response) => {
    route(request, response, context).catch((error: unknown) => {
      const known = error instanceof HttpError ? error : undefined;
      if (!known) console.error('console: request failed', error instanceof Error ? error.message : error);
      if (response.headersSent) {
        response.destroy();
        return;
      }
      sendJson(response, known?.status ?? 500, { error: known?.message ?? 'internal error' }, known?.headers);
    });
  });
  const port = await listen(server, options.port ?? 0);
  ownHosts.add(`127.0.0.1:${port}`).add(`localhost:${port}`);
  const unsubscribe =
    options.activity?.((activity) => broadcast(consoleEvent(activity))) ?? (() => undefined);

  return {
    url: `http://127.0.0.1:${port}`,
    async stop() {
      unsubscribe();
      for (const stream of streams) stream.end();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

interface RouteContext {
  readonly local: ConsoleRuntime;
  readonly options: ConsoleOptions;
  readonly pageScript: Uint8Array;
  readonly reviewers: readonly ReviewerView[];
  readonly streams: Set<ServerResponse>;
  readonly broadcast: (event: ConsoleEvent) => void;
  readonly ownHosts: ReadonlySet<string>;
}

async function route(
  request: IncomingMessage,
  response: ServerResponse,
  context: RouteContext,
): Promise<void> {
  if (!context.ownHosts.has(request.headers.host ?? '')) {
    throw new HttpError(403, 'this console answers only to its own address (127.0.0.1 or localhost)');
  }
  const method = request.method ?? 'GET';
  const path = new URL(request.url ?? '/', 'http://console').pathname;

  const asset = STATIC_FILES[path];
  if (asset) {
    allow(method, 'GET');
    const body = await readFile(join(PUBLIC_DIR, asset.file));
    response.writeHead(200, { ...SECURITY_HEADERS, 'content-type': asset.type });
    response.end(body);
    return;
  }
  if (path === PAGE_SCRIPT_PATH) {
    allow(method, 'GET');
    response.writeHead(200, { ...SECURITY_HEADERS, 'content-type': 'text/javascript; charset=utf-8' });
    response.end(context.pageScript);
    return;
  }
  if (path === '/api/requests') {
    allow(method, 'GET');
    return sendJson(response, 200, { requests: (await context.local.requests()).map(requestView) });
  }
  if (path === '/api/reviewers') {
    allow(method, 'GET');
    return sendJson(response, 200, { reviewers: context.reviewers });
  }
  if (path === '/api/mode') {
    allow(method, 'GET');
    return sendJson(response, 200, context.options.modeLabels);
  }
  if (path === '/api/events') {
    allow(method, 'GET');
    return openStream(request, response, context.streams);
  }
  const match = /^\/api\/requests\/([^/]+)(\/decision)?$/.exec(path);
  if (match) {
    const requestId = decodePathSegment(match[1]);
    if (match[2]) {
      allow(method, 'POST');
      return decide(request, response, requestId, context);
    }
    allow(method, 'GET');
    return sendJson(response, 200, await detail(context.local, requestId));
  }
  throw new HttpError(404, `nothing at ${path}`);
}

async function detail(local: ConsoleRuntime, requestId: string): Promise<RequestDetailView> {
  const record = (await local.requests()).find((candidate) => candidate.requestId === requestId);
  if (!record) throw new HttpError(404, `no request ${requestId}`);
  const standIn =
    record.state === 'simulated' ? local.targets.standInState(record.request.action) : undefined;
  return {
    ...requestView(record),
    timeline: { ...(await local.timeline(requestId)), ...(standIn ? { standIn } : {}) },
  };
}

async function decide(
  request: IncomingMessage,
  response: ServerResponse,
  requestId: string,
  context: RouteContext,
): Promise<void> {
  const mediaType = (request.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  if (mediaType !== 'application/json') {
    throw new HttpError(415, 'send the decision as JSON with content-type: application/json');
  }
  const origin = request.headers.origin;
  if (origin !== undefined && ![...context.ownHosts].some((host) => origin === `http://${host}`)) {
    throw new HttpError(403, `decisions are accepted only from this console's own page, not from ${origin}`);
  }
  const parsed = decisionBody.safeParse(parseJson(await readBody(request, MAX_DECISION_BYTES)));
  if (!parsed.success) {
    throw new HttpError(
      400,
      `malformed decision: ${parsed.error.issues.map((issue) => issue.message).join('; ')}`,
    );
  }
  const result = await context.local.vote(requestId, parsed.data.reviewer, parsed.data.decision);
  // Even a refused vote may have added a record to the request's timeline.
  context.broadcast({ kind: 'vote', requestId });
  sendJson(response, ballotStatus(result), result satisfies DecisionAnswer);
}

let pageScriptBuild: Promise<Uint8Array> | undefined;

/** Bundled once per process (a few tens of milliseconds); a failed build is tried again next time. */
function bundlePageScript(): Promise<Uint8Array> {
  pageScriptBuild ??= build({
    entryPoints: [PAGE_SCRIPT_ENTRY],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    logLevel: 'silent',
  }).then(
    (result) => result.outputFiles[0].contents,
    (error: unknown) => {
      pageScriptBuild = undefined;
      throw error;
    },
  );
  return pageScriptBuild;
}

function ballotStatus(result: BallotResult): number {
  if (result.kind === 'counted') return 200;
  return result.code === 'unknown-request' ? 404 : 409;
}

function openStream(request: IncomingMessage, response: ServerResponse, streams: Set<ServerResponse>): void {
  response.writeHead(200, {
    ...SECURITY_HEADERS,
    'content-type': 'text/event-stream',
    connection: 'keep-alive',
  });
  // The comment line makes the browser's EventSource report the stream as open right away.
  response.write(': connected\n\n');
  streams.add(response);
  request.once('close', () => streams.delete(response));
}

function consoleEvent(activity: Activity): ConsoleEvent {
  const requestId =
    activity.kind === 'state'
      ? activity.requestId
      : activity.kind === 'outcome'
        ? (activity.event.detail as { requestId?: unknown }).requestId
        : undefined;
  return { kind: activity.kind, ...(typeof requestId === 'string' ? { requestId } : {}) };
}

function allow(method: string, allowed: string): void {
  if (method !== allowed) throw new HttpError(405, `use ${allowed}`, { allow: allowed });
}

function decodePathSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new HttpError(400, 'the request id in the path is not valid percent-encoding');
  }
}

async function readBody(request: IncomingMessage, limit: number): Promise<string> {
  // Closing the connection stops an oversized upload instead of reading it to the end.
  const tooLarge = new HttpError(413, `the body is larger than ${limit} bytes`, { connection: 'close' });
  if (Number(request.headers['content-length'] ?? 0) > limit) throw tooLarge;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > limit) throw tooLarge;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function parseJson(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    throw new HttpError(400, 'malformed decision: the body is not JSON');
  }
}

function sendJson(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Readonly<Record<string, string>> = {},
): void {
  response.writeHead(status, {
    ...SECURITY_HEADERS,
    ...headers,
    'content-type': 'application/json; charset=utf-8',
  });
  response.end(JSON.stringify(body));
}

/** Listens on loopback; a busy fixed port falls back to a free one, so `npm start` never fails on it. */
async function listen(server: Server, port: number): Promise<number> {
  try {
    await listenOn(server, port);
  } catch (error) {
    if (port === 0 || (error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    await listenOn(server, 0);
  }
  return (server.address() as AddressInfo).port;
}

function listenOn(server: Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error) => {
      server.off('listening', onListening);
      reject(error);
    };
    const onListening = () => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, '127.0.0.1');
  });
}
