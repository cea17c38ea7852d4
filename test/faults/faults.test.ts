import type { FinalizeRequestMiddleware, MetadataBearer, MiddlewareStack } from '@smithy/types';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { STOP_GRACE_MS } from '../../local/dynamodb-local';
import { LocalRuntime } from '../../local/runtime';
import { seedSampleOrders } from '../../local/samples';
import type { WorkflowHandlers } from '../../local/workflow';
import {
  ActionCounter,
  drive,
  invariantViolations,
  loadRequest,
  runMixedLoad,
  RuntimeObserver,
  voteUntilAnswered,
} from '../support/mixed-load';

/**
 * Throttling for one service's clients at a time, injected in the SDK's own middleware stack
 * after its retry step: the SDK sees the error as AWS would send it and retries it as it would.
 */
class Throttling {
  private service: string | undefined;
  private left = 0;

  /** Throttling errors injected but not yet thrown. */
  get pending(): number {
    return this.left;
  }

  /** The next `calls` attempts of `service`'s clients fail with its throttling error. */
  throttle(service: string, calls: number): void {
    this.service = service;
    this.left = calls;
  }

  readonly inject = (client: object, service: string): void => {
    const stack = (client as { middlewareStack: MiddlewareStack<object, MetadataBearer> }).middlewareStack;
    const middleware: FinalizeRequestMiddleware<object, MetadataBearer> = (next) => async (args) => {
      if (this.service === service && this.left > 0) {
        this.left -= 1;
        throw Object.assign(new Error('Rate exceeded'), {
          name: service === 'DYNAMODB' ? 'ProvisionedThroughputExceededException' : 'ThrottlingException',
          $fault: 'client',
          $metadata: { httpStatusCode: 400 },
        });
      }
      return next(args);
    };
    stack.add(middleware, { step: 'finalizeRequest', priority: 'low', name: 'faultInjectionThrottling' });
  };
}

/** Requests whose evaluate task's answer is lost once: Step Functions invokes it again. */
const evaluateAnswersLost = new Set<string>();
/** Requests whose execute task's answer is lost once: Step Functions invokes it again. */
const executeAnswersLost = new Set<string>();

const lostAnswer = (name: string) => Object.assign(new Error('the invocation’s answer was lost'), { name });

/** A promise and the function that settles it. */
function signal(): { readonly promise: Promise<void>; readonly resolve: () => void } {
  let resolve: () => void = () => undefined;
  const promise = new Promise<void>((settle) => {
    resolve = settle;
  });
  return { promise, resolve };
}

/**
 * An execute task that Step Functions invokes again while its first invocation still runs the
 * action (the client timed out): the action is held until the second invocation has started.
 */
class OverlappingExecute {
  private readonly actionReached = signal();
  private readonly retried = signal();
  private invocations = 0;

  constructor(readonly requestId: string) {}

  async invoke(handlers: WorkflowHandlers, input: Parameters<WorkflowHandlers['execute']>[0]) {
    this.invocations += 1;
    if (this.invocations > 1) {
      this.retried.resolve();
      return handlers.execute(input);
    }
    // Runs on after Step Functions gave up on it, as a Lambda invocation does.
    handlers.execute(input).catch(() => undefined);
    await this.actionReached.promise;
    throw lostAnswer('Lambda.ClientExecutionTimeoutException');
  }

  /** Called when the action is about to run: it runs once the retried invocation has started. */
  async holdAction(): Promise<void> {
    this.actionReached.resolve();
    await this.retried.promise;
    await sleep(500);
  }
}

let overlapping: OverlappingExecute | undefined;

function faultyHandlers(handlers: WorkflowHandlers): WorkflowHandlers {
  return {
    ...handlers,
    evaluate: async (input) => {
      const answer = await handlers.evaluate(input);
      const requestId = (input as { event?: { detail?: { requestId?: string } } }).event?.detail?.requestId;
      if (requestId === undefined || !evaluateAnswersLost.delete(requestId)) return answer;
      // The claim was saved; Lambda's answer did not reach Step Functions.
      throw lostAnswer('Lambda.ServiceException');
    },
    execute: async (input) => {
      if (overlapping?.requestId === input.requestId) return overlapping.invoke(handlers, input);
      const answer = await handlers.execute(input);
      if (!executeAnswersLost.delete(input.requestId)) return answer;
      // The function ran and claimed the request; Lambda's answer did not reach Step Functions.
      throw lostAnswer('Lambda.ServiceException');
    },
  };
}

