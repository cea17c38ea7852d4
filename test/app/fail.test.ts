import { evaluateRequest } from '../../lambdas/app/evaluate';
import { StillExecutingError, StoreUnavailableError } from '../../lambdas/app/errors';
import { failRequest } from '../../lambdas/app/fail';
import type { OutcomePublisher } from '../../lambdas/app/ports';
import { requestApproval } from '../../lambdas/app/request-approval';
import { sweepStuckExecutions } from '../../lambdas/app/sweep';
import { verifyChain } from '../../lambdas/core/audit';
import type { RequestRecord } from '../../lambdas/core/lifecycle';
import type { OutcomeEvent } from '../../lambdas/core/outcome';
import {
  actionRequested,
  inMemoryStores,
  STAGING_ACCOUNT,
  testDeps,
  type TestDeps,
  type TestStores,
} from '../support/fixtures';

describe('Function: failRequest', () => {
  let tables: TestStores;
  beforeAll(() => {
    tables = inMemoryStores();
  });

  const failure = (requestId: string, error = 'Lambda.Unknown') => ({
    state: { requestId, error: { Error: error, Cause: 'a cause that may quote the request' } },
    event: actionRequested({ requestId }),
  });

  it('ends an open request as failed with one terminal record, naming only the error', async () => {
    const deps = testDeps(tables);
    await evaluateRequest(actionRequested({ requestId: 'fail-open' }), deps.evaluate);
    await requestApproval({ requestId: 'fail-open', taskToken: 'token' }, deps.decide);

    const result = await failRequest(failure('fail-open'), deps.decide);

    expect(result).toMatchObject({
      requestId: 'fail-open',
      outcome: 'failed',
      publish: { DetailType: 'Action Failed' },
    });
    expect(JSON.parse(result.publish?.Detail ?? '{}')).toMatchObject({
      agentId: 'reporting-bot',
      reason: 'the workflow failed: Lambda.Unknown',
    });
    const chain = await deps.decide.audit.read('fail-open');
    expect(chain.at(-1)).toMatchObject({ type: 'failed', details: { previousState: 'awaiting-approval' } });
    expect(verifyChain(chain).ok).toBe(true);
    expect(JSON.stringify(chain)).not.toContain('a cause that may quote the request');
  });

  it('keeps the end of a request that already ended', async () => {
    const deps = testDeps(tables);
    await evaluateRequest(
      actionRequested({
        requestId: 'fail-ended',
        operation: 'iam:CreateAccessKey',
        resource: 'arn:aws:iam::111122223333:user/ci',
        parameters: {},
      }),
      deps.evaluate,
    );

    const result = await failRequest(failure('fail-ended'), deps.decide);

    expect(result.outcome).toBe('denied');
    expect((await deps.decide.audit.read('fail-ended')).map((record) => record.type)).toEqual([
      'requested',
      'policy-evaluated',
      'denied',
    ]);
  });

  it('gives a request that was never claimed a failed chain of its own', async () => {
    const deps = testDeps(tables);

    const result = await failRequest(failure('fail-unclaimed'), deps.decide);

    expect(result.requestId).toBe('fail-unclaimed');
    expect(await deps.decide.audit.read('fail-unclaimed')).toEqual([
      expect.objectContaining({ seq: 0, type: 'failed', actor: { kind: 'agent', id: 'reporting-bot' } }),
    ]);
  });

  it('still tells the agent when nothing can be recorded', async () => {
    const unreachable = async (): Promise<never> => {
      throw Object.assign(new Error('Requested resource not found'), { name: 'ResourceNotFoundException' });
    };
    const deps = testDeps({
      requests: { claim: unreachable, get: unreachable, save: unreachable, executingSince: unreachable },
      audit: { start: unreachable, read: unreachable },
    });

    const result = await failRequest(
      failure('fail-nowhere', 'DynamoDB.ResourceNotFoundException'),
      deps.decide,
    );

    expect(result).toMatchObject({ outcome: 'failed', publish: { DetailType: 'Action Failed' } });
    expect(JSON.parse(result.publish?.Detail ?? '{}')).toMatchObject({ agentId: 'reporting-bot' });
  });

  it('fails itself, to be retried, while the store is only unavailable, and records nothing beside the request', async () => {
    const unavailable = async (): Promise<never> => {
      throw new StoreUnavailableError();
    };
    const started: string[] = [];
    const deps = testDeps({
      requests: { claim: unavailable, get: unavailable, save: unavailable, executingSince: unavailable },
      audit: {
        start: async (event) => {
          started.push(event.requestId);
          return true;
        },
        read: unavailable,
      },
    });

    await expect(failRequest(failure('fail-outage'), deps.decide)).rejects.toBeInstanceOf(
      StoreUnavailableError,
    );
    expect(started).toEqual([]);
  });

  describe('a request in executing', () => {
    /** An auto-approved read the execute function claimed, as it leaves it while the action runs. */
    async function claimedForExecution(deps: TestDeps, requestId: string): Promise<RequestRecord> {
      const event = actionRequested({
        requestId,
        operation: 's3:GetObject',
        resource: 'arn:aws:s3:::staging-reports/q3.csv',
        parameters: {},
      });
      await evaluateRequest({ ...event, account: STAGING_ACCOUNT }, deps.evaluate);
      const approved = await deps.decide.requests.get(requestId);
      return deps.decide.requests.save(approved!, {
        state: 'executing',
        executingSince: deps.clock.now().toISOString(),
      });
    }

    it('is left to the invocation that claimed it: the failure path fails to be retried and writes nothing', async () => {
      const deps = testDeps(tables);
      const executing = await claimedForExecution(deps, 'fail-executing');

      await expect(failRequest(failure('fail-executing', 'ConflictError'), deps.decide)).rejects.toThrow(
        StillExecutingError,
      );

      expect(await deps.decide.requests.get('fail-executing')).toEqual(executing);
      expect((await deps.decide.audit.read('fail-executing')).map((record) => record.type)).toEqual([
        'requested',
        'policy-evaluated',
        'approved',
      ]);
    });

    it('tells the agent how the claiming invocation ended it, once it has', async () => {
      const deps = testDeps(tables);
      const executing = await claimedForExecution(deps, 'fail-then-executed');
      await expect(failRequest(failure('fail-then-executed'), deps.decide)).rejects.toThrow(
        StillExecutingError,
      );
      await deps.decide.requests.save(executing, { state: 'executed' }, [
        {
          requestId: 'fail-then-executed',
          at: executing.createdAt,
          type: 'executed',
          actor: { kind: 'system', id: 'execute' },
        },
      ]);

      const retried = await failRequest(failure('fail-then-executed'), deps.decide);

      expect(retried).toMatchObject({ outcome: 'executed', publish: { DetailType: 'Action Executed' } });
      expect(
        (await deps.decide.audit.read('fail-then-executed')).filter((record) => record.type === 'executed'),
      ).toHaveLength(1);
    });

    it('tells the agent nothing more when the sweep ended it, as the sweep told the agent itself', async () => {
      const deps = testDeps(inMemoryStores());
      await claimedForExecution(deps, 'fail-then-swept');
      const told: OutcomeEvent[] = [];
      const publisher: OutcomePublisher = { publish: async (event) => void told.push(event) };
      deps.clock.advance(600);
      await sweepStuckExecutions({ ...deps.decide, publisher, stuckAfterSeconds: 120 });

      const retried = await failRequest(failure('fail-then-swept'), deps.decide);

      expect(retried).toEqual({ requestId: 'fail-then-swept', outcome: 'failed' });
      expect(told.map((event) => event.DetailType)).toEqual(['Action Failed']);
      expect(
        (await deps.decide.audit.read('fail-then-swept')).filter((record) => record.type === 'failed'),
      ).toHaveLength(1);
    });
  });
});

