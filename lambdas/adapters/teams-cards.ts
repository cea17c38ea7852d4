import { JUSTIFICATION_LABEL, lineText, RISK_MARK, type ApprovalCard, type CardOutcome } from '../core/card';
import { PREVIEW_TITLES } from '../core/preview';

/** The `verb`s of the card's buttons; the messaging endpoint reads the vote from them. */
export const TEAMS_VERBS = { approve: 'approve', deny: 'deny' } as const;
export type TeamsVerb = (typeof TEAMS_VERBS)[keyof typeof TEAMS_VERBS];

export const ADAPTIVE_CARD_CONTENT_TYPE = 'application/vnd.microsoft.card.adaptive';
export const INVOKE_ERROR_TYPE = 'application/vnd.microsoft.error';

/** The label under which the agent's own words are shown, so nobody mistakes them for ours. */

export interface TextBlock {
  readonly type: 'TextBlock';
  readonly text: string;
  readonly wrap: true;
  readonly weight?: 'Bolder';
  readonly size?: 'Medium' | 'Large';
  readonly color?: 'Good' | 'Attention' | 'Warning';
  readonly isSubtle?: true;
  readonly fontType?: 'Monospace';
  readonly spacing?: 'None' | 'Medium';
}

export interface FactSet {
  readonly type: 'FactSet';
  readonly facts: readonly { readonly title: string; readonly value: string }[];
}

export interface Container {
  readonly type: 'Container';
  readonly style?: 'emphasis' | 'good' | 'attention' | 'warning' | 'accent';
  readonly separator?: true;
  readonly items: readonly AdaptiveElement[];
}

/** A run of text that no client formats: Adaptive Cards apply no Markdown inside a TextRun. */
export interface TextRun {
  readonly type: 'TextRun';
  readonly text: string;
  readonly weight?: 'Bolder';
  readonly color?: 'Attention';
  readonly fontType?: 'Monospace';
}

export interface RichTextBlock {
  readonly type: 'RichTextBlock';
  readonly inlines: readonly TextRun[];
  readonly separator?: true;
}

/** A button that unfolds a card in place, below the set holding it: no round trip, no callback. */
export interface ShowCardAction {
  readonly type: 'Action.ShowCard';
  readonly title: string;
  readonly card: { readonly type: 'AdaptiveCard'; readonly body: readonly AdaptiveElement[] };
}

export interface ActionSet {
  readonly type: 'ActionSet';
  readonly actions: readonly ShowCardAction[];
}

export type AdaptiveElement = TextBlock | FactSet | Container | RichTextBlock | ActionSet;

/** A Universal Action button. Its data is the request id and nothing else: the task token stays server-side. */
export interface ExecuteAction {
  readonly type: 'Action.Execute';
  readonly title: string;
  readonly verb: TeamsVerb;
  readonly data: { readonly requestId: string };
  readonly style: 'positive' | 'destructive';
}

export interface AdaptiveCard {
  readonly $schema: 'http://adaptivecards.io/schemas/adaptive-card.json';
  readonly type: 'AdaptiveCard';
  /** Teams renders `Action.Execute` only on cards of version 1.5 or later. */
  readonly version: '1.5';
  readonly body: readonly AdaptiveElement[];
  readonly actions?: readonly ExecuteAction[];
  /** Full width keeps long ARNs on one line where the client allows it. */
  readonly msteams: { readonly width: 'Full' };
}

/**
 * The body of the answer to an `adaptiveCard/action` invoke: the card the clicking reviewer sees
 * in place of the one they clicked, or an error Teams shows them.
 */
export type AdaptiveCardInvokeResponse =
  | {
      readonly statusCode: 200;
      readonly type: typeof ADAPTIVE_CARD_CONTENT_TYPE;
      readonly value: AdaptiveCard;
    }
  | {
      readonly statusCode: 400;
      readonly type: typeof INVOKE_ERROR_TYPE;
      readonly value: { readonly code: string; readonly message: string };
    };

/** A line said to the reviewer who clicked, in the card Teams shows them in reply. */
export interface TeamsCardNotice {
  readonly tone: 'good' | 'attention';
  readonly text: string;
}

export interface TeamsCardView {
  /** How the request stands; without one the card only asks for a decision. */
  readonly outcome?: CardOutcome;
  readonly notice?: TeamsCardNotice;
  /** Whether Approve / Deny are offered. @default - while the request awaits a decision */
  readonly buttons?: boolean;
}

// Characters the Adaptive Card Markdown subset acts on: emphasis (`*`, `_`), link text and
// reference links (`[`, `]`), and `<…>` (autolinks, `<at>` mentions, HTML on some clients). Each is
// swapped for a look-alike no client parses. Backslash escapes are not used: Teams' mobile clients
// show the backslashes and some parsers ignore them inside emphasis.
const INERT_LOOKALIKES: Readonly<Record<string, string>> = {
  '*': '\u2217',
  _: '\uFF3F',
  '[': '\uFF3B',
  ']': '\uFF3D',
  '<': '\uFF1C',
  '>': '\uFF1E',
};