/** Settles as `work` does, or fails after `ms` with what `pending` says is still under way. */
async function within<T>(ms: number, work: Promise<T>, pending: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`after ${ms / 1000} s: ${pending()}`)), ms);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

// The outage test's deadlines. A task that met the outage retries ActionApprovals.StoreUnavailable
// with waits of 2 s doubling (full jitter): once DynamoDB Local answers again, it runs within its
// current wait, at most 64 s; its request then has its own steps to take (votes, execute, publish).
const OUTAGE_MS = 1_000;
// The JVM boots in seconds, far slower when the machine is loaded.
const RESTART_DEADLINE_MS = 60_000;
const RECOVERY_DEADLINE_MS = 64_000 + 30_000;
const OUTAGE_TEST_TIMEOUT_MS =
  STOP_GRACE_MS + OUTAGE_MS + RESTART_DEADLINE_MS + RECOVERY_DEADLINE_MS + 10_000;
// Executions a failed test left behind (waiting for votes nobody casts, retrying against a store
// that is down) get this long to end after the last test, and are then stopped.
const DRAIN_DEADLINE_MS = 20_000;

let local: LocalRuntime;
let dataDir: string;
const observer = new RuntimeObserver();
const throttling = new Throttling();
let actions: ActionCounter;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'action-approvals-faults-'));
  local = await LocalRuntime.start({
    dataDir,
    // On disk, so that DynamoDB Local keeps its tables when it is restarted.
    persist: true,
    // The faults make handlers fail on purpose; the invariants, not their error lines, tell.
    handlerLogLevel: 'SILENT',
    onActivity: observer.observe,
    onClient: throttling.inject,
    invokeHandlers: faultyHandlers,
  });
  actions = new ActionCounter(local);
  await seedSampleOrders(local.tables);
}, 60_000);

afterAll(
  async () => {
    const left = await within(DRAIN_DEADLINE_MS, local.workflow.drain(), () => 'still running').then(
      () => undefined,
      (error: Error) => error,
    );
    if (left) {
      local.workflow.stopAll();
      await within(5_000, local.workflow.drain(), () => 'executions did not stop');
    }
    await local.stop();
    await rm(dataDir, { recursive: true, force: true });
    if (left)
      throw new Error(`executions were still running after the last test, and were stopped ${left.message}`);
  },
  DRAIN_DEADLINE_MS + 5_000 + STOP_GRACE_MS + 5_000,
);

const violationsOf = (requestIds: readonly string[]) =>
  invariantViolations(local, observer, actions, requestIds);

test(
  'requests in flight while DynamoDB Local stops and restarts each end once, and are told once',
  async () => {
    const dynamodb = local.dynamodbLocal;
    if (!dynamodb) throw new Error('the fault suite needs DynamoDB Local');
    const requestIds = Array.from({ length: 12 }, (_, i) => `outage-${i}`);
    const running = runMixedLoad(local, observer, {
      count: requestIds.length,
      inFlight: requestIds.length,
      prefix: 'outage',
      stepTimeoutMs: RECOVERY_DEADLINE_MS,
    });
    // Awaited below, or dropped when the restart fails: never an unhandled rejection.
    running.catch(() => undefined);
    await observer.waiting('outage-1');

    await dynamodb.stop();
    await sleep(OUTAGE_MS);
    await dynamodb.restart({ withinMs: RESTART_DEADLINE_MS });
    await within(RECOVERY_DEADLINE_MS, running, () => {
      const untold = requestIds.filter((requestId) => observer.toldAbout(requestId).length === 0);
      return `DynamoDB Local answers again, but ${untold.length} agents were never told: ${untold.join(', ')}`;
    });

    expect(await violationsOf(requestIds)).toEqual([]);
  },
  OUTAGE_TEST_TIMEOUT_MS,
);

