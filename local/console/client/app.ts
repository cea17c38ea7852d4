// The reviewer console's page: plain DOM, no framework; the console server bundles it with esbuild
// when it starts. Everything that comes from an agent or the audit trail is placed as text
// (textContent / text nodes), never parsed as HTML, since a justification and the parameters are
// written by the very agent whose request is being reviewed.

import type { RequestState } from '../../../lambdas/core/lifecycle';
import type {
  DecisionAnswer,
  ModeLabels,
  ParameterView,
  RequestDetailView,
  RequestView,
  ReviewerView,
} from '../views';

const STATE_LABELS: Readonly<Record<RequestState, string>> = {
  'awaiting-approval': 'awaiting approval',
  approved: 'approved',
  executing: 'executing',
  executed: 'executed',
  simulated: 'simulated (local stand-in, not AWS)',
  denied: 'denied',
  expired: 'expired',
  failed: 'failed',
};

const POLICY_LABELS: Readonly<Record<string, string>> = {
  'auto-approve': 'not needed: approved by policy',
  deny: 'not possible: denied by policy',
};

type Timeline = RequestDetailView['timeline'] | { readonly error: string };

interface Message {
  readonly tone: 'ok' | 'error';
  readonly text: string;
}

interface RenderedCard {
  readonly element: HTMLElement;
  /** The card's inputs as JSON: the card is rebuilt only when this changes. */
  readonly signature: string;
}

const view = {
  loaded: false,
  requests: [] as readonly RequestView[],
  timelines: new Map<string, Timeline>(),
  openTimelines: new Set<string>(),
  /** The last answer to a vote cast from this page, by request. */
  messages: new Map<string, Message>(),
  busy: new Set<string>(),
  /** So unchanged cards keep their DOM (and focus). */
  rendered: new Map<string, RenderedCard>(),
};

/** The page's own elements (index.html); a missing one is a broken page, not a state to handle. */
function $<T extends HTMLElement = HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (!element) throw new Error(`the page has no #${id}`);
  return element as T;
}

type Child = Node | string | null | undefined | false;
type Children = Child | readonly Child[];

/** Attributes; `className`, `dataset` and `on…` listeners are set as properties instead. */
interface Props {
  readonly [attribute: string]:
    string | boolean | undefined | Readonly<Record<string, string>> | ((event: Event) => void);
}

/** Builds an element; string children become text nodes, so nothing here is ever parsed as HTML. */
function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Props = {},
  ...children: Children[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === false) continue;
    if (typeof value === 'function') element.addEventListener(key.slice(2), value);
    else if (typeof value === 'object') Object.assign(element.dataset, value);
    else if (key === 'className') element.className = String(value);
    else element.setAttribute(key, value === true ? '' : value);
  }
  for (const child of children.flat()) {
    if (child !== undefined && child !== null && child !== false) element.append(child);
  }
  return element;
}

/** The `error` of an API answer, when it has one. */
function errorOf(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null || !('error' in body)) return undefined;
  return typeof body.error === 'string' ? body.error : undefined;
}

