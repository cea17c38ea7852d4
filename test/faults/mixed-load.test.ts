import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalRuntime } from '../../local/runtime';
import { seedSampleOrders } from '../../local/samples';
import {
  ActionCounter,
  EXPECTED_OUTCOME,
  invariantViolations,
  runMixedLoad,
  RuntimeObserver,
  type LoadRun,
} from '../support/mixed-load';

// The load bench's scenario (bench/load.bench.ts) with fewer requests: the invariants, no timings.
let local: LocalRuntime;
let dataDir: string;
const observer = new RuntimeObserver();
let actions: ActionCounter;
let run: LoadRun;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'action-approvals-load-'));
  local = await LocalRuntime.start({ dataDir, onActivity: observer.observe });
  actions = new ActionCounter(local);
  await seedSampleOrders(local.tables);
  run = await runMixedLoad(local, observer, { count: 60, inFlight: 20, prefix: 'load' });
}, 90_000);

afterAll(async () => {
  await local.workflow.drain();
  await local.stop();
  await rm(dataDir, { recursive: true, force: true });
});

test('sixty mixed requests in flight each end as their path says', () => {
  const ended = run.requests.map(({ requestId, path }) => ({
    requestId,
    outcome: observer.toldAbout(requestId)[0]?.outcome,
    expected: EXPECTED_OUTCOME[path],
  }));

  expect(ended.filter(({ outcome, expected }) => outcome !== expected)).toEqual([]);
});

test('every request has exactly one terminal record, a verified chain, and its agent told once', async () => {
  const violations = await invariantViolations(
    local,
    observer,
    actions,
    run.requests.map(({ requestId }) => requestId),
  );

  expect(violations).toEqual([]);
});

test('the executed requests ran their action exactly once, and no other request ran one', () => {
  const runs = run.requests.map(({ requestId, path }) => ({
    requestId,
    ran: actions.ranFor(requestId),
    expected: EXPECTED_OUTCOME[path] === 'executed' ? 1 : 0,
  }));

  expect(runs.filter(({ ran, expected }) => ran !== expected)).toEqual([]);
});