test.each(['DYNAMODB', 'STS', 'KMS', 'SFN', 'EVENTBRIDGE'])(
  'requests whose %s calls are throttled each end once, and are told once',
  async (service) => {
    throttling.throttle(service, 4);
    const run = await runMixedLoad(local, observer, {
      count: 8,
      inFlight: 8,
      prefix: `throttled-${service}`,
    });

    expect(throttling.pending).toBe(0);
    expect(await violationsOf(run.requests.map(({ requestId }) => requestId))).toEqual([]);
  },
);

test('an execute task invoked again after its claim runs the action once', async () => {
  executeAnswersLost.add('retried-execute');

  await drive(local, observer, 'retried-execute', 'approved');
  await local.workflow.drain();

  expect(actions.ranFor('retried-execute')).toBe(1);
  expect(await violationsOf(['retried-execute'])).toEqual([]);
});

test('an evaluate task invoked again after its claim carries the request on to its reviewers', async () => {
  evaluateAnswersLost.add('retried-evaluate');

  await drive(local, observer, 'retried-evaluate', 'approved');
  await local.workflow.drain();

  const { records } = await local.timeline('retried-evaluate');
  expect(records.filter((record) => record.type === 'requested')).toHaveLength(1);
  expect(actions.ranFor('retried-evaluate')).toBe(1);
  expect(await violationsOf(['retried-evaluate'])).toEqual([]);
});

test('an execute task invoked again while its first invocation runs the action ends executed, told once', async () => {
  const overlap = new OverlappingExecute('overlapping-execute');
  overlapping = overlap;
  const targets = local.targets;
  const exportTable = targets.exportTable;
  targets.exportTable = async (accessKeyId, body, now) => {
    if (String(body.S3Prefix ?? '').includes(overlap.requestId)) await overlap.holdAction();
    return exportTable.call(targets, accessKeyId, body, now);
  };
  try {
    await drive(local, observer, overlap.requestId, 'approved');
    await local.workflow.drain();
  } finally {
    targets.exportTable = exportTable;
    overlapping = undefined;
  }

  expect(observer.toldAbout(overlap.requestId).map((told) => told.outcome)).toEqual(['executed']);
  expect(await violationsOf([overlap.requestId])).toEqual([]);
}, 60_000);

test('a duplicated Action Requested event makes one request with one chain', async () => {
  const agent = local.agentClient('reporting-bot');
  const input = loadRequest('duplicated-event', 'approved');

  await Promise.all([agent.put('duplicated-event', input), agent.put('duplicated-event', input)]);
  await observer.waiting('duplicated-event');
  await voteUntilAnswered(local, 'duplicated-event', 'alice@example.com', 'approve');
  await voteUntilAnswered(local, 'duplicated-event', 'bob@example.com', 'approve');
  await observer.outcome('duplicated-event');
  await local.workflow.drain();

  const { records } = await local.timeline('duplicated-event');
  expect(records.filter((record) => record.type === 'requested')).toHaveLength(1);
  expect(await violationsOf(['duplicated-event'])).toEqual([]);
});

test('a deciding vote racing the expiry ends the request exactly once', async () => {
  const requestIds = Array.from({ length: 6 }, (_, i) => `vote-races-expiry-${i}`);
  const agent = local.agentClient('reporting-bot');

  await Promise.all(
    requestIds.map(async (requestId, i) => {
      await agent.put(requestId, loadRequest(requestId, 'approved'));
      await observer.waiting(requestId);
      if (i % 2 === 0) await voteUntilAnswered(local, requestId, 'alice@example.com', 'approve');
      const deciding = i % 2 === 0 ? 'bob@example.com' : 'alice@example.com';
      await Promise.all([
        local.vote(requestId, deciding, i % 2 === 0 ? 'approve' : 'deny'),
        Promise.resolve().then(() => local.workflow.expireWait(requestId)),
      ]);
      await observer.outcome(requestId);
    }),
  );
  await local.workflow.drain();

  expect(await violationsOf(requestIds)).toEqual([]);
});
