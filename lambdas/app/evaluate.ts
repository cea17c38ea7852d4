import { randomUUID } from 'node:crypto';
import * as z from 'zod';
import { parseTaskInput } from './task-input';
import type { AuditEvent } from '../core/audit';
import { approvalCard, displayRefusal } from '../core/card';
import { CatalogRefusal, planAction } from '../core/catalog';
import { isScopable, scopeRefusal } from '../core/derived-session';
import type { RequestRecord } from '../core/lifecycle';
import { outcomeEvent, requestOutcome, type OutcomeEvent } from '../core/outcome';
import type { PolicyDecision } from '../core/policy';
import { unavailablePreview, type ChangePreview } from '../core/preview';
import { parseActionRequest } from '../core/request';
import { sdkOperationFor } from '../core/sdk-operations';
import type { ActionRequest, IamReference } from '../core/types';
import type { ChangePreviewer, PolicyEvaluator, RequestPathDeps } from './ports';

export interface EvaluateDeps extends RequestPathDeps {
  readonly iam: IamReference;
  readonly policy: PolicyEvaluator;
  /** @default - cards show no preview */
  readonly previewer?: ChangePreviewer;
  /**
   * The deployment's `maxApprovalTtl` in seconds: the workflow times out a little after it, where
   * no Catch applies, so a policy `@ttl` longer than this is clamped to it (with an audit note).
   * @default - no bound beyond the policy language's own
   */
  readonly maxApprovalTtlSeconds?: number;
}

/** A policy ttl cut to the deployment's bound, recorded with the policy-evaluated record. */
interface TtlClamp {
  readonly policyTtlSeconds: number;
  readonly maxApprovalTtlSeconds: number;
}

/** What the workflow's Choice state branches on. */
export type EvaluationResult =
  | { readonly requestId: string; readonly outcome: 'rejected' | 'denied'; readonly publish: OutcomeEvent }
  | { readonly requestId: string; readonly outcome: 'auto-approved'; readonly expiresAt: string }
  | {
      readonly requestId: string;
      readonly outcome: 'needs-approval';
      readonly ttlSeconds: number;
      readonly expiresAt: string;
    }
  /** The request id was already taken: a redelivered event, which must change nothing. */
  | { readonly requestId: string; readonly outcome: 'duplicate' };

const SYSTEM = { kind: 'system', id: 'evaluate' } as const;

const evaluateInputSchema = z.object({
  /** The `Action Requested` event the execution started with, as the agent sent it. */
  event: z.unknown(),
  /** The Step Functions execution evaluating it (`$$.Execution.Id`): no agent can choose it. */
  executionId: z.string().min(1),
});
export type EvaluateInput = z.infer<typeof evaluateInputSchema>;

/** Reads the workflow's input to the Evaluate step; throws on a shape the workflow never sends. */
export function parseEvaluateInput(input: unknown): EvaluateInput {
  return parseTaskInput('evaluate', evaluateInputSchema, input);
}

/**
 * Decides what happens to a requested action: parse it, claim its id (so a duplicate event can
 * never lead to a second approval or execution), evaluate policy, and record each step.
 *
 * The claim names the workflow execution that made it: when that same execution evaluates again
 * (its Evaluate task was retried after the claim was saved but its answer lost), it carries on from
 * the stored request with the answer the first attempt gave. Any other execution is a duplicate.
 */
