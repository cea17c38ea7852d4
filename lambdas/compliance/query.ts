import { type AuditRecord, TERMINAL_RECORD_TYPES } from '../core/audit';
import type { ObjectStore } from './stores';
import { readTrail, type ReadOptions, type TrailStats } from './trail';
import type { InputFinding } from './types';

export const OUTCOMES = ['executed', 'simulated', 'failed', 'denied', 'expired', 'rejected', 'open'] as const;
export type Outcome = (typeof OUTCOMES)[number];

/**
 * How a request was decided: approved (by reviewers or by policy; its execution may still have
 * failed), denied, expired or rejected; failed when it failed before any decision; pending while
 * undecided.
 */
export const DECISIONS = ['approved', 'denied', 'expired', 'failed', 'rejected'] as const;
export type Decision = (typeof DECISIONS)[number] | 'pending';

/** Every field narrows the result; an absent field does not filter. */
export interface QueryFilter {
  /** The requesting agent's id, case-insensitive. */
  readonly agent?: string;
  /** Someone who voted on the request (counted or refused), case-insensitive. */
  readonly reviewer?: string;
  /** IAM action name; `*` matches any run of characters (`dynamodb:*`). Case-insensitive, as IAM is. */
  readonly operation?: string;
  /** Resource ARN; `*` matches any run of characters. */
  readonly resource?: string;
  readonly outcomes?: readonly Outcome[];
  /** Requested at or after this time (epoch ms). */
  readonly since?: number;
  /** Requested before this time (epoch ms). */
  readonly until?: number;
  readonly decisions?: readonly Decision[];
  /** Decided at or after this time (epoch ms); undecided requests never match. */
  readonly decidedSince?: number;
  /** Decided before this time (epoch ms); undecided requests never match. */
  readonly decidedUntil?: number;
}

export interface VoteRow {
  readonly reviewer: string;
  readonly decision: string;
  /** Why the vote did not count (`self-approval`, `owner-approval`, …), when it did not. */
  readonly refused?: string;
}

/** One request as the trail tells it. */
export interface RequestRow {
  readonly requestId: string;
  readonly requestedAt: string;
  readonly agent: string | undefined;
  readonly operation: string | undefined;
  readonly resource: string | undefined;
  readonly outcome: Outcome;
  readonly endedAt: string | undefined;
  readonly decision: Decision;
  readonly decidedAt: string | undefined;
  /** The reviewers whose approval counted, or `policy:<id>` when a policy approved on its own. */
  readonly approvedBy: readonly string[];
  readonly votes: readonly VoteRow[];
  /** Why a request was rejected (or denied by policy), as its record says. */
  readonly reasons: readonly string[];
}

export interface QueryResult {
  readonly rows: readonly RequestRow[];
  readonly problems: readonly InputFinding[];
  readonly inputs: TrailStats;
}

interface Summary {
  firstAt: string;
  requestedAt?: string;
  agent?: string;
  operation?: string;
  resource?: string;
  outcome?: Outcome;
  endedAt?: string;
  decision?: Exclude<Decision, 'pending'>;
  decidedAt?: string;
  approvedBy: string[];
  policyIds: string[];
  reasons: string[];
  /** By seq, so a record read from both the archive and an export counts once. */
  readonly votes: Map<number, VoteRow>;
}

const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
const texts = (value: unknown): string[] =>
  Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
const inRange = (at: string | undefined, since: number | undefined, until: number | undefined): boolean =>
  (since === undefined && until === undefined) ||
  (at !== undefined &&
    (since === undefined || Date.parse(at) >= since) &&
    (until === undefined || Date.parse(at) < until));

