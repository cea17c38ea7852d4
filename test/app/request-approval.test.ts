import { evaluateRequest } from '../../lambdas/app/evaluate';
import { expireRequest } from '../../lambdas/app/expire';
import { requestApproval } from '../../lambdas/app/request-approval';
import type { ApprovalNotifier } from '../../lambdas/app/ports';
import { verifyChain } from '../../lambdas/core/audit';
import { actionRequested, inMemoryStores, testDeps, type TestStores } from '../support/fixtures';

const TOKEN = 'AQCEAAAAKgAAAAMAAAAAAAAAAc-secret-task-token+/=';

describe('Function: requestApproval', () => {
  let tables: TestStores;
  beforeAll(() => {
    tables = inMemoryStores();
  });

  it('stores the task token with the request and posts a card that does not carry it', async () => {
    const deps = testDeps(tables);
    await evaluateRequest(actionRequested({ requestId: 'ra-card' }), deps.evaluate);

    await requestApproval({ requestId: 'ra-card', taskToken: TOKEN }, deps.decide);

    const record = await deps.decide.requests.get('ra-card');
    expect(record?.taskToken).toBe(TOKEN);
    expect(record?.messages).toEqual({ slack: { channel: 'C1', ts: '1.000' } });
    expect(deps.notifier.posted).toEqual([
      expect.objectContaining({
        requestId: 'ra-card',
        agentId: 'reporting-bot',
        quorum: 2,
        approverGroups: ['security'],
      }),
    ]);
    expect(JSON.stringify(deps.notifier.posted)).not.toContain(TOKEN);
  });

  it('records that approval was requested, and never the token', async () => {
    const deps = testDeps(tables);
    await evaluateRequest(actionRequested({ requestId: 'ra-audit' }), deps.evaluate);

    await requestApproval({ requestId: 'ra-audit', taskToken: TOKEN }, deps.decide);

    const chain = await deps.decide.audit.read('ra-audit');
    expect(chain.at(-1)).toMatchObject({
      type: 'approval-requested',
      details: { channels: ['slack'], quorum: 2 },
    });
    expect(JSON.stringify(chain)).not.toContain(TOKEN);
    expect(verifyChain(chain).ok).toBe(true);
  });

  it('posts once when the task is retried with the same token', async () => {
    const deps = testDeps(tables);
    await evaluateRequest(actionRequested({ requestId: 'ra-retry' }), deps.evaluate);

    await requestApproval({ requestId: 'ra-retry', taskToken: TOKEN }, deps.decide);
    await requestApproval({ requestId: 'ra-retry', taskToken: TOKEN }, deps.decide);

    expect(deps.notifier.posted).toHaveLength(1);
    expect(
      (await deps.decide.audit.read('ra-retry')).filter((r) => r.type === 'approval-requested'),
    ).toHaveLength(1);
  });

  it('keeps the request open when a chat channel cannot be reached', async () => {
    const deps = testDeps(tables);
    const broken: ApprovalNotifier = {
      channel: 'teams',
      post: () => Promise.reject(new Error('connect ECONNREFUSED')),
      update: () => Promise.resolve(),
    };
    await evaluateRequest(actionRequested({ requestId: 'ra-broken' }), deps.evaluate);

    await requestApproval(
      { requestId: 'ra-broken', taskToken: TOKEN },
      { ...deps.decide, notifiers: [broken, deps.notifier] },
    );

    expect(deps.notifierErrors).toEqual(['teams']);
    expect((await deps.decide.requests.get('ra-broken'))?.state).toBe('awaiting-approval');
  });

  it('refuses a request that is not awaiting approval', async () => {
    const deps = testDeps(tables);
    await evaluateRequest(
      actionRequested({
        requestId: 'ra-denied',
        operation: 'iam:CreateAccessKey',
        resource: 'arn:aws:iam::111122223333:user/ci',
        parameters: {},
      }),
      deps.evaluate,
    );

    await expect(requestApproval({ requestId: 'ra-denied', taskToken: TOKEN }, deps.decide)).rejects.toThrow(
      'request is denied, not awaiting approval',
    );
  });
});

describe('Function: expireRequest', () => {
  let tables: TestStores;
  beforeAll(() => {
    tables = inMemoryStores();
  });

  it('ends an undecided request as expired and shows it on the card', async () => {
    const deps = testDeps(tables);
    await evaluateRequest(actionRequested({ requestId: 'ex-1' }), deps.evaluate);
    await requestApproval({ requestId: 'ex-1', taskToken: TOKEN }, deps.decide);

    const result = await expireRequest({ requestId: 'ex-1' }, deps.decide);

    expect(result).toMatchObject({ outcome: 'expired', publish: { DetailType: 'Action Expired' } });
    expect(deps.notifier.updates.at(-1)?.outcome).toEqual({ status: 'expired', reviewers: [] });
    const chain = await deps.decide.audit.read('ex-1');
    expect(chain.at(-1)?.type).toBe('expired');
    expect(verifyChain(chain).ok).toBe(true);
  });

  it('is idempotent: a retried expiry writes one record', async () => {
    const deps = testDeps(tables);
    await evaluateRequest(actionRequested({ requestId: 'ex-2' }), deps.evaluate);

    await expireRequest({ requestId: 'ex-2' }, deps.decide);
    await expireRequest({ requestId: 'ex-2' }, deps.decide);

    expect((await deps.decide.audit.read('ex-2')).filter((r) => r.type === 'expired')).toHaveLength(1);
  });
});