export async function evaluateRequest(
  event: unknown,
  deps: EvaluateDeps,
  executionId?: string,
): Promise<EvaluationResult> {
  const now = deps.clock.now();
  const parsed = await parseActionRequest(event, deps.iam);
  if (!parsed.ok) return reject(event, parsed.error, deps);

  const request = parsed.value;
  const owners = deps.directory.ownersOf(request.agentId);
  if (!owners) {
    const reasons = [`agent "${request.agentId}" is not registered`];
    return reject(event, { requestId: request.requestId, agentId: request.agentId, reasons }, deps);
  }
  const { decision, clamp, runnable } = await policyDecisionOn(request, deps);
  if (runnable.reasons.length > 0) {
    return reject(
      event,
      { requestId: request.requestId, agentId: request.agentId, reasons: runnable.reasons },
      deps,
    );
  }
  const ttlSeconds = decision.outcome === 'deny' ? 0 : decision.ttlSeconds;
  const expiresAt = new Date(now.getTime() + ttlSeconds * 1000).toISOString();
  const record: RequestRecord = {
    requestId: request.requestId,
    agentId: request.agentId,
    state: stateFor(decision),
    version: 0,
    request,
    policy: { outcome: decision.outcome, reason: decision.reason, policyIds: [...decision.policyIds] },
    createdAt: now.toISOString(),
    expiresAt,
    ...(executionId === undefined ? {} : { executionId }),
    ...(decision.outcome === 'require-approval'
      ? {
          rule: {
            quorum: decision.quorum,
            approverGroups: [...decision.approverGroups],
            expiresAt,
            requesterId: `agent:${request.agentId}`,
            ownerIds: [...owners],
          },
          approval: { status: 'pending', votes: [] },
        }
      : {}),
    ...(decision.outcome === 'deny' ? { outcomeReason: decision.reason } : {}),
    ...(runnable.unscoped ? { unscopedResource: true as const } : {}),
  };
  const preview =
    decision.outcome === 'require-approval' && deps.previewer
      ? await previewOf(request, expiresAt, deps.previewer)
      : undefined;
  const shown: RequestRecord = preview ? { ...record, preview } : record;
  // What a reviewer cannot read in full is refused, never shown cut (checked before the claim, so a
  // refused request keeps its id for the rejection's own chain).
  const unreadable = decision.outcome === 'deny' ? undefined : displayRefusal(approvalCard(shown));
  if (unreadable) {
    return reject(
      event,
      {
        requestId: request.requestId,
        agentId: request.agentId,
        reasons: [`action.parameters: ${unreadable}`],
      },
      deps,
    );
  }
  // The claim and the evaluation's audit records are written in one transaction: a retried
  // invocation finds either all of them or none (and starts over).
  const claimed = await deps.requests.claim(
    shown,
    evaluationRecords(shown, decision, now.toISOString(), clamp),
  );
  if (claimed) return resultOf(shown, decision);
  const existing = executionId === undefined ? undefined : await deps.requests.get(request.requestId);
  // Only the execution that claimed the request may carry on with it: the execution id comes from
  // Step Functions, never from the event, so no other event can take the claim over.
  if (existing && existing.executionId === executionId) {
    return resumedResult(existing, deps.clock.now());
  }
  return { requestId: request.requestId, outcome: 'duplicate' };
}

/**
 * What the evaluation that claimed `record` answered, read back from it: the same outcome, with
 * the approval wait ending when the request expires (at least a second, so an expired wait still
 * ends through the workflow's expiry path).
 */
function resumedResult(record: RequestRecord, now: Date): EvaluationResult {
  const { requestId, expiresAt } = record;
  switch (record.policy.outcome) {
    case 'deny':
      return {
        requestId,
        outcome: 'denied',
        publish: requestOutcome(record, 'denied', { reason: record.outcomeReason ?? record.policy.reason }),
      };
    case 'auto-approve':
      return { requestId, outcome: 'auto-approved', expiresAt };
    case 'require-approval':
      return {
        requestId,
        outcome: 'needs-approval',
        ttlSeconds: Math.max(1, Math.ceil((Date.parse(expiresAt) - now.getTime()) / 1000)),
        expiresAt,
      };
    default:
      throw new Error(`request ${requestId} holds an unknown policy outcome "${record.policy.outcome}"`);
  }
}

/**
 * Why the action could never run, if it could not: a catalog action must satisfy its entry (and
 * lists no companions of its own: the entry names them); any other action needs an SDK command
 * and, when IAM cannot scope it to one resource, the deciding policy's explicit leave.
 */
/**
 * What policy decides for a parsed request, bounded by the deployment's longest approval, and
 * whether the action could run at all: the one decision step of Evaluate and of explain_policy.
 */