/** Reads one of the console's own routes; their answers are typed by `../views`. */
async function getJson<T>(path: string): Promise<T> {
  const response = await fetch(path, { headers: { accept: 'application/json' } });
  const body: unknown = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(errorOf(body) ?? `${path} answered ${response.status}`);
  return body as T;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

// ---------------------------------------------------------------- time

function formatTime(iso: string): string {
  const date = new Date(iso);
  const sameDay = date.toDateString() === new Date().toDateString();
  return sameDay
    ? date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' })
    : date.toLocaleString([], { dateStyle: 'medium', timeStyle: 'short' });
}

function formatRemaining(iso: string): string {
  const seconds = Math.floor((Date.parse(iso) - Date.now()) / 1000);
  if (seconds <= 0) return 'now';
  const hours = Math.floor(seconds / 3600);
  const minutes = Math.floor((seconds % 3600) / 60);
  const rest = seconds % 60;
  if (hours > 0) return `in ${hours} h ${minutes} min`;
  return minutes > 0 ? `in ${minutes} min ${String(rest).padStart(2, '0')} s` : `in ${rest} s`;
}

function tickCountdowns(): void {
  for (const time of document.querySelectorAll<HTMLTimeElement>('time[data-countdown]')) {
    time.textContent = formatRemaining(time.dateTime);
    time.closest('.expiry')?.classList.toggle('soon', Date.parse(time.dateTime) - Date.now() < 60_000);
  }
}

// ---------------------------------------------------------------- rendering

function stateLabel(state: RequestState): string {
  return STATE_LABELS[state] ?? state;
}

function stateBadge(state: RequestState): HTMLElement {
  return h('span', { className: `badge state-${state}` }, stateLabel(state));
}

function fact(label: string, value: Children, width: 'normal' | 'wide' | 'full' = 'normal'): HTMLElement {
  return h('div', { className: `fact ${width}` }, h('dt', {}, label), h('dd', {}, value));
}

function votesSoFar(request: RequestView): HTMLElement[] {
  const approvals = request.votes.filter((vote) => vote.decision === 'approve').length;
  const tally = h(
    'p',
    {},
    h('span', { className: 'tally' }, `${approvals} of ${request.quorum} approvals`),
    h('span', { className: 'muted' }, ` from ${request.approverGroups.join(' or ')}`),
  );
  if (request.votes.length === 0) return [tally, h('p', { className: 'muted' }, 'No votes yet')];
  return [
    tally,
    h(
      'ul',
      { className: 'votes' },
      request.votes.map((vote) =>
        h(
          'li',
          { className: `vote ${vote.decision}`, title: `${vote.at} via ${vote.channel}` },
          h('span', { 'aria-hidden': 'true', className: 'mark' }, vote.decision === 'approve' ? '✓' : '✗'),
          `${vote.reviewer} ${vote.decision === 'approve' ? 'approved' : 'denied'}`,
          h('span', { className: 'muted' }, ` · ${vote.channel}`),
        ),
      ),
    ),
  ];
}

function justification(request: RequestView, headingId: string): HTMLElement {
  const labelId = `${headingId}-justification`;
  return h(
    'figure',
    { className: 'justification', 'aria-labelledby': labelId },
    h(
      'figcaption',
      { id: labelId },
      h('strong', {}, 'Agent’s justification'),
      h('span', { className: 'unverified' }, 'supplied by the agent · unverified'),
    ),
    h('blockquote', {}, request.justification),
  );
}

function detailsText(details: Readonly<Record<string, unknown>>): string {
  return Object.entries(details)
    .map(([key, value]) => `${key}: ${typeof value === 'string' ? value : JSON.stringify(value)}`)
    .join(' · ');
}

function timelineBody(requestId: string): Children {
  const timeline = view.timelines.get(requestId);
  if (!timeline) return h('p', { className: 'muted' }, 'Loading the audit chain…');
  if ('error' in timeline)
    return h('p', { className: 'chain broken' }, `Could not load the audit chain: ${timeline.error}`);
  const { records, verification, standIn } = timeline;
  const status = verification.ok
    ? h(
        'p',
        { className: 'chain ok' },
        h('span', { 'aria-hidden': 'true' }, '✓ '),
        `Chain verified · ${verification.records} records`,
      )
    : h(
        'p',
        { className: 'chain broken' },
        h('span', { 'aria-hidden': 'true' }, '✗ '),
        `Chain broken at record ${verification.index}: ${verification.reason}`,
      );
  return [
    status,
    standIn
      ? h(
          'div',
          { className: 'stand-in' },
          h('p', { className: 'muted' }, `Simulated: answered by ${standIn.name}. It holds now:`),
          h('pre', { className: 'stand-in-state' }, JSON.stringify(standIn.state, null, 2)),
        )
      : null,
    h(
      'ol',
      { className: 'records' },
      records.map((record, index) =>
        h(
          'li',
          { className: !verification.ok && index === verification.index ? 'broken-record' : undefined },
          h('span', { className: 'seq' }, String(record.seq)),
          h('span', { className: 'record-type' }, record.type),
          h('span', { className: 'actor' }, `${record.actor.kind} · ${record.actor.id}`),
          h('time', { datetime: record.at, title: record.at }, formatTime(record.at)),
          h('code', { className: 'hash', title: `hash ${record.hash}` }, `${record.hash.slice(0, 10)}…`),
          record.details
            ? h(
                'span',
                { className: 'record-details', title: detailsText(record.details) },
                detailsText(record.details),
              )
            : null,
        ),
      ),
    ),
  ];
}

/** Every parameter in full: reviewers approve exactly what runs, so nothing is shortened. */
function parameterList(parameters: readonly ParameterView[]): HTMLElement {
  if (parameters.length === 0) return h('p', { className: 'muted' }, 'none');
  return h(
    'dl',
    { className: 'parameters' },
    parameters.map((parameter) =>
      h(
        'div',
        { className: parameter.risky ? 'parameter risky' : 'parameter' },
        h(
          'dt',
          {},
          h('code', {}, parameter.key),
          parameter.risky
            ? h(
                'span',
                { className: 'risk' },
                h('span', { 'aria-hidden': 'true' }, '⚠ '),
                `risky: ${parameter.risky}`,
              )
            : null,
        ),
        h('dd', {}, h('pre', {}, parameter.value)),
      ),
    ),
  );
}

/** What the session holds beyond the action: the agent's companions, and whether IAM scopes it. */
function sessionFacts(request: RequestView): (HTMLElement | null)[] {
  return [
    request.companions && request.companions.length > 0
      ? fact(
          'Also allowed',
          [
            h(
              'ul',
              { className: 'companions' },
              request.companions.map((line) => h('li', {}, h('code', {}, line))),
            ),
            h('p', { className: 'muted' }, 'listed by the agent, bound to the approval'),
          ],
          'full',
        )
      : null,
    request.scopeWarning
      ? fact(
          'Scope',
          h('p', { className: 'risk' }, h('span', { 'aria-hidden': 'true' }, '⚠ '), request.scopeWarning),
          'full',
        )
      : null,
  ];
}

/** What will change, before → after, as text: the after side is what the agent asked for. */
function previewFact(request: RequestView): HTMLElement | null {
  const { preview } = request;
  if (!preview) return null;
  if (preview.status === 'unavailable') {
    return fact(
      'What will change',
      h('p', { className: 'muted' }, `Preview unavailable: ${preview.reason}`),
      'full',
    );
  }
  return fact(
    `What will change: ${request.previewTitle ?? preview.kind}`,
    [
      h(
        'ul',
        { className: 'preview' },
        preview.lines.map((line) =>
          h('li', {}, h('code', {}, line.subject), ': ', line.before, ' → ', h('strong', {}, line.after)),
        ),
      ),
      ...preview.notes.map((note) =>
        h('p', { className: 'risk' }, h('span', { 'aria-hidden': 'true' }, '⚠ '), note),
      ),
    ],
    'full',
  );
}

let cardSerial = 0;

function renderCard(request: RequestView): HTMLElement {
  const id = request.requestId;
  const pending = request.state === 'awaiting-approval';
  cardSerial += 1;
  // Request ids are agent-chosen text, so element ids are numbered instead.
  const headingId = `card-${cardSerial}`;
  const message = view.messages.get(id);
  const busy = view.busy.has(id);

  const timeline = h(
    'details',
    { className: 'timeline', open: view.openTimelines.has(id) },
    h('summary', { dataset: { focusKey: 'timeline' } }, 'Audit timeline'),
    h('div', { className: 'timeline-body' }, timelineBody(id)),
  );
  timeline.addEventListener('toggle', () => {
    // Rendering a card with its timeline open fires `toggle` too; only a change by the reviewer counts.
    if (timeline.open === view.openTimelines.has(id)) return;
    if (timeline.open) {
      view.openTimelines.add(id);
      void loadTimeline(id).then(render);
    } else {
      view.openTimelines.delete(id);
    }
  });

  return h(
    'li',
    { className: `card state-${request.state}`, dataset: { requestId: id } },
    h(
      'article',
      { 'aria-labelledby': headingId },
      h(
        'header',
        { className: 'card-header' },
        h('h3', { id: headingId, tabindex: '-1', dataset: { focusKey: 'heading' } }, request.operation),
        stateBadge(request.state),
        pending
          ? h(
              'p',
              { className: 'expiry' },
              'Expires ',
              h(
                'time',
                { datetime: request.expiresAt, title: request.expiresAt, dataset: { countdown: '' } },
                formatRemaining(request.expiresAt),
              ),
            )
          : null,
      ),
      h(
        'p',
        { className: 'subline' },
        'Request ',
        h('code', {}, id),
        ' · asked ',
        h('time', { datetime: request.createdAt, title: request.createdAt }, formatTime(request.createdAt)),
      ),
      h(
        'dl',
        { className: 'facts' },
        fact('Agent', request.agentId),
        fact('Resource', h('code', {}, request.resource), 'wide'),
        fact(
          'Parameters',
          [
            parameterList(request.parameters),
            h(
              'p',
              { className: 'muted' },
              'hash ',
              h(
                'code',
                { title: 'SHA-256 of the canonical parameters: what runs must hash to this' },
                `${request.parametersHashPrefix}…`,
              ),
            ),
          ],
          'full',
        ),
        ...sessionFacts(request),
        previewFact(request),
        fact('Policy', request.policyReason),
        fact(
          'Approval',
          request.policyOutcome === 'require-approval'
            ? votesSoFar(request)
            : (POLICY_LABELS[request.policyOutcome] ?? request.policyOutcome),
        ),
        // The badge already names the state; a reason is shown when it adds to the policy's.
        request.outcomeReason && request.outcomeReason !== request.policyReason
          ? fact('Outcome', request.outcomeReason, 'full')
          : null,
      ),
      justification(request, headingId),
      pending
        ? h(
            'div',
            { className: 'actions', 'aria-busy': busy ? 'true' : undefined },
            h(
              'button',
              {
                type: 'button',
                className: 'approve',
                'aria-describedby': headingId,
                'aria-disabled': busy ? 'true' : undefined,
                dataset: { focusKey: 'approve' },
                onclick: () => void vote(request, 'approve'),
              },
              'Approve',
            ),
            h(
              'button',
              {
                type: 'button',
                className: 'deny',
                'aria-describedby': headingId,
                'aria-disabled': busy ? 'true' : undefined,
                dataset: { focusKey: 'deny' },
                onclick: () => void vote(request, 'deny'),
              },
              'Deny',
            ),
          )
        : null,
      message ? h('p', { className: `message ${message.tone}` }, message.text) : null,
      timeline,
    ),
  );
}

/** Puts `requests` into `list` in order, rebuilding only the cards whose content changed. */
function syncList(list: HTMLElement, requests: readonly RequestView[]): void {
  const wanted = requests.map((request) => {
    const id = request.requestId;
    const signature = JSON.stringify([
      request,
      view.messages.get(id),
      view.busy.has(id),
      view.openTimelines.has(id),
      view.timelines.get(id),
    ]);
    let entry = view.rendered.get(id);
    if (!entry || entry.signature !== signature) {
      entry = { element: renderCard(request), signature };
      view.rendered.set(id, entry);
    }
    return entry.element;
  });
  // Moving only what is out of place keeps focus in cards that did not change.
  let cursor: Element | null = list.firstElementChild;
  for (const element of wanted) {
    if (element === cursor) cursor = cursor.nextElementSibling;
    else list.insertBefore(element, cursor);
  }
  while (cursor) {
    const next = cursor.nextElementSibling;
    cursor.remove();
    cursor = next;
  }
}

function render(): void {
  const active = document.activeElement instanceof HTMLElement ? document.activeElement : null;
  const card = active?.closest<HTMLElement>('[data-request-id]');
  const focus =
    active && card?.dataset.requestId !== undefined
      ? { requestId: card.dataset.requestId, key: active.dataset.focusKey }
      : undefined;

  const pending = view.requests.filter((request) => request.state === 'awaiting-approval');
  const decided = view.requests.filter((request) => request.state !== 'awaiting-approval');
  syncList($('pending-list'), pending);
  syncList($('decided-list'), decided);
  for (const id of view.rendered.keys()) {
    if (!view.requests.some((request) => request.requestId === id)) view.rendered.delete(id);
  }
  $('pending-count').textContent = `(${pending.length})`;
  $('decided-count').textContent = `(${decided.length})`;
  $('pending-empty').hidden = pending.length > 0;
  $('decided-empty').hidden = decided.length > 0;

  // A rebuilt card takes the focus with it; put it back on the same control, or the card's heading.
  if (focus && !document.activeElement?.closest('[data-request-id]')) {
    const element = view.rendered.get(focus.requestId)?.element;
    const target =
      element?.querySelector<HTMLElement>(`[data-focus-key="${focus.key}"]`) ?? element?.querySelector('h3');
    target?.focus();
  }
  tickCountdowns();
}

function announce(text: string): void {
  const announcer = $('announcer');
  announcer.textContent = '';
  // A fresh text node after a beat makes screen readers repeat an identical message.
  setTimeout(() => {
    announcer.textContent = text;
  }, 50);
}

function announceChanges(before: readonly RequestView[], after: readonly RequestView[]): void {
  const previous = new Map(before.map((request) => [request.requestId, request.state]));
  const changes: string[] = [];
  for (const request of after) {
    const was = previous.get(request.requestId);
    if (was === undefined) changes.push(`New request ${request.requestId}, ${stateLabel(request.state)}.`);
    else if (was !== request.state) changes.push(`${request.requestId} is now ${stateLabel(request.state)}.`);
  }
  if (changes.length > 0) announce(changes.join(' '));
}

// ---------------------------------------------------------------- data

async function loadTimeline(requestId: string): Promise<void> {
  try {
    const { timeline } = await getJson<RequestDetailView>(`/api/requests/${encodeURIComponent(requestId)}`);
    view.timelines.set(requestId, timeline);
  } catch (error) {
    view.timelines.set(requestId, { error: messageOf(error) });
  }
}

async function refresh(): Promise<void> {
  const { requests } = await getJson<{ requests: RequestView[] }>('/api/requests');
  if (view.loaded) announceChanges(view.requests, requests);
  view.requests = requests;
  view.loaded = true;
  await Promise.all([...view.openTimelines].map(loadTimeline));
  $('load-error').hidden = true;
  render();
}

let refreshTimer: ReturnType<typeof setTimeout> | undefined;
let refreshing = false;
let refreshAgain = false;

/** Coalesces bursts of live updates (a request passes several states in a few milliseconds). */
function scheduleRefresh(): void {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(() => void runRefresh(), 80);
}

async function runRefresh(): Promise<void> {
  if (refreshing) {
    refreshAgain = true;
    return;
  }
  refreshing = true;
  try {
    await refresh();
  } catch (error) {
    const problem = $('load-error');
    problem.textContent = `Could not load requests: ${messageOf(error)}`;
    problem.hidden = false;
  } finally {
    refreshing = false;
    if (refreshAgain) {
      refreshAgain = false;
      void runRefresh();
    }
  }
}

type Decision = 'approve' | 'deny';

function describeBallot(
  result: Extract<DecisionAnswer, { kind: 'counted' }>,
  reviewer: string,
  decision: Decision,
): string {
  const what = decision === 'approve' ? 'approval' : 'denial';
  const { outcome } = result;
  if (outcome.status === 'pending')
    return `${reviewer}’s ${what} was counted: ${outcome.note ?? 'still pending'}.`;
  return `${reviewer}’s ${what} was counted: the request is ${outcome.status}${outcome.reviewers.length ? ` (${outcome.reviewers.join(', ')})` : ''}.`;
}

async function vote(request: RequestView, decision: Decision): Promise<void> {
  const id = request.requestId;
  if (view.busy.has(id)) return;
  const picker = $<HTMLSelectElement>('reviewer');
  const reviewer = picker.value;
  if (!reviewer) {
    view.messages.set(id, {
      tone: 'error',
      text: 'Choose who you are reviewing as first (top of the page).',
    });
    render();
    picker.focus();
    return;
  }
  view.busy.add(id);
  render();
  let message: Message;
  try {
    const response = await fetch(`/api/requests/${encodeURIComponent(id)}/decision`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ reviewer, decision }),
    });
    // A refusal or a counted vote, or `{ error }` when the console turned the request away.
    const body = (await response.json().catch(() => ({}))) as DecisionAnswer | { readonly kind?: undefined };
    const refusal = body.kind === 'refused' ? body.reason : errorOf(body);
    message =
      response.ok && body.kind === 'counted'
        ? { tone: 'ok', text: describeBallot(body, reviewer, decision) }
        : { tone: 'error', text: `Refused: ${refusal ?? `the console answered ${response.status}`}` };
  } catch (error) {
    message = { tone: 'error', text: `The vote could not be sent: ${messageOf(error)}` };
  }
  view.busy.delete(id);
  view.messages.set(id, message);
  announce(message.text);
  await runRefresh();
}

