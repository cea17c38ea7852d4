import type {
  ActionsBlock,
  Button,
  ContextBlock,
  KnownBlock,
  ModalView,
  MrkdwnElement,
  PlainTextElement,
  SectionBlock,
} from '@slack/web-api';
import { JUSTIFICATION_LABEL, lineText, RISK_MARK, type ApprovalCard, type CardOutcome } from '../core/card';
import { PREVIEW_TITLES } from '../core/preview';
import { codePointPrefix, shortened } from '../core/text';

/** The `action_id`s of the card's buttons; the interaction handler reads the vote from them. */
export const SLACK_ACTIONS = { approve: 'approve', deny: 'deny' } as const;
export type SlackActionId = (typeof SLACK_ACTIONS)[keyof typeof SLACK_ACTIONS];

/**
 * The `action_id`s that show the full parameters: the card's button (its value is the request id)
 * and the modal's page buttons (their value is `<request id> <page index>`).
 */
export const SLACK_PARAMETER_ACTIONS = { show: 'show_parameters', page: 'parameters_page' } as const;

/** The label under which the agent's own words are shown, so nobody mistakes them for ours. */

/** What `chat.postMessage` / `chat.update` send: the notification text and the card. */
export interface SlackMessage {
  readonly text: string;
  readonly blocks: KnownBlock[];
}

// Block Kit's limits: longer text makes Slack refuse the whole message.
const MAX_SECTION_TEXT = 3000;
const MAX_FIELD_TEXT = 2000;
const MAX_CONFIRM_TEXT = 300;
// A modal holds at most 100 blocks; each page keeps room for its heading and its page buttons.
const MAX_MODAL_CONTENT_BLOCKS = 95;
const MAX_MODAL_TITLE = 24;

/**
 * Slack's escaping: `&`, `<` and `>` are its control characters (links, mentions, `<!channel>`),
 * and only they are encoded. Everything an agent wrote passes through here before Slack sees it.
 */