export async function policyDecisionOn(
  request: ActionRequest,
  deps: Pick<EvaluateDeps, 'iam' | 'policy' | 'directory' | 'maxApprovalTtlSeconds'>,
): Promise<{
  readonly decision: PolicyDecision;
  readonly clamp?: TtlClamp;
  readonly environment: string;
  readonly runnable: { readonly reasons: readonly string[]; readonly unscoped: boolean };
}> {
  const environment = deps.directory.environmentOf(request.action.resource);
  const evaluated = deps.policy.evaluate({
    agentId: request.agentId,
    operation: request.action.operation,
    accessLevels: await accessLevelsOf(request, deps.iam),
    resource: request.action.resource,
    environment,
    ...(request.ttlSeconds === undefined ? {} : { requestedTtlSeconds: request.ttlSeconds }),
  });
  const { decision, clamp } = clampTtl(evaluated, deps.maxApprovalTtlSeconds);
  // A request that could never run is refused before any reviewer spends time on it.
  const runnable =
    decision.outcome === 'deny'
      ? { reasons: [], unscoped: false }
      : await runnability(request, decision, deps.iam);
  return { decision, environment, runnable, ...(clamp ? { clamp } : {}) };
}

async function runnability(
  request: ActionRequest,
  decision: Exclude<PolicyDecision, { outcome: 'deny' }>,
  iam: IamReference,
): Promise<{ readonly reasons: readonly string[]; readonly unscoped: boolean }> {
  const plan = planAction({ requestId: request.requestId, ...request.action });
  if (plan.ok) {
    const listed = request.action.companions?.length ?? 0;
    return listed > 0
      ? {
          reasons: [
            `action.companions: ${request.action.operation} is a catalog action: its entry names its companions`,
          ],
          unscoped: false,
        }
      : { reasons: [], unscoped: false };
  }
  if (plan.error.reason !== CatalogRefusal.UnknownOperation)
    return { reasons: [`action: ${plan.error.message}`], unscoped: false };
  const operation = sdkOperationFor(request.action.operation);
  if (!operation.ok) return { reasons: [`action.operation: ${operation.error.message}`], unscoped: false };
  const info = await iam.describeAction(request.action.operation);
  if (!info)
    return {
      reasons: [`action.operation: "${request.action.operation}" is not an IAM action`],
      unscoped: false,
    };
  const refusal = scopeRefusal(info, request.action.resource, decision.allowUnscopedResource === true);
  return refusal
    ? { reasons: [`action: ${refusal.message}`], unscoped: false }
    : { reasons: [], unscoped: !isScopable(info) };
}

