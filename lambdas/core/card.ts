import { canonicalJson } from './canonical';
import { parameterRisks } from './catalog';
import { UNSCOPED_RESOURCE_WARNING } from './derived-session';
import { PREVIEW_LIMITS, type ChangePreview, type PreviewLine } from './preview';
import type { RequestRecord } from './lifecycle';
import { shortened, visiblyEscaped } from './text';
import type { ActionRequest } from './types';

/** How every channel labels the text the agent wrote, so no reviewer takes it for the system's. */
export const JUSTIFICATION_LABEL = "Agent's justification (unverified)";

/**
 * One top-level parameter as every surface shows it in full: the key, and the value as pretty
 * JSON (strings quoted, so `"123"` and `123` differ and a line break reads as `\n`).
 */
export interface ParameterLine {
  readonly key: string;
  /** The whole value: never shortened. */
  readonly value: string;
  /** Why the reviewer should read this one carefully (it changes how code runs, or where data goes). */
  readonly risky?: string;
}

/** What a reviewer sees about a request, in any channel. Renderers decide how to escape it. */
export interface ApprovalCard {
  readonly requestId: string;
  readonly agentId: string;
  readonly operation: string;
  readonly resource: string;
  /** One line per top-level parameter, values shortened: the card's glance, never what is approved. */
  readonly parameterSummary: readonly string[];
  /** Every parameter in full, in canonical key order: what the reviewer approves. */
  readonly parameters: readonly ParameterLine[];
  readonly parametersHashPrefix: string;
  /** Written by the agent: untrusted text, to be shown as such. */
  readonly justification: string;
  readonly policyReason: string;
  readonly quorum: number;
  readonly approverGroups: readonly string[];
  readonly expiresAt: string;
  /** Further permissions the agent listed, one `action on resource` line each; bound by the hash. */
  readonly companions?: readonly string[];
  /** Present when IAM cannot limit the action to one resource: the words every surface shows. */
  readonly scopeWarning?: string;
  /** What will change, before → after, or why that could not be read. */
  readonly preview?: ChangePreview;
}

/** How a card looks once the request is decided. */
export interface CardOutcome {
  readonly status: 'approved' | 'denied' | 'expired' | 'pending';
  /** Who decided, or who has voted so far. */
  readonly reviewers: readonly string[];
  readonly note?: string;
}

const MAX_PARAMETERS_SUMMARIZED = 12;
const MAX_SUMMARY_VALUE_LENGTH = 80;
const MAX_SUMMARY_KEY_LENGTH = 40;
export const RISK_MARK = '⚠';

// Keys ordered as RFC 8785 orders them (by UTF-16 code units), the order the hash is taken in.
const byKey = ([a]: [string, unknown], [b]: [string, unknown]): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * The value as indented JSON, members in canonical order. Every string is JSON-escaped, so
 * controls show as `\n`, `\u0000`; the invisible characters parsing refuses are escaped too, for
 * records stored before that rule.
 */
function displayValue(value: unknown, indent = ''): string {
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    const inner = `${indent}  `;
    return `[\n${value.map((item) => `${inner}${displayValue(item, inner)}`).join(',\n')}\n${indent}]`;
  }
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value).sort(byKey);
    if (entries.length === 0) return '{}';
    const inner = `${indent}  `;
    const members = entries.map(
      ([key, item]) => `${inner}${displayValue(key)}: ${displayValue(item, inner)}`,
    );
    return `{\n${members.join(',\n')}\n${indent}}`;
  }
  return visiblyEscaped(canonicalJson(value));
}

/** The full parameters as displayable lines, each top-level key with its risks, if any. */
export function parameterLines(request: ActionRequest): ParameterLine[] {
  const risks = new Map<string, string[]>();
  for (const risk of parameterRisks({ requestId: request.requestId, ...request.action })) {
    risks.set(risk.key, [...(risks.get(risk.key) ?? []), risk.reason]);
  }
  return Object.entries(request.action.parameters)
    .sort(byKey)
    .map(([key, value]) => {
      const reasons = risks.get(key);
      return {
        key: visiblyEscaped(key),
        value: displayValue(value),
        ...(reasons ? { risky: reasons.join('; ') } : {}),
      };
    });
}

function summaryOf(lines: readonly ParameterLine[]): string[] {
  const shown = lines.slice(0, MAX_PARAMETERS_SUMMARIZED).map(({ key, value, risky }) => {
    const oneLine = value.replace(/\n\s*/g, ' ');
    const line = `${shortened(key, MAX_SUMMARY_KEY_LENGTH)}: ${shortened(oneLine, MAX_SUMMARY_VALUE_LENGTH)}`;
    return risky ? `${RISK_MARK} ${line}` : line;
  });
  const hidden = lines.length - shown.length;
  return hidden > 0 ? [...shown, `… and ${hidden} more: see all parameters`] : shown;
}