export function escapeSlackText(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * Shortens escaped text to `max` characters. A cut never leaves half an entity behind, which
 * Slack would show as a stray `&am`.
 */
function fit(escaped: string, max: number): string {
  if (escaped.length <= max) return escaped;
  return `${codePointPrefix(escaped, max - 1).replace(/&[a-z]{0,3}$/, '')}…`;
}

/**
 * Escaped text in pieces of at most `max` characters, for text that must be shown whole: no
 * piece ends inside an entity or a surrogate pair, and together they are the text exactly.
 */
export function slackChunks(escaped: string, max = MAX_SECTION_TEXT): string[] {
  const pieces: string[] = [];
  let rest = escaped;
  while (rest.length > max) {
    const piece = codePointPrefix(rest, max).replace(/&[a-z]{0,3}$/, '');
    pieces.push(piece);
    rest = rest.slice(piece.length);
  }
  return rest.length > 0 || pieces.length === 0 ? [...pieces, rest] : pieces;
}

const mrkdwn = (text: string): MrkdwnElement => ({ type: 'mrkdwn', text, verbatim: true });
const plain = (text: string): PlainTextElement => ({ type: 'plain_text', text, emoji: false });

/** Agent-written text as inert plain text: no formatting, no links, no mentions, no emoji codes. */
function untrusted(text: string, max = MAX_SECTION_TEXT): PlainTextElement {
  // Runs of blank lines could push the label out of view and make the rest look like our text.
  const compact = text.trim().replace(/\n{3,}/g, '\n\n');
  return plain(compact ? fit(escapeSlackText(compact), max) : '(none)');
}

/** Agent-written text shown whole, inert, in as many sections as it takes. */
function untrustedSections(text: string): SectionBlock[] {
  const compact = text.trim().replace(/\n{3,}/g, '\n\n');
  if (!compact) return [{ type: 'section', text: plain('(none)') }];
  return slackChunks(escapeSlackText(compact)).map((piece) => ({ type: 'section', text: plain(piece) }));
}

/**
 * A fact the agent chose (resource, operation, its own id), as plain text: mrkdwn would apply
 * `*`, `_`, `~`, backticks and `:emoji:` codes inside it, and Slack has no way to escape them.
 */
const untrustedField = (label: string, value: string): PlainTextElement =>
  plain(fit(`${label}\n${escapeSlackText(value)}`, MAX_FIELD_TEXT));

const fits = (label: string, value: string): boolean =>
  `${label}\n${escapeSlackText(value)}`.length <= MAX_FIELD_TEXT;

function expiry(expiresAt: string): MrkdwnElement {
  const seconds = Math.floor(Date.parse(expiresAt) / 1000);
  // Slack shows the date in each reader's own time zone; the ISO text is the fallback.
  return mrkdwn(`*Expires*\n<!date^${seconds}^{date_short_pretty} at {time}|${escapeSlackText(expiresAt)}>`);
}

function approversNeeded(card: ApprovalCard): string {
  const groups = card.approverGroups.length > 0 ? card.approverGroups.join(' or ') : 'any reviewer';
  return `${card.quorum} from ${groups}`;
}

function buttons(card: ApprovalCard): ActionsBlock {
  return {
    type: 'actions',
    block_id: 'decision',
    // The buttons carry the request id and nothing else: the task token stays server-side.
    elements: [
      {
        type: 'button',
        action_id: SLACK_ACTIONS.approve,
        text: plain('Approve'),
        style: 'primary',
        value: card.requestId,
        confirm: {
          title: plain('Approve this action?'),
          text: plain(confirmation(card)),
          confirm: plain('Approve'),
          deny: plain('Cancel'),
        },
      },
      {
        type: 'button',
        action_id: SLACK_ACTIONS.deny,
        text: plain('Deny'),
        style: 'danger',
        value: card.requestId,
      },
    ],
  };
}

/** The confirmation names the resource when it fits whole, and never shows it cut. */
function confirmation(card: ApprovalCard): string {
  const full = escapeSlackText(`${card.agentId} will run ${card.operation} on ${card.resource}.`);
  return full.length <= MAX_CONFIRM_TEXT
    ? full
    : escapeSlackText(`${card.agentId} will run ${card.operation} on the resource shown on the card.`);
}

const showParametersButton = (card: ApprovalCard): ActionsBlock => ({
  type: 'actions',
  block_id: 'parameters',
  elements: [
    {
      type: 'button',
      action_id: SLACK_PARAMETER_ACTIONS.show,
      text: plain(`Show all parameters (${card.parameters.length})`),
      value: card.requestId,
    },
  ],
});

/** The risky parameters' keys, flagged on the card; the reasons are beside each in the full view. */
function riskFlag(card: ApprovalCard): SectionBlock[] {
  const risky = card.parameters.filter((line) => line.risky !== undefined);
  if (risky.length === 0) return [];
  const keys = risky.map((line) => shortened(line.key, 40)).join(', ');
  return [
    {
      type: 'section',
      text: plain(
        fit(
          escapeSlackText(`${RISK_MARK} Risky: these change how code runs or where data goes: ${keys}`),
          MAX_SECTION_TEXT,
        ),
      ),
    },
  ];
}

const caption = (text: string): ContextBlock => ({ type: 'context', elements: [mrkdwn(text)] });

/** The permissions beyond the action the session will hold, and whether IAM can scope it. */
function sessionBlocks(card: ApprovalCard): KnownBlock[] {
  const blocks: KnownBlock[] = [];
  if (card.companions && card.companions.length > 0) {
    blocks.push(caption('*Also allowed*: listed by the agent, bound to the approval'));
    blocks.push(...untrustedSections(card.companions.join('\n')));
  }
  if (card.scopeWarning) blocks.push({ type: 'section', text: plain(`${RISK_MARK} ${card.scopeWarning}`) });
  return blocks;
}

/**
 * What will change, before → after, read from AWS: inert plain text like the parameters, since
 * its after side is what the agent asked for.
 */
function previewBlocks(card: ApprovalCard): KnownBlock[] {
  const { preview } = card;
  if (!preview) return [];
  if (preview.status === 'unavailable') {
    return [caption('*What will change*'), ...untrustedSections(`Preview unavailable: ${preview.reason}`)];
  }
  return [
    caption(`*What will change*: ${PREVIEW_TITLES[preview.kind]}`),
    ...(preview.lines.length > 0 ? untrustedSections(preview.lines.map(lineText).join('\n')) : []),
    ...(preview.notes.length > 0
      ? untrustedSections(preview.notes.map((note) => `${RISK_MARK} ${note}`).join('\n'))
      : []),
  ];
}

const names = (reviewers: readonly string[]): string =>
  reviewers.length > 0 ? reviewers.map(escapeSlackText).join(', ') : 'nobody';

function outcomeLine(outcome: CardOutcome): string {
  switch (outcome.status) {
    case 'approved':
      return `:white_check_mark: *Approved* by ${names(outcome.reviewers)}`;
    case 'denied':
      return `:no_entry: *Denied* by ${names(outcome.reviewers)}`;
    case 'expired':
      return ':hourglass: *Expired*: nobody decided in time, nothing ran';
    case 'pending': {
      const progress = escapeSlackText(outcome.note ?? 'waiting for approvals');
      return outcome.reviewers.length > 0
        ? `:hourglass_flowing_sand: ${progress}, approved so far by ${names(outcome.reviewers)}`
        : `:hourglass_flowing_sand: ${progress}`;
    }
  }
}

const HEADLINES: Readonly<Record<CardOutcome['status'], string>> = {
  pending: 'Approval requested',
  approved: 'Approved',
  denied: 'Denied',
  expired: 'Expired',
};

/**
 * The approval card as Block Kit. Without an outcome, or with a pending one, it carries the
 * Approve / Deny buttons; a decided outcome replaces them with who decided.
 */
export function slackApprovalMessage(card: ApprovalCard, outcome?: CardOutcome): SlackMessage {
  const status = outcome?.status ?? 'pending';
  // An ARN too long for a field is shown whole below the facts instead of cut.
  const resourceFits = fits('Resource', card.resource);
  const facts: SectionBlock = {
    type: 'section',
    fields: [
      untrustedField('Agent', card.agentId),
      untrustedField('Operation', card.operation),
      resourceFits ? untrustedField('Resource', card.resource) : plain('Resource\n(in full below)'),
      untrustedField('Request', card.requestId),
      mrkdwn(`*Approvers needed*\n${escapeSlackText(approversNeeded(card))}`),
      expiry(card.expiresAt),
    ],
  };
  const blocks: KnownBlock[] = [
    { type: 'header', text: plain(HEADLINES[status]) },
    facts,
    ...(resourceFits ? [] : untrustedSections(`Resource\n${card.resource}`)),
    {
      type: 'section',
      text: mrkdwn(fit(`*Policy*\n${escapeSlackText(card.policyReason)}`, MAX_SECTION_TEXT)),
    },
    caption(`*Parameters* (hash \`${escapeSlackText(card.parametersHashPrefix)}\`)`),
    { type: 'section', text: untrusted(card.parameterSummary.join('\n')) },
    ...riskFlag(card),
    ...(card.parameters.length > 0 ? [showParametersButton(card)] : []),
    ...sessionBlocks(card),
    ...previewBlocks(card),
    { type: 'divider' },
    caption(`:warning: *${JUSTIFICATION_LABEL}*: written by the agent and not checked by anyone`),
    ...untrustedSections(card.justification),
    { type: 'divider' },
  ];
  if (outcome) blocks.push({ type: 'section', text: mrkdwn(outcomeLine(outcome)) });
  if (status === 'pending') blocks.push(buttons(card));

  // The notification is mrkdwn Slack cannot be told not to format: only validated names go in it.
  const summary = escapeSlackText(`${card.agentId} asks for ${card.operation}`);
  return { text: `${HEADLINES[status]}: ${summary}`, blocks };
}

/** The escaped text of one parameter: key, risk if any, then the whole value. */
function parameterText(line: ApprovalCard['parameters'][number]): string {
  const risk = line.risky ? `\n${RISK_MARK} Risky: ${line.risky}` : '';
  return escapeSlackText(`${line.key}${risk}\n${line.value}`);
}

/** A modal view whose blocks are all known to Block Kit's types. */
export type SlackModal = Omit<ModalView, 'blocks'> & { readonly blocks: KnownBlock[] };

interface ParameterPiece {
  readonly key: string;
  readonly continued: boolean;
  readonly block: KnownBlock;
}

/**
 * Every parameter of the card, whole, as the pages of a modal: each value in as many plain-text
 * sections as it takes, the sections laid out at most 95 to a page. Slack allows 100 blocks a
 * view and any number of pages, so every card fits; page buttons turn pages with `views.update`.
 */
export function slackParameterPages(card: ApprovalCard): SlackModal[] {
  const pieces: ParameterPiece[] = card.parameters.flatMap((line) => [
    ...slackChunks(parameterText(line)).map((piece, index) => ({
      key: line.key,
      continued: index > 0,
      block: { type: 'section', text: plain(piece) } as SectionBlock,
    })),
    { key: line.key, continued: false, block: { type: 'divider' } as KnownBlock },
  ]);
  const pages: ParameterPiece[][] = [];
  for (let start = 0; start < pieces.length; start += MAX_MODAL_CONTENT_BLOCKS) {
    pages.push(pieces.slice(start, start + MAX_MODAL_CONTENT_BLOCKS));
  }
  if (pages.length === 0) pages.push([]);
  return pages.map((page, index) => {
    const heading = `Request ${card.requestId} · parameters hash ${card.parametersHashPrefix} · page ${index + 1} of ${pages.length}`;
    const first = page[0];
    const continuation = first?.continued ? ` · continues ${shortened(first.key, 200)}` : '';
    const navigation: Button[] = [];
    if (index > 0) navigation.push(pageButton(card, index - 1, 'Previous page'));
    if (index < pages.length - 1) navigation.push(pageButton(card, index + 1, 'Next page'));
    const blocks: KnownBlock[] = [
      {
        type: 'context',
        elements: [plain(fit(escapeSlackText(`${heading}${continuation}`), MAX_FIELD_TEXT))],
      },
      ...(page.length > 0
        ? page.map((piece) => piece.block)
        : [{ type: 'section', text: plain('(none)') } as SectionBlock]),
      ...(navigation.length > 0
        ? [{ type: 'actions', block_id: 'pages', elements: navigation } as ActionsBlock]
        : []),
    ];
    return {
      type: 'modal',
      title: plain(
        shortened(
          pages.length > 1 ? `Parameters ${index + 1}/${pages.length}` : 'Parameters',
          MAX_MODAL_TITLE,
        ),
      ),
      close: plain('Close'),
      blocks,
    };
  });
}

const pageButton = (card: ApprovalCard, page: number, label: string): Button => ({
  type: 'button',
  action_id: SLACK_PARAMETER_ACTIONS.page,
  text: plain(label),
  value: `${card.requestId} ${page}`,
});
