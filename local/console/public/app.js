// The reviewer console's page: plain DOM, no framework, no build step. Everything that comes from
// an agent or the audit trail is placed as text (textContent / text nodes), never parsed as HTML,
// since a justification is written by the very agent whose request is being reviewed.

const STATE_LABELS = {
  'awaiting-approval': 'awaiting approval',
  approved: 'approved',
  executing: 'executing',
  executed: 'executed',
  denied: 'denied',
  expired: 'expired',
  failed: 'failed',
};

const POLICY_LABELS = {
  'auto-approve': 'not needed: approved by policy',
  deny: 'not possible: denied by policy',
};

const view = {
  loaded: false,
  requests: [],
  /** requestId → { records, verification } or { error } */
  timelines: new Map(),
  openTimelines: new Set(),
  /** requestId → { tone: 'ok' | 'error', text }: the last answer to a vote cast from this page. */
  messages: new Map(),
  busy: new Set(),
  /** requestId → { element, signature }, so unchanged cards keep their DOM (and focus). */
  rendered: new Map(),
};

const $ = (id) => document.getElementById(id);

/** Builds an element; string children become text nodes, so nothing here is ever parsed as HTML. */
function h(tag, props = {}, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'className') element.className = value;
    else if (key === 'dataset') Object.assign(element.dataset, value);
    else if (key.startsWith('on')) element.addEventListener(key.slice(2), value);
    else element.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child !== undefined && child !== null && child !== false) element.append(child);
  }
  return element;
}

async function getJson(path) {
  const response = await fetch(path, { headers: { accept: 'application/json' } });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.error ?? `${path} answered ${response.status}`);
  return body;
}

// ---------------------------------------------------------------- time

function formatTime(iso) {
  const date = new Date(iso);
  const sameDay = date.toDateString() === new Date().toDateString();
  return sameDay
    ? date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' })
    : date.toLocaleString([], { dateStyle: 'medium', timeStyle: 'short' });
}

function formatRemaining(iso) {
  const seconds = Math.floor((Date.parse(iso) - Date.now()) / 1000);
  if (seconds <= 0) return 'now';
  const hours = Math.floor(seconds / 3600);
  const minutes = Math.floor((seconds % 3600) / 60);
  const rest = seconds % 60;
  if (hours > 0) return `in ${hours} h ${minutes} min`;
  return minutes > 0 ? `in ${minutes} min ${String(rest).padStart(2, '0')} s` : `in ${rest} s`;
}

function tickCountdowns() {
  for (const time of document.querySelectorAll('time[data-countdown]')) {
    time.textContent = formatRemaining(time.dateTime);
    time.closest('.expiry')?.classList.toggle('soon', Date.parse(time.dateTime) - Date.now() < 60_000);
  }
}

// ---------------------------------------------------------------- rendering

function stateBadge(state) {
  return h('span', { className: `badge state-${state}` }, STATE_LABELS[state] ?? state);
}

function fact(label, value, width = 'normal') {
  return h('div', { className: `fact ${width}` }, h('dt', {}, label), h('dd', {}, value));
}

