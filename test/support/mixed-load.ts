import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ActionRequestInput } from '../../client';
import { TERMINAL_RECORD_TYPES } from '../../lambdas/core/audit';
import { OUTCOME_DETAIL_TYPES, OUTCOME_SOURCE, type OutcomeDetail } from '../../lambdas/core/outcome';
import type { Activity, LocalRuntime } from '../../local/runtime';
import { SAMPLE_ACCOUNTS, SAMPLE_ORDERS_TABLE } from '../../local/samples';

// One scenario for the load test in `npm test` and the load bench in `npm run bench`: requests on
// the four paths a request can take, driven through the local runtime as agents and reviewers
// drive it, and the invariants every one of them must end with.

export const LOAD_PATHS = ['auto-approved', 'approved', 'denied', 'expired'] as const;
export type LoadPath = (typeof LOAD_PATHS)[number];

/** The terminal outcome each path ends with. */
export const EXPECTED_OUTCOME: Readonly<Record<LoadPath, OutcomeDetail['outcome']>> = {
  'auto-approved': 'executed',
  approved: 'executed',
  denied: 'denied',
  expired: 'expired',
};

const AGENT = 'reporting-bot';
const TERMINAL_DETAIL_TYPES: ReadonlySet<string> = new Set(
  Object.entries(OUTCOME_DETAIL_TYPES)
    .filter(([kind]) => kind !== 'approved')
    .map(([, detailType]) => detailType),
);

/**
 * What the runtime reported: which requests wait for reviewers, and each terminal outcome event
 * delivered to the agent's queue (the construct's outcome rule), by request id.
 */
export class RuntimeObserver {
  private readonly told = new Map<string, OutcomeDetail[]>();
  private readonly waitingFor = new Set<string>();
  private readonly wakers = new Map<string, Set<() => void>>();

  readonly observe = (activity: Activity): void => {
    if (activity.kind === 'state' && activity.waiting && activity.requestId) {
      this.waitingFor.add(activity.requestId);
      this.wake(activity.requestId);
    }
    if (
      activity.kind === 'outcome' &&
      activity.event.source === OUTCOME_SOURCE &&
      TERMINAL_DETAIL_TYPES.has(activity.event['detail-type'])
    ) {
      const detail = activity.event.detail as OutcomeDetail;
      this.told.set(detail.requestId, [...(this.told.get(detail.requestId) ?? []), detail]);
      this.wake(detail.requestId);
    }
  };

  /** The terminal outcomes the agent was told for a request: exactly one, when all is well. */
  toldAbout(requestId: string): readonly OutcomeDetail[] {
    return this.told.get(requestId) ?? [];
  }

  /** Settles when the request waits for reviewers, or has ended without waiting. */
  async waiting(requestId: string, timeoutMs = 30_000): Promise<void> {
    await this.until(
      requestId,
      () => this.waitingFor.has(requestId) || this.toldAbout(requestId).length > 0,
      timeoutMs,
      'never waited for reviewers',
    );
  }

  async outcome(requestId: string, timeoutMs = 30_000): Promise<OutcomeDetail> {
    await this.until(requestId, () => this.toldAbout(requestId).length > 0, timeoutMs, 'was never told');
    return this.toldAbout(requestId)[0];
  }

  private async until(requestId: string, done: () => boolean, timeoutMs: number, what: string) {
    const deadline = Date.now() + timeoutMs;
    while (!done()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${requestId} ${what} within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          this.wakers.get(requestId)?.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, left);
        this.wakers.set(requestId, (this.wakers.get(requestId) ?? new Set()).add(wake));
      });
    }
  }

  private wake(requestId: string): void {
    for (const wake of [...(this.wakers.get(requestId) ?? [])]) wake();
  }
}

/**
 * Counts the approved actions that ran, at the local targets the executor's calls reach, by
 * request: each export's prefix and each read object's key carry the request id.
 */
export class ActionCounter {
  private readonly runs = new Map<string, number>();

  constructor(local: LocalRuntime) {
    const targets = local.targets;
    const exportTable = targets.exportTable.bind(targets);
    const getObject = targets.getObject.bind(targets);
    targets.exportTable = async (accessKeyId, body, now) => {
      const answer = await exportTable(accessKeyId, body, now);
      this.count(String(body.S3Prefix ?? ''));
      return answer;
    };
    targets.getObject = async (accessKeyId, bucket, key, now) => {
      const answer = await getObject(accessKeyId, bucket, key, now);
      this.count(key);
      return answer;
    };
  }

  ranFor(requestId: string): number {
    return this.runs.get(requestId) ?? 0;
  }

  private count(where: string): void {
    const requestId = /^load\/(?<id>[^/]+?)(?:\/|\.csv$)/.exec(where)?.groups?.id;
    if (requestId) this.runs.set(requestId, this.ranFor(requestId) + 1);
  }
}

/** The request a path starts with: a staging read policy approves alone, or a reviewed export. */
export function loadRequest(requestId: string, path: LoadPath): ActionRequestInput {
  if (path === 'auto-approved') {
    return {
      agentId: AGENT,
      requestId,
      operation: 's3:GetObject',
      resource: `arn:aws:s3:::staging-reports/load/${requestId}.csv`,
      parameters: {},
      justification: 'Load test: a read policy approves on its own.',
    };
  }
  return {
    agentId: AGENT,
    requestId,
    operation: 'dynamodb:ExportTableToPointInTime',
    resource: `arn:aws:dynamodb:eu-west-1:${SAMPLE_ACCOUNTS.production}:table/${SAMPLE_ORDERS_TABLE}`,
    parameters: { S3Bucket: 'load-exports', S3Prefix: `load/${requestId}/`, ExportFormat: 'DYNAMODB_JSON' },
    justification: 'Load test: an export two security reviewers decide.',
  };
}

