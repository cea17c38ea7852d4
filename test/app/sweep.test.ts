import fc from 'fast-check';
import { ConflictError, StaleWriteError } from '../../lambdas/app/errors';
import { logger } from '../../lambdas/adapters/logger';
import { InMemoryTables } from '../../lambdas/adapters/in-memory-store';
import { LocalSigner } from '../../lambdas/adapters/local-signer';
import { executeApproved, type ExecuteDeps } from '../../lambdas/app/execute';
import type { OutcomePublisher } from '../../lambdas/app/ports';
import { sweepStuckExecutions, type SweepDeps } from '../../lambdas/app/sweep';
import { verifyChain } from '../../lambdas/core/audit';
import type { RequestRecord } from '../../lambdas/core/lifecycle';
import type { OutcomeEvent } from '../../lambdas/core/outcome';
import { ManualClock } from '../support/fixtures';

const CLAIMED_AT = '2026-11-24T10:00:00.000Z';
const PARAMETERS = { S3Bucket: 'exports', S3Prefix: 'orders/' };

class RecordingPublisher implements OutcomePublisher {
  readonly events: OutcomeEvent[] = [];
  async publish(event: OutcomeEvent): Promise<void> {
    this.events.push(event);
  }
}

/** A request the execute function claimed at CLAIMED_AT and never finished. */
async function stuckInExecuting(tables: InMemoryTables, requestId: string): Promise<RequestRecord> {
  const store = tables.requestsStore;
  await store.claim(
    {
      requestId,
      agentId: 'reporting-bot',
      state: 'awaiting-approval',
      version: 0,
      request: {
        requestId,
        agentId: 'reporting-bot',
        action: {
          operation: 'dynamodb:ExportTableToPointInTime',
          resource: 'arn:aws:dynamodb:eu-west-1:111122223333:table/orders',
          parameters: PARAMETERS,
        },
        parametersHash: 'a'.repeat(64),
        justification: 'Quarterly revenue report.',
        context: {},
        requestedAt: CLAIMED_AT,
      },
      policy: { outcome: 'require-approval', reason: 'production export', policyIds: ['export'] },
      createdAt: CLAIMED_AT,
      expiresAt: '2026-11-24T11:00:00.000Z',
    },
    [{ requestId, at: CLAIMED_AT, type: 'requested', actor: { kind: 'agent', id: 'reporting-bot' } }],
  );
  const approved = await store.save((await store.get(requestId))!, { state: 'approved' }, [
    { requestId, at: CLAIMED_AT, type: 'approved', actor: { kind: 'system', id: 'test' } },
  ]);
  return store.save(approved, { state: 'executing', executingSince: CLAIMED_AT });
}

function sweepDeps(tables: InMemoryTables, clock: ManualClock, publisher: RecordingPublisher): SweepDeps {
  return { requests: tables.requestsStore, clock, publisher, stuckAfterSeconds: 120 };
}