function votesSoFar(request) {
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

function justification(request, headingId) {
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

function detailsText(details) {
  return Object.entries(details)
    .map(([key, value]) => `${key}: ${typeof value === 'string' ? value : JSON.stringify(value)}`)
    .join(' · ');
}

function timelineBody(requestId) {
  const timeline = view.timelines.get(requestId);
  if (!timeline) return h('p', { className: 'muted' }, 'Loading the audit chain…');
  if (timeline.error)
    return h('p', { className: 'chain broken' }, `Could not load the audit chain: ${timeline.error}`);
  const { records, verification } = timeline;
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

let cardSerial = 0;

function renderCard(request) {
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
      loadTimeline(id).then(render);
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
        fact('Parameters', [
          request.parameterSummary.length === 0
            ? h('p', { className: 'muted' }, 'none')
            : h(
                'ul',
                { className: 'parameters' },
                request.parameterSummary.map((line) => h('li', {}, h('code', {}, line))),
              ),
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
        ]),
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
                onclick: () => vote(request, 'approve'),
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
                onclick: () => vote(request, 'deny'),
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
function syncList(list, requests) {
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
  let cursor = list.firstElementChild;
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

function render() {
  const active = document.activeElement;
  const card = active?.closest?.('[data-request-id]');
  const focus = card ? { requestId: card.dataset.requestId, key: active.dataset.focusKey } : undefined;

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
  if (focus && !document.activeElement?.closest?.('[data-request-id]')) {
    const element = view.rendered.get(focus.requestId)?.element;
    const target = element?.querySelector(`[data-focus-key="${focus.key}"]`) ?? element?.querySelector('h3');
    target?.focus();
  }
  tickCountdowns();
}

function announce(text) {
  const announcer = $('announcer');
  announcer.textContent = '';
  // A fresh text node after a beat makes screen readers repeat an identical message.
  setTimeout(() => {
    announcer.textContent = text;
  }, 50);
}

function announceChanges(before, after) {
  const previous = new Map(before.map((request) => [request.requestId, request.state]));
  const changes = [];
  for (const request of after) {
    const was = previous.get(request.requestId);
    if (was === undefined)
      changes.push(`New request ${request.requestId}, ${STATE_LABELS[request.state] ?? request.state}.`);
    else if (was !== request.state)
      changes.push(`${request.requestId} is now ${STATE_LABELS[request.state] ?? request.state}.`);
  }
  if (changes.length > 0) announce(changes.join(' '));
}

// ---------------------------------------------------------------- data

async function loadTimeline(requestId) {
  try {
    const { timeline } = await getJson(`/api/requests/${encodeURIComponent(requestId)}`);
    view.timelines.set(requestId, timeline);
  } catch (error) {
    view.timelines.set(requestId, { error: error.message });
  }
}

async function refresh() {
  const { requests } = await getJson('/api/requests');
  if (view.loaded) announceChanges(view.requests, requests);
  view.requests = requests;
  view.loaded = true;
  await Promise.all([...view.openTimelines].map(loadTimeline));
  $('load-error').hidden = true;
  render();
}

let refreshTimer;
let refreshing = false;
let refreshAgain = false;

/** Coalesces bursts of live updates (a request passes several states in a few milliseconds). */
function scheduleRefresh() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(runRefresh, 80);
}

async function runRefresh() {
  if (refreshing) {
    refreshAgain = true;
    return;
  }
  refreshing = true;
  try {
    await refresh();
  } catch (error) {
    const problem = $('load-error');
    problem.textContent = `Could not load requests: ${error.message}`;
    problem.hidden = false;
  } finally {
    refreshing = false;
    if (refreshAgain) {
      refreshAgain = false;
      runRefresh();
    }
  }
}

function describeBallot(result, reviewer, decision) {
  const what = decision === 'approve' ? 'approval' : 'denial';
  const { outcome } = result;
  if (outcome.status === 'pending')
    return `${reviewer}’s ${what} was counted: ${outcome.note ?? 'still pending'}.`;
  return `${reviewer}’s ${what} was counted: the request is ${outcome.status}${outcome.reviewers.length ? ` (${outcome.reviewers.join(', ')})` : ''}.`;
}

async function vote(request, decision) {
  const id = request.requestId;
  if (view.busy.has(id)) return;
  const picker = $('reviewer');
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
  let message;
  try {
    const response = await fetch(`/api/requests/${encodeURIComponent(id)}/decision`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ reviewer, decision }),
    });
    const body = await response.json().catch(() => ({}));
    message =
      response.ok && body.kind === 'counted'
        ? { tone: 'ok', text: describeBallot(body, reviewer, decision) }
        : {
            tone: 'error',
            text: `Refused: ${body.reason ?? body.error ?? `the console answered ${response.status}`}`,
          };
  } catch (error) {
    message = { tone: 'error', text: `The vote could not be sent: ${error.message}` };
  }
  view.busy.delete(id);
  view.messages.set(id, message);
  announce(message.text);
  await runRefresh();
}

// ---------------------------------------------------------------- start

function setConnection(status, text) {
  const connection = $('connection');
  connection.dataset.status = status;
  connection.textContent = text;
}

function listen() {
  const events = new EventSource('/api/events');
  events.addEventListener('open', () => {
    setConnection('live', 'live');
    // Whatever happened while disconnected is picked up by reading everything again.
    scheduleRefresh();
  });
  events.addEventListener('message', scheduleRefresh);
  events.addEventListener('error', () => setConnection('offline', 'reconnecting…'));
}

async function loadHeader() {
  const [mode, { reviewers }] = await Promise.all([getJson('/api/mode'), getJson('/api/reviewers')]);
  $('mode-sts').textContent = mode.sts;
  $('mode-channels').textContent = mode.channels.join(', ');
  const picker = $('reviewer');
  for (const reviewer of reviewers) {
    picker.append(h('option', { value: reviewer.id }, `${reviewer.id} (${reviewer.groups.join(', ')})`));
  }
  const remembered = sessionStorage.getItem('reviewer');
  if (remembered && reviewers.some((reviewer) => reviewer.id === remembered)) picker.value = remembered;
  picker.addEventListener('change', () => sessionStorage.setItem('reviewer', picker.value));
}

loadHeader().catch((error) => {
  const problem = $('load-error');
  problem.textContent = `Could not load the console’s settings: ${error.message}`;
  problem.hidden = false;
});
listen();
runRefresh();
setInterval(tickCountdowns, 1000);
