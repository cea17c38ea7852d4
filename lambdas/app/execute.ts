import * as z from 'zod';
import { parseTaskInput } from './task-input';
import { ConflictError, StaleWriteError } from './errors';
import { approvers } from '../core/approval';
import { appendRecords, type AuditEvent } from '../core/audit';
import { parametersHash } from '../core/canonical';
import { CatalogRefusal, planAction, sameRole, type RoleClass } from '../core/catalog';
import { deriveSession } from '../core/derived-session';
import { genericRoleClassOf, type GenericRoleClass } from '../core/generic-roles';
import type { Result } from '../core/result';
import { sdkOperationFor } from '../core/sdk-operations';
import type { RequestRecord } from '../core/lifecycle';
import { requestOutcome, type OutcomeDetail, type OutcomeEvent } from '../core/outcome';
import { signReceipt, type ApprovalReceipt, type Signer } from '../core/receipt';
import {
  buildSessionPolicy,
  serializeSessionPolicy,
  type SessionPolicyDocument,
} from '../core/session-policy';
import type { IamReference } from '../core/types';
import type {
  ActionExecutor,
  AssumeForActionInput,
  CredentialIssuer,
  ExecutionFailure,
  ExecutionResult,
  ExecutionSummary,
  GenericExecutor,
  Logger,
  RequestChanges,
  RequestPathDeps,
  SessionCredentials,
} from './ports';
import { onLatest, whileUnavailable, type UnavailableRetry } from './retry';

/** Every class of execution role: the catalog's and the generic path's. */
export type ExecutionRoleClass = RoleClass | GenericRoleClass;

/** The execution role ARN of each class; an action whose class has none cannot run. */
export type ExecutionRoleArns = Readonly<Partial<Record<ExecutionRoleClass, string>>>;

export interface ExecuteDeps extends Pick<RequestPathDeps, 'requests' | 'clock'> {
  readonly credentials: CredentialIssuer;
  readonly logger: Logger;
  readonly executor: ActionExecutor;
  readonly signer: Signer;
  /** The execution roles of this account. */
  readonly executionRoles: ExecutionRoleArns;
  /**
   * Actions outside the catalog, run as the SDK command of the same operation with a derived
   * session. Absent: only catalog actions run.
   */
  readonly generic?: { readonly executor: GenericExecutor; readonly iam: IamReference };
  /**
   * The execution roles in workload accounts, by account id: an action on a resource whose ARN
   * names one of them runs with that account's role of its class, and never with this account's.
   */
  readonly targetAccounts?: Readonly<Record<string, ExecutionRoleArns>>;
  /**
   * How the records of an execution under way are retried while the store is unavailable: once
   * credentials exist, what they did must be recorded. @default DEFAULT_UNAVAILABLE_RETRY
   */
  readonly storeRetry?: UnavailableRetry;
}

const executeInputSchema = z.object({
  requestId: z.string().min(1),
  /** The parameters as the workflow carried them from the request event. */
  parameters: z.record(z.string(), z.unknown()),
});
export type ExecuteInput = z.infer<typeof executeInputSchema>;

/** Reads the workflow's input to the execute step; throws on a shape the workflow never sends. */
export function parseExecuteInput(event: unknown): ExecuteInput {
  return parseTaskInput('execute', executeInputSchema, event);
}

export interface ExecuteResult {
  readonly requestId: string;
  readonly outcome: 'executed' | 'simulated' | 'failed' | 'denied' | 'expired';
  readonly publish: OutcomeEvent;
}

/** The reviewer named in receipts and session tags of requests that policy approved on its own. */
export const AUTO_APPROVER = 'policy:auto-approve';
export const PARAMETERS_CHANGED = 'parameters changed after approval';

const SYSTEM = { kind: 'system', id: 'execute' } as const;

