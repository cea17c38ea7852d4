import { request as httpRequest } from 'node:http';
import { startConsole } from '../../local/console/server';
import { MODE_LABELS, startHarness, type ConsoleHarness } from './harness';

// One runtime and console for the file: what the console refuses, and how it serves its page.
let harness: ConsoleHarness;
let url: string;

beforeAll(async () => {
  harness = await startHarness();
  url = harness.console.url;
}, 60_000);

afterAll(async () => {
  await harness?.stop();
}, 60_000);

const postDecision = (
  headers: Record<string, string>,
  body = '{"reviewer":"alice@example.com","decision":"approve"}',
) => fetch(`${url}/api/requests/nobody-asked/decision`, { method: 'POST', headers, body });

/** A raw request, for headers fetch will not let a caller set (Host). */
function rawGet(path: string, host: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const { port } = new URL(url);
    const request = httpRequest({ host: '127.0.0.1', port, path, headers: { host } }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    });
    request.on('error', reject);
    request.end();
  });
}

test('the page is served with a strict content security policy and no inline script or style', async () => {
  const response = await fetch(url);
  const html = await response.text();

  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
  expect(response.headers.get('content-security-policy')).toMatch(/^default-src 'self';/);
  expect(response.headers.get('x-content-type-options')).toBe('nosniff');
  expect(html).toContain('<script type="module" src="app.js"></script>');
  expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
  expect(html).not.toMatch(/\s(style|on[a-z]+)=/);
});

test.each([
  ['/app.js', 'text/javascript; charset=utf-8'],
  ['/styles.css', 'text/css; charset=utf-8'],
  ['/favicon.svg', 'image/svg+xml'],
])('%s is served as %s', async (path, type) => {
  const response = await fetch(`${url}${path}`);

  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toBe(type);
});

test.each([
  '/package.json',
  '/../package.json',
  '/%2e%2e/package.json',
  '/public/app.js',
  '/client/app.ts',
  '/server.ts',
])('nothing outside the page’s own files is served: %s', async (path) => {
  expect((await rawGet(path, new URL(url).host)).status).toBe(404);
});

test('a request for another host name is refused, so a rebound DNS name cannot read the API', async () => {
  const { status, body } = await rawGet('/api/requests', `attacker.example:${new URL(url).port}`);

  expect(status).toBe(403);
  expect(JSON.parse(body)).toEqual({ error: expect.stringContaining('only to its own address') });
  expect((await rawGet('/api/mode', `localhost:${new URL(url).port}`)).status).toBe(200);
});

test.each<[Record<string, string>, string]>([
  [{}, 'no content type'],
  [{ 'content-type': 'text/plain' }, 'text/plain'],
  [{ 'content-type': 'application/x-www-form-urlencoded' }, 'a form post'],
])('a decision with %j (%s) is refused with 415', async (headers) => {
  const response = await postDecision(headers);

  expect(response.status).toBe(415);
  expect(await response.json()).toEqual({
    error: 'send the decision as JSON with content-type: application/json',
  });
});

test('a decision from another origin is refused; one from the console’s own page is not', async () => {
  const foreign = await postDecision({
    'content-type': 'application/json',
    origin: 'https://attacker.example',
  });
  const own = await postDecision({ 'content-type': 'application/json; charset=utf-8', origin: url });

  expect(foreign.status).toBe(403);
  expect(await foreign.json()).toEqual({
    error: expect.stringContaining('not from https://attacker.example'),
  });
  expect(own.status).toBe(404);
  expect(await own.json()).toMatchObject({ kind: 'refused', code: 'unknown-request' });
});

test('a decision body over 16 KiB is refused with 413', async () => {
  const body = JSON.stringify({
    reviewer: 'alice@example.com',
    decision: 'approve',
    padding: 'x'.repeat(16 * 1024),
  });
  const response = await postDecision({ 'content-type': 'application/json' }, body);

  expect(response.status).toBe(413);
  expect(await response.json()).toEqual({ error: 'the body is larger than 16384 bytes' });
});

test.each([
  ['GET', '/api/requests/nobody-asked/decision', 'POST'],
  ['POST', '/api/requests', 'GET'],
  ['DELETE', '/', 'GET'],
])('%s %s is a 405 that names %s', async (method, path, allowed) => {
  const response = await fetch(`${url}${path}`, { method });

  expect(response.status).toBe(405);
  expect(response.headers.get('allow')).toBe(allowed);
});

test('unknown API paths are a 404', async () => {
  const response = await fetch(`${url}/api/nothing`);

  expect(response.status).toBe(404);
  expect(await response.json()).toEqual({ error: 'nothing at /api/nothing' });
});

test('runtime activity reaches the live stream, and stopping the console ends the stream', async () => {
  const second = await startConsole(harness.local, {
    modeLabels: MODE_LABELS,
    activity: harness.feed.subscribe,
  });
  const response = await fetch(`${second.url}/api/events`);
  expect(response.headers.get('content-type')).toBe('text/event-stream');
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let received = decoder.decode((await reader.read()).value);

  harness.feed.publish({
    kind: 'outcome',
    event: {
      version: '0',
      id: 'event-1',
      'detail-type': 'Action Denied',
      source: 'action-approvals',
      account: '000000000000',
      time: new Date().toISOString(),
      region: 'us-east-1',
      resources: [],
      detail: { requestId: 'some-request', outcome: 'denied' },
    },
  });
  received += decoder.decode((await reader.read()).value);
  await second.stop();

  expect(received).toBe(': connected\n\ndata: {"kind":"outcome","requestId":"some-request"}\n\n');
  expect((await reader.read()).done).toBe(true);
});

test('a fixed port that is busy falls back to a free one', async () => {
  const busyPort = Number(new URL(url).port);
  const second = await startConsole(harness.local, { port: busyPort, modeLabels: MODE_LABELS });
  try {
    expect(Number(new URL(second.url).port)).not.toBe(busyPort);
    expect(await (await fetch(`${second.url}/api/mode`)).json()).toEqual(MODE_LABELS);
  } finally {
    await second.stop();
  }
});