describe('Attack class 4: a failure touches only its own request', () => {
  let tables: TestStores;
  beforeAll(() => {
    tables = inMemoryStores();
  });

  /** Agent A's request, open and waiting for reviewers. */
  async function victim(requestId: string) {
    const deps = testDeps(tables);
    await evaluateRequest(actionRequested({ requestId }), deps.evaluate);
    await requestApproval({ requestId, taskToken: 'token' }, deps.decide);
    return { deps, before: await deps.decide.audit.read(requestId) };
  }

  /** What the workflow hands RecordFailure when Evaluate broke: the event itself, plus the error. */
  const evaluateBroke = (event: ReturnType<typeof actionRequested>) => ({
    state: { ...event, error: { Error: 'Lambda.Unknown', Cause: 'boom' } },
    event,
  });

  it('leaves another agent’s open request alone when an event reusing its id fails before any claim', async () => {
    const { deps, before } = await victim('class4-victim');
    const attack = { ...actionRequested({ requestId: 'class4-victim' }, 'deploy-bot'), id: 'evt-attack-1' };

    const result = await failRequest(evaluateBroke(attack), deps.decide);

    expect((await deps.decide.requests.get('class4-victim'))?.state).toBe('awaiting-approval');
    expect(await deps.decide.audit.read('class4-victim')).toEqual(before);
    expect(result.requestId).toBe('failed-evt-attack-1');
  });

  it('gives the failed event a failure chain of its own that names the id it asked for', async () => {
    const { deps } = await victim('class4-own-chain');
    const attack = {
      ...actionRequested({ requestId: 'class4-own-chain' }, 'deploy-bot'),
      id: 'evt-attack-2',
    };

    await failRequest(evaluateBroke(attack), deps.decide);

    expect(await deps.decide.audit.read('failed-evt-attack-2')).toEqual([
      expect.objectContaining({
        seq: 0,
        type: 'failed',
        actor: { kind: 'agent', id: 'deploy-bot' },
        details: expect.objectContaining({ claimedRequestId: 'class4-own-chain', eventId: 'evt-attack-2' }),
      }),
    ]);
  });

  it('leaves the request alone even when the failing event comes from the same agent', async () => {
    const { deps, before } = await victim('class4-same-agent');
    const replay = { ...actionRequested({ requestId: 'class4-same-agent' }), id: 'evt-replay' };

    await failRequest(evaluateBroke(replay), deps.decide);

    expect((await deps.decide.requests.get('class4-same-agent'))?.state).toBe('awaiting-approval');
    expect(await deps.decide.audit.read('class4-same-agent')).toEqual(before);
  });

  it('never ends another agent’s request even when the failed state names it', async () => {
    const { deps, before } = await victim('class4-named');
    const attack = actionRequested({ requestId: 'class4-named' }, 'deploy-bot');

    await failRequest(
      { state: { requestId: 'class4-named', error: { Error: 'Lambda.Unknown' } }, event: attack },
      deps.decide,
    );

    expect((await deps.decide.requests.get('class4-named'))?.state).toBe('awaiting-approval');
    expect(await deps.decide.audit.read('class4-named')).toEqual(before);
  });

  it('does not squat an unused request id: the agent that sends it next can still claim it', async () => {
    const deps = testDeps(tables);
    const squat = { ...actionRequested({ requestId: 'class4-future' }, 'deploy-bot'), id: 'evt-squat' };

    await failRequest(evaluateBroke(squat), deps.decide);
    const claimed = await evaluateRequest(actionRequested({ requestId: 'class4-future' }), deps.evaluate);

    expect(claimed).toMatchObject({ requestId: 'class4-future', outcome: 'needs-approval' });
  });
});