/**
 * Runs an approved action: re-checks that what is about to run is what was approved and that the
 * approval still holds, claims the execution (the conditional `approved → executing` write is what
 * keeps a duplicate invocation from running it twice), mints a session that can make this one call
 * until the approval expires, makes the call, and records the outcome with the signed receipt.
 *
 * @throws ConflictError when the request is not `approved`, e.g. because it already ran.
 */
export async function executeApproved(input: ExecuteInput, deps: ExecuteDeps): Promise<ExecuteResult> {
  const gate = await onLatest(deps.requests, input.requestId, async (record) => {
    if (record.state !== 'approved') {
      throw new ConflictError(
        `request ${record.requestId} is ${record.state}, not approved`,
        record.requestId,
      );
    }
    const at = deps.clock.now();
    const base = {
      requestId: record.requestId,
      at: at.toISOString(),
      actor: SYSTEM,
      parametersHash: record.request.parametersHash,
    };
    // Companions come from the stored request, not the workflow input: the hash binds both.
    const presented = parametersHash(input.parameters, record.request.action.companions);
    if (presented !== record.request.parametersHash) {
      const denied = await deps.requests.save(
        record,
        { state: 'denied', outcomeReason: PARAMETERS_CHANGED },
        [
          {
            ...base,
            type: 'denied',
            details: { reason: PARAMETERS_CHANGED, presentedParametersHash: presented },
          },
        ],
      );
      return { outcome: 'denied' as const, record: denied };
    }
    if (at.getTime() >= Date.parse(record.expiresAt)) {
      const reason = `the approval expired at ${record.expiresAt}, before execution`;
      const expired = await deps.requests.save(record, { state: 'expired', outcomeReason: reason }, [
        { ...base, type: 'expired', details: { reason, expiresAt: record.expiresAt } },
      ]);
      return { outcome: 'expired' as const, record: expired };
    }
    return {
      outcome: 'executing' as const,
      record: await deps.requests.save(record, { state: 'executing', executingSince: at.toISOString() }),
    };
  });

  if (gate.outcome !== 'executing') {
    return result(gate.record, gate.outcome, { reason: gate.record.outcomeReason ?? gate.outcome });
  }
  return run(gate.record, input.parameters, deps);
}

/** Where a failed execution stopped: it tells an operator whether anything could have run. */
type FailureStage = 'plan' | 'session-policy' | 'receipt' | 'credentials' | 'call' | 'internal';

interface Failure extends ExecutionFailure {
  readonly stage: FailureStage;
}

class StageError extends Error {
  constructor(readonly failure: Failure) {
    super(failure.message);
    this.name = 'StageError';
  }
}