describe('Function: sweepStuckExecutions', () => {
  it('ends a request left in executing past the timeout as failed, with a terminal audit record', async () => {
    const tables = new InMemoryTables();
    await stuckInExecuting(tables, 'stuck');
    const clock = new ManualClock(new Date('2026-11-24T10:05:00.000Z'));

    const result = await sweepStuckExecutions(sweepDeps(tables, clock, new RecordingPublisher()));

    const chain = await tables.auditLog.read('stuck');
    expect(result).toEqual({ failed: ['stuck'] });
    expect(await tables.requestsStore.get('stuck')).toMatchObject({
      state: 'failed',
      outcomeReason: 'the execution stopped before recording its result',
    });
    expect(chain.at(-1)).toMatchObject({
      type: 'failed',
      actor: { kind: 'system', id: 'sweep' },
      details: {
        stage: 'sweep',
        previousState: 'executing',
        executingSince: CLAIMED_AT,
        stuckAfterSeconds: 120,
      },
    });
    expect(verifyChain(chain)).toEqual({ ok: true, records: 3 });
  });

  it('tells the agent with an Action Failed event', async () => {
    const tables = new InMemoryTables();
    await stuckInExecuting(tables, 'stuck');
    const publisher = new RecordingPublisher();

    await sweepStuckExecutions(
      sweepDeps(tables, new ManualClock(new Date('2026-11-24T10:05:00.000Z')), publisher),
    );

    expect(publisher.events.map(({ DetailType, Detail }) => [DetailType, JSON.parse(Detail)])).toEqual([
      [
        'Action Failed',
        expect.objectContaining({
          requestId: 'stuck',
          outcome: 'failed',
          agentId: 'reporting-bot',
          reason: 'the execution stopped before recording its result',
        }),
      ],
    ]);
  });

  it('leaves an execution that may still be running (within the timeout) alone', async () => {
    const tables = new InMemoryTables();
    await stuckInExecuting(tables, 'running');
    const publisher = new RecordingPublisher();

    const result = await sweepStuckExecutions(
      sweepDeps(tables, new ManualClock(new Date('2026-11-24T10:01:59.000Z')), publisher),
    );

    expect([result.failed, publisher.events]).toEqual([[], []]);
    expect(await tables.requestsStore.get('running')).toMatchObject({ state: 'executing' });
  });

  it('ends a stuck request once, however often it runs', async () => {
    const tables = new InMemoryTables();
    await stuckInExecuting(tables, 'stuck');
    const publisher = new RecordingPublisher();
    const deps = sweepDeps(tables, new ManualClock(new Date('2026-11-24T10:05:00.000Z')), publisher);

    await sweepStuckExecutions(deps);
    const again = await sweepStuckExecutions(deps);

    expect(again).toEqual({ failed: [] });
    expect(publisher.events).toHaveLength(1);
    expect((await tables.auditLog.read('stuck')).filter((record) => record.type === 'failed')).toHaveLength(
      1,
    );
  });

  it('never lets the action run again: a retried execute is refused before minting anything', async () => {
    const tables = new InMemoryTables();
    await stuckInExecuting(tables, 'stuck');
    await sweepStuckExecutions(
      sweepDeps(tables, new ManualClock(new Date('2026-11-24T10:05:00.000Z')), new RecordingPublisher()),
    );
    const calls: string[] = [];
    const execute: ExecuteDeps = {
      logger,
      requests: tables.requestsStore,
      clock: new ManualClock(new Date('2026-11-24T10:06:00.000Z')),
      credentials: {
        assumeForAction: async () => {
          calls.push('assume');
          throw new Error('no session may be minted');
        },
      },
      executor: {
        run: async () => {
          calls.push('run');
          throw new Error('nothing may run');
        },
      },
      signer: LocalSigner.generate('sweep-test'),
      executionRoles: {},
    };

    await expect(executeApproved({ requestId: 'stuck', parameters: PARAMETERS }, execute)).rejects.toThrow(
      ConflictError,
    );
    expect(calls).toEqual([]);
  });

  it('makes a late final write of the dead invocation fail, so the request keeps one end', async () => {
    const tables = new InMemoryTables();
    const claimed = await stuckInExecuting(tables, 'stuck');
    await sweepStuckExecutions(
      sweepDeps(tables, new ManualClock(new Date('2026-11-24T10:05:00.000Z')), new RecordingPublisher()),
    );

    await expect(tables.requestsStore.save(claimed, { state: 'executed' })).rejects.toThrow(StaleWriteError);
    expect(await tables.requestsStore.get('stuck')).toMatchObject({ state: 'failed' });
  });

  it('ends a request exactly when its claim is older than stuckAfterSeconds, and only once', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 600 }),
        fc.integer({ min: 1, max: 3 }),
        async (age, runs) => {
          const tables = new InMemoryTables();
          await stuckInExecuting(tables, 'claimed');
          const publisher = new RecordingPublisher();
          const clock = new ManualClock(new Date(Date.parse(CLAIMED_AT) + age * 1000));
          for (let run = 0; run < runs; run += 1)
            await sweepStuckExecutions(sweepDeps(tables, clock, publisher));

          const stuck = age > 120;
          const failedRecords = (await tables.auditLog.read('claimed')).filter((r) => r.type === 'failed');
          expect((await tables.requestsStore.get('claimed'))?.state).toBe(stuck ? 'failed' : 'executing');
          expect([failedRecords.length, publisher.events.length]).toEqual(stuck ? [1, 1] : [0, 0]);
        },
      ),
      { numRuns: 50 },
    );
  });
});