export function approvalCard(record: RequestRecord): ApprovalCard {
  const { request } = record;
  const parameters = parameterLines(request);
  const companions = (request.action.companions ?? []).map(({ action, resource }) =>
    visiblyEscaped(`${action} on ${resource}`),
  );
  const card: ApprovalCard = {
    requestId: record.requestId,
    agentId: record.agentId,
    operation: visiblyEscaped(request.action.operation),
    resource: visiblyEscaped(request.action.resource),
    parameterSummary: summaryOf(parameters),
    parameters,
    parametersHashPrefix: request.parametersHash.slice(0, 12),
    justification: visiblyEscaped(request.justification, new Set(['\n', '\t'])),
    policyReason: record.policy.reason,
    quorum: record.rule?.quorum ?? 1,
    approverGroups: record.rule?.approverGroups ?? [],
    expiresAt: record.expiresAt,
    ...(companions.length > 0 ? { companions } : {}),
    ...(record.unscopedResource ? { scopeWarning: UNSCOPED_RESOURCE_WARNING } : {}),
  };
  if (!record.preview) return card;
  // The preview gets the room the rest of the card leaves: it is never why a card cannot be shown.
  const room = DISPLAY_LIMITS.teamsCardBytes - cardBytes(card);
  return { ...card, preview: fittedPreview(record.preview, room) };
}

function previewBytes(preview: ChangePreview): number {
  if (preview.status === 'unavailable')
    return DISPLAY_LIMITS.perPreviewLineBytes + worstCaseBytes(preview.reason);
  const texts = [...preview.lines.map(lineText), ...preview.notes];
  return texts.reduce<number>(
    (total, text) => total + DISPLAY_LIMITS.perPreviewLineBytes + worstCaseBytes(text),
    DISPLAY_LIMITS.perPreviewLineBytes,
  );
}

/** One change as every surface words it. */
export function lineText(line: PreviewLine): string {
  return `${line.subject}: ${line.before} → ${line.after}`;
}

/** The preview with as many of its lines as fit in `room` bytes; the rest are counted in a note. */
function fittedPreview(preview: ChangePreview, room: number): ChangePreview {
  if (preview.status === 'unavailable' || previewBytes(preview) <= room) return preview;
  for (let kept = preview.lines.length - 1; kept >= 0; kept -= 1) {
    const fitted: ChangePreview = {
      ...preview,
      lines: preview.lines.slice(0, kept),
      notes: [
        ...preview.notes.slice(0, PREVIEW_LIMITS.notes - 1),
        `… ${preview.lines.length - kept} more changes not shown: too many for a card`,
      ],
    };
    if (previewBytes(fitted) <= room) return fitted;
  }
  return { status: 'unavailable', reason: 'the change is too large to show on a card' };
}

/**
 * What every surface can hold. Slack pages its parameters modal with no limit on the number of
 * pages, so it holds any card; Teams shows a card in one message of at most about 28 KB, the
 * activity's envelope included, so the card's JSON must stay within `teamsCardBytes`.
 */
export const DISPLAY_LIMITS = {
  teamsCardBytes: 26_000,
  /** The card's own labels, structure, and system text (policy reason, reviewers, notices). */
  frameBytes: 6_000,
  /** The JSON structure each parameter adds, on the card and in its full view. */
  perParameterBytes: 400,
  /** The JSON structure each preview line, note, or companion adds. */
  perPreviewLineBytes: 120,
} as const;

/**
 * The most bytes a renderer spends on `text` in a card's JSON: UTF-8, a quote or backslash
 * escaped, a control character as `\u` and four hex digits, and, unless the text is shown `verbatim` (Teams
 * TextRuns), a markup character swapped for its 3-byte look-alike.
 */
export function worstCaseBytes(text: string, shown: 'verbatim' | 'markdown' = 'markdown'): number {
  let bytes = 0;
  for (const character of text) {
    const codePoint = character.codePointAt(0) ?? 0;
    if (shown === 'markdown' && '*_[]<>'.includes(character)) bytes += 3;
    else if (character === '"' || character === '\\') bytes += 2;
    else if (codePoint < 0x20) bytes += 6;
    else bytes += Buffer.byteLength(character, 'utf8');
  }
  return bytes;
}

/**
 * Why the card cannot be shown in full on every surface, or undefined when it can. A request
 * whose parameters no reviewer could read in full is refused rather than shown cut.
 */
export function displayRefusal(card: ApprovalCard): string | undefined {
  const bytes = cardBytes(card) + (card.preview ? previewBytes(card.preview) : 0);
  if (bytes <= DISPLAY_LIMITS.teamsCardBytes) return undefined;
  return (
    `the request is too large for a reviewer to read in full on a Teams card ` +
    `(up to ${bytes} bytes, at most ${DISPLAY_LIMITS.teamsCardBytes}): shorten its parameters or justification`
  );
}

/** The most bytes the card takes on a Teams card, its preview left out. */
function cardBytes(card: ApprovalCard): number {
  const agentText = [
    card.requestId,
    card.agentId,
    card.operation,
    card.resource,
    card.justification,
    ...card.approverGroups,
    ...card.parameterSummary,
    ...(card.companions ?? []),
  ];
  const parameterBytes = card.parameters.reduce(
    (total, line) =>
      total +
      DISPLAY_LIMITS.perParameterBytes +
      worstCaseBytes(line.key, 'verbatim') +
      worstCaseBytes(line.value, 'verbatim') +
      // A risk is flagged on the card and again beside the parameter in the full view.
      2 * worstCaseBytes(line.risky ?? ''),
    0,
  );
  return (
    DISPLAY_LIMITS.frameBytes +
    agentText.reduce((total, text) => total + worstCaseBytes(text), 0) +
    (card.companions ?? []).length * DISPLAY_LIMITS.perPreviewLineBytes +
    parameterBytes
  );
}