function globMatcher(pattern: string, flags: string): RegExp {
  const escaped = pattern.split('*').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${escaped.join('.*')}$`, flags);
}

function matcher(filter: QueryFilter): (row: RequestRow) => boolean {
  const operation = filter.operation === undefined ? undefined : globMatcher(filter.operation, 'i');
  const resource = filter.resource === undefined ? undefined : globMatcher(filter.resource, '');
  const agent = filter.agent?.toLowerCase();
  const reviewer = filter.reviewer?.toLowerCase();
  return (row) =>
    (agent === undefined || row.agent?.toLowerCase() === agent) &&
    (reviewer === undefined || row.votes.some((vote) => vote.reviewer.toLowerCase() === reviewer)) &&
    (operation === undefined || operation.test(row.operation ?? '')) &&
    (resource === undefined || resource.test(row.resource ?? '')) &&
    (filter.outcomes === undefined || filter.outcomes.includes(row.outcome)) &&
    (filter.decisions === undefined || filter.decisions.includes(row.decision)) &&
    inRange(row.requestedAt, filter.since, filter.until) &&
    inRange(row.decidedAt, filter.decidedSince, filter.decidedUntil);
}

function absorb(summary: Summary, record: AuditRecord): void {
  if (record.at < summary.firstAt) summary.firstAt = record.at;
  if (record.seq === 0 && record.actor.kind === 'agent') summary.agent = record.actor.id;
  if (record.type === 'requested') {
    summary.requestedAt = record.at;
    summary.operation = text(record.details?.operation);
    summary.resource = text(record.details?.resource);
  } else if (record.type === 'vote') {
    const code = record.details?.counted === false ? text(record.details?.refusal) : undefined;
    summary.votes.set(record.seq, {
      reviewer: record.actor.id,
      decision: text(record.details?.decision) ?? 'unknown',
      ...(code === undefined ? {} : { refused: code }),
    });
  } else if (record.type === 'policy-evaluated') {
    summary.policyIds = texts(record.details?.policyIds);
  } else if (record.type === 'approved') {
    summary.decision = 'approved';
    summary.decidedAt = record.at;
    const reviewers = texts(record.details?.reviewers);
    summary.approvedBy =
      reviewers.length > 0 ? reviewers : record.actor.kind === 'system' ? [] : [record.actor.id];
  }
  if (TERMINAL_RECORD_TYPES.has(record.type)) {
    summary.outcome = record.type as Outcome;
    summary.endedAt = record.at;
    if (record.type !== 'executed' && record.type !== 'simulated' && summary.decision !== 'approved') {
      summary.decision = record.type as Exclude<Decision, 'pending' | 'approved'>;
      summary.decidedAt = record.at;
    }
    const reason = text(record.details?.reason);
    summary.reasons = [...texts(record.details?.reasons), ...(reason === undefined ? [] : [reason])];
  }
}

/** Who approved: the reviewers, or for an approval by policy alone the policies that decided it. */
function approvers(summary: Summary): string[] {
  if (summary.decision !== 'approved') return [];
  if (summary.approvedBy.length > 0) return summary.approvedBy;
  return summary.policyIds.length > 0 ? summary.policyIds.map((id) => `policy:${id}`) : ['policy'];
}

/**
 * Answers "which requests …" over the same inputs `verify` reads, one row per request in the order
 * they were requested. It does not verify: run `audit verify` on the same inputs to know the rows
 * can be trusted. Memory grows with the number of requests (a few hundred bytes each).
 */
export async function queryTrail(
  stores: readonly ObjectStore[],
  filter: QueryFilter,
  options: ReadOptions = {},
): Promise<QueryResult> {
  const summaries = new Map<string, Summary>();
  const problems: InputFinding[] = [];
  const inputs = await readTrail(
    stores,
    {
      record(record) {
        let summary = summaries.get(record.requestId);
        if (!summary) {
          summary = { firstAt: record.at, votes: new Map(), approvedBy: [], policyIds: [], reasons: [] };
          summaries.set(record.requestId, summary);
        }
        absorb(summary, record);
      },
      problem(finding) {
        problems.push(finding);
      },
    },
    options,
  );
  const matches = matcher(filter);
  const rows: RequestRow[] = [];
  for (const [requestId, summary] of summaries) {
    const row: RequestRow = {
      requestId,
      requestedAt: summary.requestedAt ?? summary.firstAt,
      agent: summary.agent,
      operation: summary.operation,
      resource: summary.resource,
      outcome: summary.outcome ?? 'open',
      endedAt: summary.endedAt,
      decision: summary.decision ?? 'pending',
      decidedAt: summary.decidedAt,
      approvedBy: approvers(summary),
      reasons: summary.reasons,
      votes: [...summary.votes.entries()].sort(([a], [b]) => a - b).map(([, vote]) => vote),
    };
    if (matches(row)) rows.push(row);
  }
  rows.sort(
    (a, b) => Date.parse(a.requestedAt) - Date.parse(b.requestedAt) || a.requestId.localeCompare(b.requestId),
  );
  return { rows, problems, inputs };
}
