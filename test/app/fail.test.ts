import { evaluateRequest } from '../../lambdas/app/evaluate';
import { failRequest } from '../../lambdas/app/fail';
import { requestApproval } from '../../lambdas/app/request-approval';
import { verifyChain } from '../../lambdas/core/audit';
import { createTestTables, type TestTables } from '../support/dynamodb';
import { actionRequested, testDeps } from '../support/fixtures';

describe('Function: failRequest', () => {
  let tables: TestTables;
  beforeAll(async () => {
    tables = await createTestTables();
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
    expect(JSON.parse(result.publish.Detail)).toMatchObject({
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
    const deps = testDeps({ ...tables, requestsTable: 'missing-requests', auditTable: 'missing-audit' });

    const result = await failRequest(
      failure('fail-nowhere', 'DynamoDB.ResourceNotFoundException'),
      deps.decide,
    );

    expect(result).toMatchObject({ outcome: 'failed', publish: { DetailType: 'Action Failed' } });
    expect(JSON.parse(result.publish.Detail)).toMatchObject({ agentId: 'reporting-bot' });
  });
});
