import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalRuntime, type Activity } from '../local/runtime';
import { SAMPLE_ACCOUNTS } from '../local/samples';
import { percentile, type BenchResult } from './harness';

const SEQUENTIAL_REQUESTS = 200;
const IN_FLIGHT = 100;

/** When each request reached each milestone, from the runtime's own activity reports. */
class Milestones {
  private readonly waiting = new Map<string, () => void>();
  private readonly ended = new Map<
    string,
    (summary: { status: string; stateTransitions: number; at: number }) => void
  >();

  observe = (activity: Activity): void => {
    if (activity.kind === 'state' && activity.waiting && activity.requestId)
      this.waiting.get(activity.requestId)?.();
    if (activity.kind === 'execution' && activity.summary.requestId) {
      this.ended.get(activity.summary.requestId)?.({ ...activity.summary, at: performance.now() });
    }
  };

  cardPosted(requestId: string): Promise<number> {
    return new Promise((resolve) => this.waiting.set(requestId, () => resolve(performance.now())));
  }

  executionEnded(requestId: string): Promise<{ status: string; stateTransitions: number; at: number }> {
    return new Promise((resolve) => this.ended.set(requestId, resolve));
  }
}

export async function run(): Promise<BenchResult[]> {
  const dataDir = await mkdtemp(join(tmpdir(), 'action-approvals-bench-'));
  const milestones = new Milestones();
  const local = await LocalRuntime.start({ dataDir, onActivity: milestones.observe });
  const agent = local.agentClient('reporting-bot');
  // The exported table is the runtime's own requests table: real data, and it exists.
  const request = (requestId: string) => ({
    agentId: 'reporting-bot',
    operation: 'dynamodb:ExportTableToPointInTime',
    resource: `arn:aws:dynamodb:us-east-1:${SAMPLE_ACCOUNTS.production}:table/action-approvals-idempotency`,
    parameters: { S3Bucket: 'bench-exports', S3Prefix: `${requestId}/` },
    justification: 'Benchmark.',
  });

  async function approvedAction(requestId: string) {
    const posted = milestones.cardPosted(requestId);
    const ended = milestones.executionEnded(requestId);
    const accepted = performance.now();
    await agent.put(requestId, request(requestId));
    const cardPostedAt = await posted;
    await local.vote(requestId, 'alice@example.com', 'approve');
    const decidedAt = performance.now();
    await local.vote(requestId, 'bob@example.com', 'approve');
    const end = await ended;
    if (end.status !== 'SUCCEEDED') throw new Error(`${requestId} ended ${end.status}`);
    return {
      toCard: cardPostedAt - accepted,
      toExecuted: end.at - decidedAt,
      stateTransitions: end.stateTransitions,
    };
  }

  try {
    for (let i = 0; i < 10; i += 1) await approvedAction(`warm-${i}`);
    const samples = [];
    for (let i = 0; i < SEQUENTIAL_REQUESTS; i += 1) samples.push(await approvedAction(`seq-${i}`));

    const started = performance.now();
    await Promise.all(Array.from({ length: IN_FLIGHT }, (_, i) => approvedAction(`flight-${i}`)));
    const seconds = (performance.now() - started) / 1000;

    const toCard = samples.map((sample) => sample.toCard);
    const toExecuted = samples.map((sample) => sample.toExecuted);
    const round = (ms: number) => Number(ms.toFixed(1));
    return [
      { name: 'local.accepted_to_card_posted.p50', unit: 'ms', value: round(percentile(toCard, 50)) },
      { name: 'local.accepted_to_card_posted.p99', unit: 'ms', value: round(percentile(toCard, 99)) },
      { name: 'local.decision_to_executed.p50', unit: 'ms', value: round(percentile(toExecuted, 50)) },
      { name: 'local.decision_to_executed.p99', unit: 'ms', value: round(percentile(toExecuted, 99)) },
      {
        name: 'local.approved_actions_per_s_100_in_flight',
        unit: 'actions/s',
        value: Number((IN_FLIGHT / seconds).toFixed(1)),
      },
      { name: 'local.happy_path_state_transitions', unit: 'transitions', value: samples[0].stateTransitions },
    ];
  } finally {
    await local.workflow.drain();
    await local.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}
