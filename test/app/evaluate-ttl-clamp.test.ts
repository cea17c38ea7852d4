import { evaluateRequest } from '../../lambdas/app/evaluate';
import { verifyChain } from '../../lambdas/core/audit';
import { actionRequested, inMemoryStores, testDeps } from '../support/fixtures';

// The shipped policies send a production export to two security reviewers for 900 seconds.
describe('Function: evaluateRequest › maxApprovalTtlSeconds', () => {
  it('clamps a policy ttl longer than the deployment allows to maxApprovalTtlSeconds', async () => {
    const deps = { ...testDeps(inMemoryStores()).evaluate, maxApprovalTtlSeconds: 600 };

    const result = await evaluateRequest(actionRequested({ requestId: 'clamp-export' }), deps);

    expect(result).toEqual({
      requestId: 'clamp-export',
      outcome: 'needs-approval',
      ttlSeconds: 600,
      expiresAt: '2026-11-24T10:10:00.000Z',
    });
    const record = await deps.requests.get('clamp-export');
    expect([record?.expiresAt, record?.rule?.expiresAt]).toEqual([
      '2026-11-24T10:10:00.000Z',
      '2026-11-24T10:10:00.000Z',
    ]);
  });

  it('notes the clamp, with the policy ttl and the bound, in the policy-evaluated audit record', async () => {
    const deps = { ...testDeps(inMemoryStores()).evaluate, maxApprovalTtlSeconds: 600 };

    await evaluateRequest(actionRequested({ requestId: 'clamp-note' }), deps);

    const chain = await deps.audit.read('clamp-note');
    const evaluated = chain.find((record) => record.type === 'policy-evaluated');
    expect(evaluated?.details).toMatchObject({
      ttlSeconds: 600,
      ttlClamped: {
        policyTtlSeconds: 900,
        maxApprovalTtlSeconds: 600,
        note: "the policy's ttl of 900 s is longer than this deployment's maxApprovalTtl: clamped to 600 s",
      },
    });
    expect(verifyChain(chain)).toEqual({ ok: true, records: 2 });
  });

  it('leaves a policy ttl within the bound as it is, with no note', async () => {
    const deps = { ...testDeps(inMemoryStores()).evaluate, maxApprovalTtlSeconds: 900 };

    const result = await evaluateRequest(actionRequested({ requestId: 'clamp-within' }), deps);

    expect(result).toMatchObject({ outcome: 'needs-approval', ttlSeconds: 900 });
    const evaluated = (await deps.audit.read('clamp-within')).find((r) => r.type === 'policy-evaluated');
    expect(evaluated?.details).not.toHaveProperty('ttlClamped');
  });
});