async function run(
  claimed: RequestRecord,
  parameters: Readonly<Record<string, unknown>>,
  deps: ExecuteDeps,
): Promise<ExecuteResult> {
  const { request } = claimed;
  const reviewers = reviewersOf(claimed);
  let record = claimed;
  try {
    const prepared = await prepare(claimed, parameters, deps);
    if (reviewers.length === 0) fail('receipt', 'NoApprovers', 'the approval names no approving reviewer');

    // Signed before any credentials exist: if the receipt cannot be produced, nothing runs that
    // could not be proven approved.
    const receipt = await stage('receipt', () => signReceipt(receiptOf(claimed, reviewers), deps.signer));

    // The credentials live only inside this call; nothing that outlives it holds them.
    const called = await withSession(
      {
        roleArn: prepared.roleArn,
        requestId: request.requestId,
        agentId: claimed.agentId,
        approvers: reviewers,
        sessionPolicy: prepared.policy,
      },
      deps,
      async (credentials) => {
        record = await saveExecuting(deps, record, {}, [
          {
            ...eventBase(record, deps),
            type: 'credentials-issued',
            details: {
              accessKeyId: credentials.accessKeyId,
              expiration: credentials.expiration.toISOString(),
              roleArn: prepared.roleArn,
              roleClass: prepared.roleClass,
              sessionPolicy: serializeSessionPolicy(prepared.policy),
            },
          },
        ]);
        deps.logger.info('credentials issued', {
          requestId: request.requestId,
          accessKeyId: credentials.accessKeyId,
          expiration: credentials.expiration.toISOString(),
        });
        return prepared.call(credentials);
      },
    );
    if (!called.ok) fail('call', called.error.name, called.error.message, called.error.awsRequestId);

    const { simulated } = called.value;
    if (simulated) {
      // A local stand-in answered: the approval, session and receipt are real, the change is not.
      const reason = simulatedReason(request.action.operation, simulated.standIn);
      record = await saveExecuting(deps, record, { state: 'simulated', outcomeReason: reason }, [
        {
          ...eventBase(record, deps),
          type: 'simulated',
          details: { receipt, result: called.value.recorded, standIn: simulated.standIn, reason },
        },
      ]);
      deps.logger.info('action simulated', {
        requestId: request.requestId,
        operation: request.action.operation,
        standIn: simulated.standIn,
      });
      return result(record, 'simulated', {
        approvers: reviewers,
        receipt,
        reason,
        result: called.value.delivered,
      });
    }
    record = await saveExecuting(deps, record, { state: 'executed' }, [
      // What was returned is described, never kept: the data goes to the agent alone.
      { ...eventBase(record, deps), type: 'executed', details: { receipt, result: called.value.recorded } },
    ]);
    deps.logger.info('action executed', {
      requestId: request.requestId,
      operation: request.action.operation,
    });
    return result(record, 'executed', { approvers: reviewers, receipt, result: called.value.delivered });
  } catch (error) {
    const failure: Failure =
      error instanceof StageError
        ? error.failure
        : {
            stage: 'internal',
            name: error instanceof Error ? error.name : 'Error',
            message: error instanceof Error ? error.message : String(error),
          };
    const reason = `${failure.name}: ${failure.message}`;
    record = await saveExecuting(deps, record, { state: 'failed', outcomeReason: reason }, [
      { ...eventBase(record, deps), type: 'failed', details: { ...failure } },
    ]);
    deps.logger.warn('action failed', {
      requestId: request.requestId,
      stage: failure.stage,
      error: failure.name,
    });
    return result(record, 'failed', { approvers: reviewers, reason });
  }
}

/** What the agent, the console and the audit trail are told about a simulated run. */
export function simulatedReason(operation: string, standIn: string): string {
  return `simulated in local mode: ${operation} was answered by ${standIn}, not by AWS; nothing outside this machine changed`;
}

function fail(stageName: FailureStage, name: string, message: string, awsRequestId?: string): never {
  throw new StageError({ stage: stageName, name, message, ...(awsRequestId ? { awsRequestId } : {}) });
}

/** Runs a step whose errors mean the execution failed at `stageName`. */
async function stage<T>(stageName: FailureStage, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (error) {
    if (error instanceof StageError) throw error;
    return fail(
      stageName,
      error instanceof Error ? error.name : 'Error',
      error instanceof Error ? error.message : String(error),
    );
  }
}

async function withSession<T>(
  session: AssumeForActionInput,
  deps: ExecuteDeps,
  use: (credentials: SessionCredentials) => Promise<T>,
): Promise<T> {
  const credentials = await stage('credentials', () => deps.credentials.assumeForAction(session));
  return use(credentials);
}

/** What one approved call needs: the role to assume, the session to mint, and the call itself. */
interface PreparedCall {
  readonly roleClass: ExecutionRoleClass;
  readonly roleArn: string;
  readonly policy: SessionPolicyDocument;
  readonly call: (credentials: SessionCredentials) => Promise<Result<ExecutionResult, ExecutionFailure>>;
}

/**
 * The catalog's entry when it has one (its curated session and parameter rules), otherwise the
 * generic path: the SDK command of the same operation, with the session derived from IAM's
 * service reference.
 */
