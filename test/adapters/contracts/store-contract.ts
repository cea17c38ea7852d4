import { ConflictError, StaleWriteError } from '../../../lambdas/app/errors';
import type { AuditLog, RequestHistory, RequestsStore } from '../../../lambdas/app/ports';
import { verifyChain, type AuditEvent } from '../../../lambdas/core/audit';
import type { RequestRecord } from '../../../lambdas/core/lifecycle';

/** The two ports of one deployment's tables, sharing their state as the real tables do. */
export interface StorePorts {
  readonly requests: RequestsStore & RequestHistory;
  readonly audit: AuditLog;
}

const AT = '2026-11-24T10:00:00.000Z';

function newRequest(requestId: string): Omit<RequestRecord, 'auditHead'> {
  return {
    requestId,
    agentId: 'reporting-bot',
    state: 'awaiting-approval',
    version: 1,
    request: {
      requestId,
      agentId: 'reporting-bot',
      action: {
        operation: 'dynamodb:ExportTableToPointInTime',
        resource: 'arn:aws:dynamodb:eu-west-1:111122223333:table/orders',
        parameters: { S3Bucket: 'exports', S3Prefix: `orders/${requestId}/` },
      },
      parametersHash: 'a'.repeat(64),
      justification: 'Quarterly revenue report.',
      context: {},
      requestedAt: AT,
    },
    policy: { outcome: 'needs-approval', reason: 'production export', policyIds: ['export'] },
    createdAt: AT,
    expiresAt: '2026-11-24T11:00:00.000Z',
  };
}

function event(requestId: string, type: AuditEvent['type'], extra: Partial<AuditEvent> = {}): AuditEvent {
  return { requestId, at: AT, type, actor: { kind: 'system', id: 'test' }, ...extra };
}

let sequence = 0;
const uniqueId = (label: string) => `${label}-${Date.now().toString(36)}-${(sequence += 1)}`;

/**
 * What every implementation of the RequestsStore and AuditLog ports must do, so that the
 * in-memory tables can stand in for DynamoDB in use-case tests and in local mode.
 */
