import type {
  ActionsBlock,
  ContextBlock,
  KnownBlock,
  MrkdwnElement,
  PlainTextElement,
  SectionBlock,
} from '@slack/web-api';
import { JUSTIFICATION_LABEL, type ApprovalCard, type CardOutcome } from '../core/card';

/** The `action_id`s of the card's buttons; the interaction handler reads the vote from them. */
export const SLACK_ACTIONS = { approve: 'approve', deny: 'deny' } as const;
export type SlackActionId = (typeof SLACK_ACTIONS)[keyof typeof SLACK_ACTIONS];

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
  return `${escaped.slice(0, max - 1).replace(/&[a-z]{0,3}$/, '')}…`;
}

const mrkdwn = (text: string): MrkdwnElement => ({ type: 'mrkdwn', text, verbatim: true });
const plain = (text: string): PlainTextElement => ({ type: 'plain_text', text, emoji: false });

/** Agent-written text as inert plain text: no formatting, no links, no mentions, no emoji codes. */
function untrusted(text: string, max = MAX_SECTION_TEXT): PlainTextElement {
  // Runs of blank lines could push the label out of view and make the rest look like our text.
  const compact = text.trim().replace(/\n{3,}/g, '\n\n');
  return plain(compact ? fit(escapeSlackText(compact), max) : '(none)');
}

const field = (label: string, value: string): MrkdwnElement =>
  mrkdwn(fit(`*${label}*\n${escapeSlackText(value)}`, MAX_FIELD_TEXT));

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
          text: plain(
            fit(
              escapeSlackText(`${card.agentId} will run ${card.operation} on ${card.resource}.`),
              MAX_CONFIRM_TEXT,
            ),
          ),
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
  const facts: SectionBlock = {
    type: 'section',
    fields: [
      field('Agent', card.agentId),
      field('Operation', card.operation),
      field('Resource', card.resource),
      field('Request', card.requestId),
      field('Approvers needed', approversNeeded(card)),
      expiry(card.expiresAt),
    ],
  };
  const caption = (text: string): ContextBlock => ({ type: 'context', elements: [mrkdwn(text)] });
  const blocks: KnownBlock[] = [
    { type: 'header', text: plain(HEADLINES[status]) },
    facts,
    {
      type: 'section',
      text: mrkdwn(fit(`*Policy*\n${escapeSlackText(card.policyReason)}`, MAX_SECTION_TEXT)),
    },
    caption(`*Parameters* (hash \`${escapeSlackText(card.parametersHashPrefix)}\`)`),
    { type: 'section', text: untrusted(card.parameterSummary.join('\n')) },
    { type: 'divider' },
    caption(`:warning: *${JUSTIFICATION_LABEL}*: written by the agent and not checked by anyone`),
    { type: 'section', text: untrusted(card.justification) },
    { type: 'divider' },
  ];
  if (outcome) blocks.push({ type: 'section', text: mrkdwn(outcomeLine(outcome)) });
  if (status === 'pending') blocks.push(buttons(card));

  const summary = escapeSlackText(`${card.agentId} asks for ${card.operation} on ${card.resource}`);
  return { text: fit(`${HEADLINES[status]}: ${summary}`, MAX_SECTION_TEXT), blocks };
}