/**
 * Text that renders as itself in a TextBlock or FactSet: no links, emphasis or mentions. Every
 * value that did not come from this code passes through here before Teams sees it.
 */
export function inertTeamsText(text: string): string {
  return text.replace(/[*_[\]<>]/g, (character) => INERT_LOOKALIKES[character]);
}

/**
 * Agent-written prose, inert and with its line breaks kept: a TextBlock breaks lines only at blank
 * lines, and blank-line runs are squeezed so they cannot push the label out of view.
 */
function untrustedProse(text: string): string {
  const lines = text
    .split(/\r\n|\r|\n/)
    .map((line) => line.trim())
    .filter((line) => line.length > 0);
  return lines.length > 0 ? inertTeamsText(lines.join('\n\n')) : '(none)';
}

/**
 * Every parameter whole, each key (with its risk, if any) then its value, as TextRuns: they show
 * the text verbatim, look-alikes are not needed, and nothing is cut.
 */
function fullParameters(card: ApprovalCard): ActionSet {
  const body: AdaptiveElement[] = card.parameters.flatMap((line) => [
    {
      type: 'RichTextBlock',
      separator: true,
      inlines: [
        { type: 'TextRun', text: line.key, weight: 'Bolder', fontType: 'Monospace' },
        ...(line.risky
          ? [{ type: 'TextRun', text: `\n${RISK_MARK} Risky: ${line.risky}`, color: 'Attention' } as const]
          : []),
      ],
    },
    { type: 'RichTextBlock', inlines: [{ type: 'TextRun', text: line.value, fontType: 'Monospace' }] },
  ]);
  return {
    type: 'ActionSet',
    actions: [
      {
        type: 'Action.ShowCard',
        title: `Show all parameters (${card.parameters.length})`,
        card: { type: 'AdaptiveCard', body },
      },
    ],
  };
}

/** The risky parameters' keys, flagged on the card; the reasons are beside each in the full view. */
function riskFlag(card: ApprovalCard): Container[] {
  const risky = card.parameters.filter((line) => line.risky !== undefined);
  if (risky.length === 0) return [];
  const keys = risky.map((line) => line.key).join(', ');
  return [
    {
      type: 'Container',
      style: 'attention',
      items: [
        {
          type: 'RichTextBlock',
          inlines: [
            {
              type: 'TextRun',
              text: `${RISK_MARK} Risky: these change how code runs or where data goes: ${keys}`,
              weight: 'Bolder',
            },
          ],
        },
      ],
    },
  ];
}

const text = (value: string, style: Omit<TextBlock, 'type' | 'text' | 'wrap'> = {}): TextBlock => ({
  type: 'TextBlock',
  text: value,
  wrap: true,
  ...style,
});

/** Text shown as itself, one line per entry: TextRuns apply no Markdown. */
const verbatimLines = (lines: readonly string[], color?: 'Attention'): RichTextBlock => ({
  type: 'RichTextBlock',
  inlines: [{ type: 'TextRun', text: lines.join('\n'), ...(color ? { color } : {}) }],
});

/** The permissions beyond the action the session will hold, and whether IAM can scope it. */
function sessionElements(card: ApprovalCard): AdaptiveElement[] {
  const elements: AdaptiveElement[] = [];
  if (card.companions && card.companions.length > 0) {
    elements.push(
      text('Also allowed: listed by the agent, bound to the approval', {
        weight: 'Bolder',
        spacing: 'Medium',
      }),
    );
    elements.push(verbatimLines(card.companions));
  }
  if (card.scopeWarning) {
    elements.push({
      type: 'Container',
      style: 'attention',
      items: [text(`${RISK_MARK} ${card.scopeWarning}`, { weight: 'Bolder' })],
    });
  }
  return elements;
}

/** What will change, before → after, as TextRuns: read from AWS and requested by the agent, never formatted. */
function previewElements(card: ApprovalCard): AdaptiveElement[] {
  const { preview } = card;
  if (!preview) return [];
  if (preview.status === 'unavailable') {
    return [
      text('What will change', { weight: 'Bolder', spacing: 'Medium' }),
      verbatimLines([`Preview unavailable: ${preview.reason}`]),
    ];
  }
  return [
    text(`What will change: ${PREVIEW_TITLES[preview.kind]}`, { weight: 'Bolder', spacing: 'Medium' }),
    ...(preview.lines.length > 0 ? [verbatimLines(preview.lines.map(lineText))] : []),
    ...(preview.notes.length > 0
      ? [
          verbatimLines(
            preview.notes.map((note) => `${RISK_MARK} ${note}`),
            'Attention',
          ),
        ]
      : []),
  ];
}

function approversNeeded(card: ApprovalCard): string {
  const groups = card.approverGroups.length > 0 ? card.approverGroups.join(' or ') : 'any reviewer';
  return `${card.quorum} from ${groups}`;
}

