import type { AuditLog } from './ports';
import type { RequestHistory, RequestsStore, RequestSummary } from './ports';
import type { VoteDecision, Vote } from '../core/approval';
import type { JsonValue } from '../core/audit';
import type { Directory, Reviewer } from '../core/directory';
import type { RequestState } from '../core/lifecycle';
import { err, ok, type Result } from '../core/result';

/** Who asks for a status: an agent (its own requests) or a reviewer (what they may decide). */
export type StatusCaller =
  | { readonly kind: 'agent'; readonly agentId: string }
  | { readonly kind: 'reviewer'; readonly reviewer: Reviewer };

export interface StatusDeps {
  readonly requests: Pick<RequestsStore, 'get'> & RequestHistory;
  readonly audit: Pick<AuditLog, 'read'>;
  readonly directory: Directory;
}

export interface VoteStatus {
  readonly reviewer: string;
  readonly decision: VoteDecision;
  readonly at: string;
  readonly channel: Vote['channel'];
}

/** What the status API answers about one request. The task token is never part of it. */
export interface RequestStatus {
  readonly requestId: string;
  readonly agentId: string;
  readonly state: RequestState;
  readonly operation: string;
  readonly resource: string;
  /** The full canonical parameters the approval is bound to, and their hash. */
  readonly parameters: Readonly<Record<string, unknown>>;
  readonly parametersHash: string;
  readonly justification: string;
  readonly requestedAt: string;
  readonly createdAt: string;
  /** When the approval wait, and any minted session, end. */
  readonly expiresAt: string;
  readonly policy: {
    readonly outcome: string;
    readonly reason: string;
    readonly policyIds: readonly string[];
  };
  readonly approval?: {
    readonly quorum: number;
    readonly approverGroups: readonly string[];
    readonly approvals: number;
    readonly votes: readonly VoteStatus[];
  };
  readonly outcomeReason?: string;
  /** The signed approval receipt (compact JWS), once executed. */
  readonly receipt?: string;
  /** What the executed call returned, summarized by the action catalog. */
  readonly result?: JsonValue;
}

export interface StatusRefusal {
  readonly code: 'forbidden' | 'not-found' | 'bad-request';
  readonly reason: string;
}

export const MAX_LISTED_REQUESTS = 100;

/**
 * Resolves who is calling, failing closed. `pinnedAgentId` is the agent id of a route whose IAM
 * policy pins it to the caller's `ActionApprovalsAgentId` principal tag (`grantStatus`);
 * otherwise the caller's principal ARN must be a reviewer's or an agent's in the directory.
 */
export function resolveStatusCaller(
  directory: Directory,
  identity: { readonly principalArn?: string; readonly pinnedAgentId?: string },
): StatusCaller | undefined {
  if (!identity.principalArn) return undefined;
  if (identity.pinnedAgentId !== undefined) {
    return directory.ownersOf(identity.pinnedAgentId)
      ? { kind: 'agent', agentId: identity.pinnedAgentId }
      : undefined;
  }
  const reviewer = directory.reviewerByIamPrincipal(identity.principalArn);
  if (reviewer) return { kind: 'reviewer', reviewer };
  const agentId = directory.agentByIamPrincipal(identity.principalArn);
  return agentId ? { kind: 'agent', agentId } : undefined;
}

const sameIdentity = (a: string, b: string) => a.trim().toLowerCase() === b.trim().toLowerCase();

/**
 * An agent reads its own requests; a reviewer the requests they may decide: those waiting on
 * a group they belong to, or on the agent they own (owners may stop their agent).
 */
function mayRead(caller: StatusCaller, record: RequestSummary): boolean {
  if (caller.kind === 'agent') return record.agentId === caller.agentId;
  const { rule } = record;
  if (!rule) return false;
  const { reviewer } = caller;
  return (
    reviewer.groups.some((group) => rule.approverGroups.includes(group)) ||
    rule.ownerIds.some((owner) => sameIdentity(owner, reviewer.id))
  );
}

function statusOf(record: RequestSummary): RequestStatus {
  const { request, rule, approval } = record;
  return {
    requestId: record.requestId,
    agentId: record.agentId,
    state: record.state,
    operation: request.action.operation,
    resource: request.action.resource,
    parameters: request.action.parameters,
    parametersHash: request.parametersHash,
    justification: request.justification,
    requestedAt: request.requestedAt,
    createdAt: record.createdAt,
    expiresAt: record.expiresAt,
    policy: record.policy,
    ...(rule
      ? {
          approval: {
            quorum: rule.quorum,
            approverGroups: rule.approverGroups,
            approvals: (approval?.votes ?? []).filter((vote) => vote.decision === 'approve').length,
            votes: (approval?.votes ?? []).map(({ reviewer, decision, at, channel }) => ({
              reviewer,
              decision,
              at,
              channel,
            })),
          },
        }
      : {}),
    ...(record.outcomeReason ? { outcomeReason: record.outcomeReason } : {}),
  };
}

/** The status of one request, with its receipt and result once executed. */
export async function readRequestStatus(
  caller: StatusCaller,
  requestId: string,
  deps: StatusDeps,
): Promise<Result<RequestStatus, StatusRefusal>> {
  const record = await deps.requests.get(requestId);
  if (!record) return err({ code: 'not-found', reason: `no request "${requestId}"` });
  if (!mayRead(caller, record)) {
    return err({ code: 'forbidden', reason: `request "${requestId}" is not one this caller may read` });
  }
  const status = statusOf(record);
  if (record.state !== 'executed' && record.state !== 'simulated') return ok(status);
  const executed = (await deps.audit.read(requestId)).find((entry) => entry.type === record.state);
  const receipt = executed?.details?.receipt;
  const result = executed?.details?.result;
  return ok({
    ...status,
    ...(typeof receipt === 'string' ? { receipt } : {}),
    ...(result === undefined ? {} : { result }),
  });
}

/** An agent's recent requests, newest first: an agent lists its own, a reviewer those they may decide. */
export async function listRequestStatuses(
  caller: StatusCaller,
  query: { readonly agentId?: string; readonly limit: number },
  deps: StatusDeps,
): Promise<Result<RequestStatus[], StatusRefusal>> {
  const agentId = query.agentId ?? (caller.kind === 'agent' ? caller.agentId : undefined);
  if (!agentId)
    return err({ code: 'bad-request', reason: 'name the agent whose requests to list: ?agent=<id>' });
  if (caller.kind === 'agent' && agentId !== caller.agentId) {
    return err({ code: 'forbidden', reason: `agent "${caller.agentId}" may list only its own requests` });
  }
  const records = await deps.requests.listByAgent(agentId, Math.min(query.limit, MAX_LISTED_REQUESTS));
  return ok(records.filter((record) => mayRead(caller, record)).map(statusOf));
}