/** Writes the object an auto-approved load request reads. */
export async function writeLoadObject(local: LocalRuntime, requestId: string): Promise<void> {
  const path = local.targets.pathOf('staging-reports', `load/${requestId}.csv`);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, `request,${requestId}\n`);
}

/**
 * A reviewer's click, clicked again while it fails (the store is down, a call is throttled), as a
 * reviewer would: the decision path is idempotent per reviewer.
 */
export async function voteUntilAnswered(
  local: LocalRuntime,
  requestId: string,
  reviewerId: string,
  decision: 'approve' | 'deny',
): Promise<void> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      await local.vote(requestId, reviewerId, decision);
      return;
    } catch (error) {
      if (attempt >= 240) throw error;
      await sleep(250);
    }
  }
}

/**
 * Drives one request along its path, from the agent's event to the agent being told; each wait
 * for the workflow (to ask reviewers, to tell the agent) fails after `stepTimeoutMs`.
 */
export async function drive(
  local: LocalRuntime,
  observer: RuntimeObserver,
  requestId: string,
  path: LoadPath,
  stepTimeoutMs?: number,
): Promise<OutcomeDetail> {
  if (path === 'auto-approved') await writeLoadObject(local, requestId);
  await local.agentClient(AGENT).put(requestId, loadRequest(requestId, path));
  if (path !== 'auto-approved') await observer.waiting(requestId, stepTimeoutMs);
  // A request a fault ended early (failed) has nobody to ask.
  if (path !== 'auto-approved' && observer.toldAbout(requestId).length === 0) {
    if (path === 'approved') {
      await voteUntilAnswered(local, requestId, 'alice@example.com', 'approve');
      await voteUntilAnswered(local, requestId, 'bob@example.com', 'approve');
    } else if (path === 'denied') {
      await voteUntilAnswered(local, requestId, 'alice@example.com', 'deny');
    } else {
      local.workflow.expireWait(requestId);
    }
  }
  return observer.outcome(requestId, stepTimeoutMs);
}

export interface LoadRun {
  readonly requests: readonly { readonly requestId: string; readonly path: LoadPath }[];
  /** Wall time from the first event to the last agent told. */
  readonly seconds: number;
  /** From each request's event to its agent being told, by path. */
  readonly latencyMs: Readonly<Record<LoadPath, readonly number[]>>;
}

/** Sends `count` requests, the paths in turn, with at most `inFlight` unfinished at any time. */
export async function runMixedLoad(
  local: LocalRuntime,
  observer: RuntimeObserver,
  options: {
    readonly count: number;
    readonly inFlight: number;
    readonly prefix: string;
    /** How long each wait for the workflow may take. @default 30 s (RuntimeObserver's) */
    readonly stepTimeoutMs?: number;
  },
): Promise<LoadRun> {
  const requests = Array.from({ length: options.count }, (_, i) => ({
    requestId: `${options.prefix}-${i}`,
    path: LOAD_PATHS[i % LOAD_PATHS.length],
  }));
  const latencyMs: Record<LoadPath, number[]> = {
    'auto-approved': [],
    approved: [],
    denied: [],
    expired: [],
  };
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: Math.min(options.inFlight, requests.length) }, async () => {
      while (next < requests.length) {
        const { requestId, path } = requests[next];
        next += 1;
        const sent = performance.now();
        await drive(local, observer, requestId, path, options.stepTimeoutMs);
        latencyMs[path].push(performance.now() - sent);
      }
    }),
  );
  return { requests, seconds: (performance.now() - started) / 1000, latencyMs };
}

/**
 * Whatever broke the rules for these requests, one sentence each: every request has exactly one
 * terminal audit record and a chain that verifies, its agent was told exactly once and told what
 * the record says, and no action ran more than once (and one ran only for an executed request).
 */
export async function invariantViolations(
  local: LocalRuntime,
  observer: RuntimeObserver,
  actions: ActionCounter,
  requestIds: readonly string[],
): Promise<string[]> {
  const violations: string[] = [];
  for (const requestId of requestIds) {
    const { records, verification } = await local.timeline(requestId);
    const terminal = records.filter((record) => TERMINAL_RECORD_TYPES.has(record.type));
    const told = observer.toldAbout(requestId);
    const ran = actions.ranFor(requestId);
    if (!verification.ok) violations.push(`${requestId}: its chain does not verify`);
    if (terminal.length !== 1)
      violations.push(
        `${requestId}: ${terminal.length} terminal records (${records.map((r) => r.type).join(', ')})`,
      );
    if (told.length !== 1)
      violations.push(
        `${requestId}: agent told ${told.length} times (${told.map((t) => t.outcome).join(', ')})`,
      );
    if (terminal.length === 1 && told.length === 1 && told[0].outcome !== terminal[0].type)
      violations.push(`${requestId}: agent told ${told[0].outcome}, the record says ${terminal[0].type}`);
    if (ran > 1) violations.push(`${requestId}: the action ran ${ran} times`);
    if (ran === 1 && terminal[0]?.type !== 'executed')
      violations.push(`${requestId}: the action ran, the record says ${terminal[0]?.type ?? 'nothing'}`);
    if (ran === 0 && terminal[0]?.type === 'executed')
      violations.push(`${requestId}: recorded as executed, but the action never ran`);
  }
  return violations;
}