/** `2026-11-24T10:15:00.000Z` → `2026-11-24 10:15 UTC`: unambiguous for reviewers in any time zone. */
function expiry(expiresAt: string): string {
  const match = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})/.exec(expiresAt);
  return match ? `${match[1]} ${match[2]} UTC` : expiresAt;
}

const names = (reviewers: readonly string[]): string =>
  reviewers.length > 0 ? reviewers.join(', ') : 'nobody';

function outcomeLine(outcome: CardOutcome): TextBlock {
  switch (outcome.status) {
    case 'approved':
      return text(inertTeamsText(`✅ Approved by ${names(outcome.reviewers)}`), {
        weight: 'Bolder',
        color: 'Good',
      });
    case 'denied':
      return text(inertTeamsText(`⛔ Denied by ${names(outcome.reviewers)}`), {
        weight: 'Bolder',
        color: 'Attention',
      });
    case 'expired':
      return text('⌛ Expired: nobody decided in time, nothing ran', { weight: 'Bolder', color: 'Warning' });
    case 'pending': {
      const progress = outcome.note ?? 'waiting for approvals';
      const line =
        outcome.reviewers.length > 0
          ? `${progress}, approved so far by ${names(outcome.reviewers)}`
          : progress;
      return text(inertTeamsText(`⏳ ${line}`), { weight: 'Bolder' });
    }
  }
}

const HEADLINES: Readonly<Record<CardOutcome['status'], string>> = {
  pending: 'Approval requested',
  approved: 'Approved',
  denied: 'Denied',
  expired: 'Expired',
};

function buttons(card: ApprovalCard): ExecuteAction[] {
  const data = { requestId: card.requestId };
  return [
    { type: 'Action.Execute', title: 'Approve', verb: TEAMS_VERBS.approve, data, style: 'positive' },
    { type: 'Action.Execute', title: 'Deny', verb: TEAMS_VERBS.deny, data, style: 'destructive' },
  ];
}

/**
 * The approval card as an Adaptive Card with Universal Actions. Without an outcome, or with a
 * pending one, it carries the Approve / Deny buttons; a decided outcome replaces them with who
 * decided. Everything but this code's own labels is rendered inert.
 */
export function teamsApprovalCard(card: ApprovalCard, view: TeamsCardView = {}): AdaptiveCard {
  const status = view.outcome?.status ?? 'pending';
  const offerButtons = view.buttons ?? status === 'pending';
  const body: AdaptiveElement[] = [
    text(HEADLINES[status], { size: 'Large', weight: 'Bolder' }),
    {
      type: 'FactSet',
      facts: [
        { title: 'Agent', value: inertTeamsText(card.agentId) },
        { title: 'Operation', value: inertTeamsText(card.operation) },
        { title: 'Resource', value: inertTeamsText(card.resource) },
        { title: 'Request', value: inertTeamsText(card.requestId) },
        { title: 'Approvers needed', value: inertTeamsText(approversNeeded(card)) },
        { title: 'Expires', value: expiry(card.expiresAt) },
      ],
    },
    text('Policy', { weight: 'Bolder', spacing: 'Medium' }),
    text(inertTeamsText(card.policyReason), { spacing: 'None' }),
    text(`Parameters (hash ${inertTeamsText(card.parametersHashPrefix)})`, {
      weight: 'Bolder',
      spacing: 'Medium',
    }),
    ...(card.parameterSummary.length > 0
      ? card.parameterSummary.map((line) =>
          text(inertTeamsText(line), { fontType: 'Monospace', spacing: 'None' }),
        )
      : [text('(none)', { isSubtle: true, spacing: 'None' })]),
    ...riskFlag(card),
    ...(card.parameters.length > 0 ? [fullParameters(card)] : []),
    ...sessionElements(card),
    ...previewElements(card),
    {
      type: 'Container',
      style: 'warning',
      separator: true,
      items: [
        text(`⚠ ${JUSTIFICATION_LABEL}: written by the agent and not checked by anyone`, {
          weight: 'Bolder',
        }),
        text(untrustedProse(card.justification)),
      ],
    },
  ];
  if (view.outcome) body.push(outcomeLine(view.outcome));
  if (view.notice) {
    body.push({
      type: 'Container',
      style: view.notice.tone,
      items: [text(inertTeamsText(view.notice.text))],
    });
  }
  return {
    $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
    type: 'AdaptiveCard',
    version: '1.5',
    body,
    ...(offerButtons ? { actions: buttons(card) } : {}),
    msteams: { width: 'Full' },
  };
}

/** The one-line notification Teams shows for the card's message; built from validated fields only. */
export function teamsNotificationSummary(card: ApprovalCard, outcome?: CardOutcome): string {
  return `${HEADLINES[outcome?.status ?? 'pending']}: ${card.agentId} asks for ${card.operation}`;
}