// ---------------------------------------------------------------- start

function setConnection(status: 'live' | 'offline', text: string): void {
  const connection = $('connection');
  connection.dataset.status = status;
  connection.textContent = text;
}

function listen(): void {
  const events = new EventSource('/api/events');
  events.addEventListener('open', () => {
    setConnection('live', 'live');
    // Whatever happened while disconnected is picked up by reading everything again.
    scheduleRefresh();
  });
  events.addEventListener('message', scheduleRefresh);
  events.addEventListener('error', () => setConnection('offline', 'reconnecting…'));
}

async function loadHeader(): Promise<void> {
  const [mode, { reviewers }] = await Promise.all([
    getJson<ModeLabels>('/api/mode'),
    getJson<{ reviewers: ReviewerView[] }>('/api/reviewers'),
  ]);
  $('mode-sts').textContent = mode.sts;
  $('mode-channels').textContent = mode.channels.join(', ');
  const picker = $<HTMLSelectElement>('reviewer');
  for (const reviewer of reviewers) {
    picker.append(h('option', { value: reviewer.id }, `${reviewer.id} (${reviewer.groups.join(', ')})`));
  }
  const remembered = sessionStorage.getItem('reviewer');
  if (remembered && reviewers.some((reviewer) => reviewer.id === remembered)) picker.value = remembered;
  picker.addEventListener('change', () => sessionStorage.setItem('reviewer', picker.value));
}

loadHeader().catch((error) => {
  const problem = $('load-error');
  problem.textContent = `Could not load the console’s settings: ${messageOf(error)}`;
  problem.hidden = false;
});
listen();
void runRefresh();
setInterval(tickCountdowns, 1000);
