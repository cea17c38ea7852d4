import type { FinalizeRequestMiddleware, MetadataBearer, MiddlewareStack } from '@smithy/types';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
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

/** Requests whose execute task's answer is lost once: Step Functions invokes it again. */
const executeAnswersLost = new Set<string>();

function loseExecuteAnswerOnce(handlers: WorkflowHandlers): WorkflowHandlers {
  return {
    ...handlers,
    execute: async (input) => {
      const answer = await handlers.execute(input);
      if (!executeAnswersLost.delete(input.requestId)) return answer;
      // The function ran and claimed the request; Lambda's answer did not reach Step Functions.
      throw Object.assign(new Error('the invocation’s answer was lost'), { name: 'Lambda.ServiceException' });
    },
  };
}

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
    invokeHandlers: loseExecuteAnswerOnce,
  });
  actions = new ActionCounter(local);
  await seedSampleOrders(local.tables);
}, 60_000);

afterAll(async () => {
  await local.workflow.drain();
  await local.stop();
  await rm(dataDir, { recursive: true, force: true });
});

const violationsOf = (requestIds: readonly string[]) =>
  invariantViolations(local, observer, actions, requestIds);

test('requests in flight while DynamoDB Local stops and restarts each end once, and are told once', async () => {
  const dynamodb = local.dynamodbLocal;
  if (!dynamodb) throw new Error('the fault suite needs DynamoDB Local');
  const running = runMixedLoad(local, observer, { count: 12, inFlight: 12, prefix: 'outage' });
  await observer.waiting('outage-1');

  await dynamodb.stop();
  await sleep(1_000);
  await dynamodb.restart();
  const run = await running;

  expect(await violationsOf(run.requests.map(({ requestId }) => requestId))).toEqual([]);
}, 120_000);

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
