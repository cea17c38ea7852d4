import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalRuntime } from '../local/runtime';
import { seedSampleOrders } from '../local/samples';
import {
  ActionCounter,
  EXPECTED_OUTCOME,
  invariantViolations,
  LOAD_PATHS,
  runMixedLoad,
  RuntimeObserver,
} from '../test/support/mixed-load';
import { percentile, type BenchResult } from './harness';

/** Requests in all, the four paths in turn; `LOAD_BENCH_REQUESTS` runs fewer on a busy machine. */
const REQUESTS = Number(process.env.LOAD_BENCH_REQUESTS ?? 1_000);
const IN_FLIGHT = 20;

/**
 * The mixed load of test/faults/mixed-load.test.ts at full size: every request must end with
 * exactly one terminal record and its agent told once, or the suite fails instead of reporting.
 */
export async function run(): Promise<BenchResult[]> {
  const dataDir = await mkdtemp(join(tmpdir(), 'action-approvals-load-bench-'));
  const observer = new RuntimeObserver();
  const local = await LocalRuntime.start({ dataDir, onActivity: observer.observe });
  try {
    const actions = new ActionCounter(local);
    await seedSampleOrders(local.tables);
    const load = await runMixedLoad(local, observer, {
      count: REQUESTS,
      inFlight: IN_FLIGHT,
      prefix: 'bench',
    });
    await local.workflow.drain();

    const requestIds = load.requests.map(({ requestId }) => requestId);
    const violations = await invariantViolations(local, observer, actions, requestIds);
    const misrouted = load.requests.filter(
      ({ requestId, path }) => observer.toldAbout(requestId)[0]?.outcome !== EXPECTED_OUTCOME[path],
    );
    if (violations.length > 0 || misrouted.length > 0) {
      throw new Error(
        `the load broke the invariants: ${[...violations, ...misrouted.map(({ requestId }) => `${requestId} ended off its path`)].join('; ')}`,
      );
    }

    const round = (value: number) => Number(value.toFixed(1));
    return [
      { name: 'load.requests', unit: 'requests', value: REQUESTS },
      { name: 'load.requests_per_s', unit: 'requests/s', value: round(REQUESTS / load.seconds) },
      ...LOAD_PATHS.flatMap((path) => {
        const samples = load.latencyMs[path];
        return [
          { name: `load.${path}.per_s`, unit: 'requests/s', value: round(samples.length / load.seconds) },
          { name: `load.${path}.p50`, unit: 'ms', value: round(percentile(samples, 50)) },
          { name: `load.${path}.p99`, unit: 'ms', value: round(percentile(samples, 99)) },
        ];
      }),
    ];
  } finally {
    await local.workflow.drain();
    await local.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}
