import type { RequestRecord } from './lifecycle';

/** How every channel labels the text the agent wrote, so no reviewer takes it for the system's. */
export const JUSTIFICATION_LABEL = "Agent's justification (unverified)";

/** What a reviewer sees about a request, in any channel. Renderers decide how to escape it. */
export interface ApprovalCard {
  readonly requestId: string;
  readonly agentId: string;
  readonly operation: string;
  readonly resource: string;
  /** One line per top-level parameter, values shortened. */
  readonly parameterSummary: readonly string[];
  readonly parametersHashPrefix: string;
  /** Written by the agent: untrusted text, to be shown as such. */
  readonly justification: string;
  readonly policyReason: string;
  readonly quorum: number;
  readonly approverGroups: readonly string[];
  readonly expiresAt: string;
}

/** How a card looks once the request is decided. */
export interface CardOutcome {
  readonly status: 'approved' | 'denied' | 'expired' | 'pending';
  /** Who decided, or who has voted so far. */
  readonly reviewers: readonly string[];
  readonly note?: string;
}

const MAX_PARAMETERS_SHOWN = 12;
const MAX_VALUE_LENGTH = 80;

function summarize(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text.length > MAX_VALUE_LENGTH ? `${text.slice(0, MAX_VALUE_LENGTH - 1)}…` : text;
}

export function approvalCard(record: RequestRecord): ApprovalCard {
  const entries = Object.entries(record.request.action.parameters).sort(([a], [b]) => (a < b ? -1 : 1));
  const shown = entries.slice(0, MAX_PARAMETERS_SHOWN).map(([key, value]) => `${key}: ${summarize(value)}`);
  const hidden = entries.length - shown.length;
  return {
    requestId: record.requestId,
    agentId: record.agentId,
    operation: record.request.action.operation,
    resource: record.request.action.resource,
    parameterSummary: hidden > 0 ? [...shown, `… and ${hidden} more`] : shown,
    parametersHashPrefix: record.request.parametersHash.slice(0, 12),
    justification: record.request.justification,
    policyReason: record.policy.reason,
    quorum: record.rule?.quorum ?? 1,
    approverGroups: record.rule?.approverGroups ?? [],
    expiresAt: record.expiresAt,
  };
}