async function prepare(
  claimed: RequestRecord,
  parameters: Readonly<Record<string, unknown>>,
  deps: ExecuteDeps,
): Promise<PreparedCall> {
  const { action } = claimed.request;
  const plan = planAction({
    requestId: claimed.requestId,
    operation: action.operation,
    resource: action.resource,
    parameters,
  });
  if (!plan.ok && plan.error.reason === CatalogRefusal.UnknownOperation && deps.generic) {
    return prepareGeneric(claimed, parameters, deps.generic, deps);
  }
  if (!plan.ok) return fail('plan', plan.error.reason, plan.error.message);
  if (action.companions && action.companions.length > 0) {
    fail(
      'plan',
      'CompanionsNotAllowed',
      `${action.operation} is a catalog action: its entry names its companions`,
    );
  }
  const roleArn = executionRoleFor(plan.value.roleClass, [plan.value.resource], deps);
  const policy = buildSessionPolicy({
    operation: action.operation,
    resource: action.resource,
    notAfter: claimed.expiresAt,
    companions: plan.value.companions,
    ...(plan.value.approvedCallConditions
      ? { approvedCallConditions: plan.value.approvedCallConditions }
      : {}),
  });
  if (!policy.ok) return fail('session-policy', policy.error.reason, policy.error.message);
  return {
    roleClass: plan.value.roleClass,
    roleArn,
    policy: policy.value,
    call: (credentials) =>
      deps.executor.run(plan.value, credentials, {
        notAfter: new Date(claimed.expiresAt),
        now: deps.clock.now(),
      }),
  };
}

async function prepareGeneric(
  claimed: RequestRecord,
  parameters: Readonly<Record<string, unknown>>,
  generic: NonNullable<ExecuteDeps['generic']>,
  deps: ExecuteDeps,
): Promise<PreparedCall> {
  const { action } = claimed.request;
  const operation = sdkOperationFor(action.operation);
  if (!operation.ok) return fail('plan', operation.error.reason, operation.error.message);
  const info = await stage('plan', () => generic.iam.describeAction(action.operation));
  if (!info) return fail('plan', 'UnknownAction', `${action.operation} is not in IAM's service reference`);
  const companions = await stage('plan', () =>
    Promise.all(
      (action.companions ?? []).map(async (companion) => ({
        companion,
        info: await generic.iam.describeAction(companion.action),
      })),
    ),
  );
  const derived = deriveSession({
    action: info,
    resource: action.resource,
    notAfter: claimed.expiresAt,
    allowUnscopedResource: claimed.unscopedResource === true,
    companions,
  });
  if (!derived.ok) return fail('session-policy', derived.error.reason, derived.error.message);
  // A companion that changes something makes the whole session one that changes something.
  const levels = [info, ...companions.map((checked) => checked.info)].flatMap(
    (found) => found?.accessLevels ?? [],
  );
  const roleClass = genericRoleClassOf(levels);
  const roleArn = executionRoleFor(
    roleClass,
    [action.resource, ...(action.companions ?? []).map((companion) => companion.resource)],
    deps,
  );
  return {
    roleClass,
    roleArn,
    policy: derived.value.policy,
    call: (credentials) =>
      generic.executor.run(
        { operation: operation.value, resource: action.resource, parameters },
        credentials,
      ),
  };
}

/**
 * The role of the class in the account of the approved resource: a workload account's when the
 * ARN names one, this account's otherwise.
 */
function executionRoleFor(
  roleClass: ExecutionRoleClass,
  resources: readonly string[],
  deps: Pick<ExecuteDeps, 'executionRoles' | 'targetAccounts'>,
): string {
  const [primary = ''] = resources;
  const account = primary.split(':')[4] ?? '';
  const roles = (account && deps.targetAccounts?.[account]) || deps.executionRoles;
  const roleArn = roles[roleClass];
  if (!roleArn) {
    fail(
      'plan',
      'NoExecutionRole',
      `no execution role is configured for role class ${roleClass}${roles === deps.executionRoles ? '' : ` in account ${account}`}`,
    );
  }
  // A session that could change one of the execution roles could widen every later session.
  const allRoles = [deps.executionRoles, ...Object.values(deps.targetAccounts ?? {})].flatMap((arns) =>
    Object.values(arns).filter((arn): arn is string => arn !== undefined),
  );
  if (resources.some((resource) => allRoles.some((role) => sameRole(role, resource)))) {
    fail(
      'plan',
      'ProtectedResource',
      'the approved resource is one of the execution roles of action-approvals',
    );
  }
  return roleArn;
}