/** The preview, or why there is none: reading it never blocks the request. */
async function previewOf(
  request: ActionRequest,
  notAfter: string,
  previewer: ChangePreviewer,
): Promise<ChangePreview | undefined> {
  try {
    return await previewer.preview(request.action, notAfter, {
      requestId: request.requestId,
      agentId: request.agentId,
    });
  } catch (error) {
    return unavailablePreview(
      `the preview failed: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}

function resultOf(record: RequestRecord, decision: PolicyDecision): EvaluationResult {
  const { request, expiresAt } = record;
  switch (decision.outcome) {
    case 'deny':
      return {
        requestId: request.requestId,
        outcome: 'denied',
        publish: requestOutcome(record, 'denied', { reason: decision.reason }),
      };
    case 'auto-approve':
      return { requestId: request.requestId, outcome: 'auto-approved', expiresAt };
    case 'require-approval':
      return {
        requestId: request.requestId,
        outcome: 'needs-approval',
        ttlSeconds: decision.ttlSeconds,
        expiresAt,
      };
  }
}

function stateFor(decision: PolicyDecision): RequestRecord['state'] {
  if (decision.outcome === 'deny') return 'denied';
  return decision.outcome === 'auto-approve' ? 'approved' : 'awaiting-approval';
}

function clampTtl(
  decision: PolicyDecision,
  maxApprovalTtlSeconds: number | undefined,
): { decision: PolicyDecision; clamp?: TtlClamp } {
  if (decision.outcome === 'deny' || maxApprovalTtlSeconds === undefined) return { decision };
  if (decision.ttlSeconds <= maxApprovalTtlSeconds) return { decision };
  return {
    decision: { ...decision, ttlSeconds: maxApprovalTtlSeconds },
    clamp: { policyTtlSeconds: decision.ttlSeconds, maxApprovalTtlSeconds },
  };
}

function evaluationRecords(
  record: RequestRecord,
  decision: PolicyDecision,
  at: string,
  clamp: TtlClamp | undefined,
): AuditEvent[] {
  const base = { requestId: record.requestId, at, parametersHash: record.request.parametersHash };
  const { request } = record;
  const evaluated: AuditEvent[] = [
    {
      ...base,
      type: 'requested',
      actor: { kind: 'agent', id: request.agentId },
      details: {
        operation: request.action.operation,
        resource: request.action.resource,
        justification: request.justification,
        context: { ...request.context },
        requestedAt: request.requestedAt,
      },
    },
    {
      ...base,
      type: 'policy-evaluated',
      actor: SYSTEM,
      details: {
        outcome: decision.outcome,
        reason: decision.reason,
        policyIds: [...decision.policyIds],
        ...(decision.outcome === 'deny'
          ? {}
          : { ttlSeconds: decision.ttlSeconds, expiresAt: record.expiresAt }),
        ...(clamp
          ? {
              ttlClamped: {
                ...clamp,
                note: `the policy's ttl of ${clamp.policyTtlSeconds} s is longer than this deployment's maxApprovalTtl: clamped to ${clamp.maxApprovalTtlSeconds} s`,
              },
            }
          : {}),
        ...(decision.outcome === 'require-approval'
          ? { quorum: decision.quorum, approverGroups: [...decision.approverGroups] }
          : {}),
      },
    },
  ];
  if (decision.outcome === 'deny') {
    evaluated.push({ ...base, type: 'denied', actor: SYSTEM, details: { reason: decision.reason } });
  }
  if (decision.outcome === 'auto-approve') {
    evaluated.push({
      ...base,
      type: 'approved',
      actor: SYSTEM,
      details: { reason: decision.reason, expiresAt: record.expiresAt },
    });
  }
  return evaluated;
}

async function reject(
  event: unknown,
  rejection: { reasons: readonly string[]; requestId?: string; agentId?: string },
  deps: RequestPathDeps,
): Promise<EvaluationResult> {
  // A rejected request still gets a chain of its own; when its id is unusable or already taken,
  // the event's own id names it, so a malformed event can never write into another request's chain.
  const eventId = idOf(event) ?? randomUUID();
  const candidates = [rejection.requestId, `rejected-${eventId}`].filter(
    (id): id is string => id !== undefined,
  );
  const at = deps.clock.now().toISOString();
  let requestId = candidates[candidates.length - 1];
  for (const candidate of candidates) {
    const started = await deps.audit.start({
      requestId: candidate,
      at,
      type: 'rejected',
      actor: rejection.agentId
        ? { kind: 'agent', id: rejection.agentId }
        : { kind: 'system', id: 'evaluate' },
      details: {
        reasons: [...rejection.reasons],
        eventId,
        ...(rejection.requestId ? { claimedRequestId: rejection.requestId } : {}),
      },
    });
    if (started) {
      requestId = candidate;
      break;
    }
  }
  return {
    requestId,
    outcome: 'rejected',
    publish: outcomeEvent({
      requestId,
      outcome: 'rejected',
      eventId,
      reasons: rejection.reasons,
      ...(rejection.agentId ? { agentId: rejection.agentId } : {}),
    }),
  };
}

async function accessLevelsOf(request: ActionRequest, iam: IamReference): Promise<string[]> {
  return [...((await iam.describeAction(request.action.operation))?.accessLevels ?? [])];
}

function idOf(event: unknown): string | undefined {
  const id = typeof event === 'object' && event !== null ? (event as { id?: unknown }).id : undefined;
  return typeof id === 'string' && /^[A-Za-z0-9-]{1,64}$/.test(id) ? id : undefined;
}