export function describeStoreContract(name: string, makePorts: () => Promise<StorePorts>): void {
  describe(`Contract: ${name} stores requests and their audit chains`, () => {
    let ports: StorePorts;
    beforeAll(async () => {
      ports = await makePorts();
    });

    it('claims a new request with its opening records and reads both back', async () => {
      const id = uniqueId('claim');
      const claimed = await ports.requests.claim(newRequest(id), [
        event(id, 'requested'),
        event(id, 'policy-evaluated'),
      ]);

      const record = await ports.requests.get(id);
      const chain = await ports.audit.read(id);
      expect(claimed).toBe(true);
      expect(record).toMatchObject({ requestId: id, state: 'awaiting-approval', version: 1 });
      expect(chain.map((entry) => [entry.seq, entry.type])).toEqual([
        [0, 'requested'],
        [1, 'policy-evaluated'],
      ]);
      expect(record?.auditHead).toEqual({ requestId: id, seq: 1, hash: chain[1].hash });
    });

    it('refuses a second claim of the same id and keeps the first one whole', async () => {
      const id = uniqueId('twice');
      await ports.requests.claim(newRequest(id), [event(id, 'requested')]);

      const again = await ports.requests.claim({ ...newRequest(id), agentId: 'deploy-bot' }, [
        event(id, 'requested', { actor: { kind: 'agent', id: 'deploy-bot' } }),
      ]);

      expect(again).toBe(false);
      expect((await ports.requests.get(id))?.agentId).toBe('reporting-bot');
      expect(await ports.audit.read(id)).toHaveLength(1);
    });

    it('refuses to claim an id whose chain was already started without a request', async () => {
      const id = uniqueId('rejected');
      await ports.audit.start(event(id, 'rejected'));

      const claimed = await ports.requests.claim(newRequest(id), [event(id, 'requested')]);

      expect(claimed).toBe(false);
      expect(await ports.requests.get(id)).toBeUndefined();
      expect((await ports.audit.read(id)).map((entry) => entry.type)).toEqual(['rejected']);
    });

    it('answers undefined for a request nobody claimed', async () => {
      expect(await ports.requests.get(uniqueId('missing'))).toBeUndefined();
    });

    it('saves a change with its records, bumps the version and extends the chain', async () => {
      const id = uniqueId('save');
      await ports.requests.claim(newRequest(id), [event(id, 'requested')]);
      const current = (await ports.requests.get(id)) as RequestRecord;

      const saved = await ports.requests.save(current, { state: 'approved' }, [event(id, 'approved')]);

      const chain = await ports.audit.read(id);
      expect(saved).toMatchObject({ state: 'approved', version: 2 });
      expect(await ports.requests.get(id)).toEqual(saved);
      expect(chain.map((entry) => entry.type)).toEqual(['requested', 'approved']);
      expect(verifyChain(chain).ok).toBe(true);
    });

    it('refuses a write based on a version somebody else already replaced', async () => {
      const id = uniqueId('stale');
      await ports.requests.claim(newRequest(id), [event(id, 'requested')]);
      const read = (await ports.requests.get(id)) as RequestRecord;
      await ports.requests.save(read, { outcomeReason: 'first' }, [event(id, 'vote')]);

      await expect(
        ports.requests.save(read, { outcomeReason: 'second' }, [event(id, 'vote')]),
      ).rejects.toThrow(StaleWriteError);
      expect((await ports.requests.get(id))?.outcomeReason).toBe('first');
      expect(await ports.audit.read(id)).toHaveLength(2);
    });

    it('refuses a state change the lifecycle does not allow, writing nothing', async () => {
      const id = uniqueId('lifecycle');
      await ports.requests.claim(newRequest(id), [event(id, 'requested')]);
      const current = (await ports.requests.get(id)) as RequestRecord;

      await expect(
        ports.requests.save(current, { state: 'executed' }, [event(id, 'executed')]),
      ).rejects.toThrow(ConflictError);
      expect((await ports.requests.get(id))?.state).toBe('awaiting-approval');
      expect(await ports.audit.read(id)).toHaveLength(1);
    });

    it('does not let a caller change a stored request through the object it was given', async () => {
      const id = uniqueId('alias');
      await ports.requests.claim(newRequest(id), [event(id, 'requested')]);
      const read = (await ports.requests.get(id)) as {
        -readonly [K in keyof RequestRecord]: RequestRecord[K];
      };

      read.state = 'executed';

      expect((await ports.requests.get(id))?.state).toBe('awaiting-approval');
    });

    it('drops undefined fields as DynamoDB does', async () => {
      const id = uniqueId('undefined');
      await ports.requests.claim(newRequest(id), [event(id, 'requested')]);
      const current = (await ports.requests.get(id)) as RequestRecord;

      const saved = await ports.requests.save(current, { outcomeReason: undefined });

      expect(Object.keys((await ports.requests.get(id)) ?? {})).not.toContain('outcomeReason');
      expect(saved.version).toBe(2);
    });

    it('starts a chain with no request behind it only once', async () => {
      const id = uniqueId('start');

      const first = await ports.audit.start(event(id, 'rejected', { details: { reasons: ['bad'] } }));
      const second = await ports.audit.start(event(id, 'rejected', { details: { reasons: ['worse'] } }));

      const chain = await ports.audit.read(id);
      expect([first, second]).toEqual([true, false]);
      expect(chain).toHaveLength(1);
      expect(chain[0].details).toEqual({ reasons: ['bad'] });
    });

    it('takes the same start again as the one it already wrote, as after a lost answer', async () => {
      const id = uniqueId('restart');
      const rejected = event(id, 'rejected', { details: { reasons: ['bad'] } });

      const first = await ports.audit.start(rejected);
      const again = await ports.audit.start(rejected);

      const chain = await ports.audit.read(id);
      expect([first, again]).toEqual([true, true]);
      expect(chain).toHaveLength(1);
      expect(verifyChain(chain).ok).toBe(true);
    });

    it('reads an unknown chain as empty', async () => {
      expect(await ports.audit.read(uniqueId('nothing'))).toEqual([]);
    });

    describe('listByAgent', () => {
      async function claimAs(agentId: string, createdAt: string): Promise<string> {
        const id = uniqueId('listed');
        await ports.requests.claim({ ...newRequest(id), agentId, createdAt, taskToken: 'token' }, [
          event(id, 'requested'),
        ]);
        return id;
      }

      it("lists the agent's newest requests first, at most the limit, and no other agent's", async () => {
        const agentId = uniqueId('agent');
        const oldest = await claimAs(agentId, '2026-11-24T10:00:00.000Z');
        const newest = await claimAs(agentId, '2026-11-24T10:02:00.000Z');
        const middle = await claimAs(agentId, '2026-11-24T10:01:00.000Z');
        await claimAs(uniqueId('other-agent'), '2026-11-24T10:03:00.000Z');

        const all = await ports.requests.listByAgent(agentId, 10);
        const two = await ports.requests.listByAgent(agentId, 2);

        expect(all.map((summary) => summary.requestId)).toEqual([newest, middle, oldest]);
        expect(two.map((summary) => summary.requestId)).toEqual([newest, middle]);
      });

      it('lists summaries without the task token, the version or the audit head', async () => {
        const agentId = uniqueId('agent');
        const id = await claimAs(agentId, '2026-11-24T10:00:00.000Z');

        const [summary] = await ports.requests.listByAgent(agentId, 1);

        expect(summary).toMatchObject({ requestId: id, agentId, state: 'awaiting-approval' });
        expect(
          Object.keys(summary).filter((name) => ['taskToken', 'version', 'auditHead'].includes(name)),
        ).toEqual([]);
      });
    });

    describe('executingSince', () => {
      async function executing(id: string, since: string): Promise<RequestRecord> {
        await ports.requests.claim(newRequest(id), [event(id, 'requested')]);
        const approved = await ports.requests.save((await ports.requests.get(id))!, { state: 'approved' });
        return ports.requests.save(approved, { state: 'executing', executingSince: since });
      }

      it('lists a request claimed for execution before the cutoff, and none claimed after it', async () => {
        const stuck = uniqueId('stuck');
        const running = uniqueId('running');
        await executing(stuck, '2026-11-24T10:00:00.000Z');
        await executing(running, '2026-11-24T10:05:00.000Z');

        const listed = await ports.requests.executingSince(new Date('2026-11-24T10:02:00.000Z'));

        expect([listed.includes(stuck), listed.includes(running)]).toEqual([true, false]);
      });

      it('no longer lists a request once it has left executing', async () => {
        const done = uniqueId('done');
        const record = await executing(done, '2026-11-24T10:00:00.000Z');
        await ports.requests.save(record, { state: 'executed' });

        const listed = await ports.requests.executingSince(new Date('2026-11-24T10:02:00.000Z'));

        expect(listed).not.toContain(done);
        expect(await ports.requests.get(done)).toMatchObject({ state: 'executed', version: 4 });
      });

      it('reads back an executing request as it was saved, with nothing of the index in it', async () => {
        const id = uniqueId('indexed');
        const saved = await executing(id, '2026-11-24T10:00:00.000Z');

        expect(await ports.requests.get(id)).toEqual(saved);
      });
    });
  });
}