/** Who approved: the reviewers whose votes decided, or the policy when it approved on its own. */
function reviewersOf(record: RequestRecord): string[] {
  if (record.rule) return approvers(record.approval ?? { status: 'pending', votes: [] });
  return record.policy.outcome === 'auto-approve' ? [AUTO_APPROVER] : [];
}

function receiptOf(record: RequestRecord, reviewers: readonly string[]): ApprovalReceipt {
  return {
    requestId: record.requestId,
    agentId: record.agentId,
    operation: record.request.action.operation,
    resource: record.request.action.resource,
    parametersHash: record.request.parametersHash,
    reviewers,
    decision: 'approved',
    // A request the policy approved was decided when it was evaluated, which is when it was created.
    decidedAt: record.approval?.decidedAt ?? record.createdAt,
    expiresAt: record.expiresAt,
  };
}

function eventBase(
  record: RequestRecord,
  deps: ExecuteDeps,
): Pick<AuditEvent, 'requestId' | 'at' | 'actor' | 'parametersHash'> {
  return {
    requestId: record.requestId,
    at: deps.clock.now().toISOString(),
    actor: SYSTEM,
    parametersHash: record.request.parametersHash,
  };
}

/**
 * Writes to the request this invocation is executing. Nothing else should write to an executing
 * request, but if something did (a chat card reference, say), the write is retried on the latest
 * copy as long as it is still executing.
 */
async function saveExecuting(
  deps: ExecuteDeps,
  known: RequestRecord,
  changes: RequestChanges,
  events: readonly AuditEvent[],
): Promise<RequestRecord> {
  return whileUnavailable(() => saveExecutingOnce(deps, known, changes, events), deps.storeRetry);
}

async function saveExecutingOnce(
  deps: ExecuteDeps,
  known: RequestRecord,
  changes: RequestChanges,
  events: readonly AuditEvent[],
): Promise<RequestRecord> {
  try {
    return await deps.requests.save(known, changes, events);
  } catch (error) {
    if (!(error instanceof StaleWriteError)) throw error;
  }
  return onLatest(deps.requests, known.requestId, async (latest) => {
    // An earlier attempt of this very write may have landed with its answer lost: writing it
    // again would put the same records in the chain twice.
    if (landedAlready(known, changes, events, latest)) return latest;
    if (latest.state !== 'executing') {
      throw new ConflictError(
        `request ${latest.requestId} is ${latest.state}, no longer executing`,
        latest.requestId,
      );
    }
    return deps.requests.save(latest, changes, events);
  });
}

/**
 * Whether `latest` is `known` with this write applied: the chain ends with the very records it
 * appends (the head's hash seals their content and their position after `known`'s head) and the
 * request is one version on, in the state the write set.
 */
function landedAlready(
  known: RequestRecord,
  changes: RequestChanges,
  events: readonly AuditEvent[],
  latest: RequestRecord,
): boolean {
  const head = appendRecords(known.auditHead, events).at(-1);
  return (
    head !== undefined &&
    latest.version === known.version + 1 &&
    latest.auditHead?.seq === head.seq &&
    latest.auditHead.hash === head.hash &&
    latest.state === (changes.state ?? known.state)
  );
}

function result(
  record: RequestRecord,
  outcome: ExecuteResult['outcome'],
  detail: Pick<OutcomeDetail, 'reason' | 'approvers' | 'receipt'> & { readonly result?: ExecutionSummary },
): ExecuteResult {
  return { requestId: record.requestId, outcome, publish: requestOutcome(record, outcome, detail) };
}
