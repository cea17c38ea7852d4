import fc from 'fast-check';
import { evaluateRequest, parseEvaluateInput, type EvaluateDeps } from '../../lambdas/app/evaluate';
import { StoreUnavailableError } from '../../lambdas/app/errors';
import type { RequestsStore } from '../../lambdas/app/ports';
import { verifyChain } from '../../lambdas/core/audit';
import {
  actionRequested,
  evaluateTaskInput,
  inMemoryStores,
  STAGING_ACCOUNT,
  testDeps,
  type TestDeps,
} from '../support/fixtures';

const FIRST = evaluateTaskInput(undefined, 'first').executionId;
const OTHER = evaluateTaskInput(undefined, 'other').executionId;

/** The request path over stores whose answer to the next claim is lost after the claim is saved. */
function losingClaimAnswers(): TestDeps & { loseNextClaimAnswer: () => void } {
  const stores = inMemoryStores();
  let lose = false;
  const requests: RequestsStore = {
    ...stores.requests,
    claim: async (record, opening) => {
      const claimed = await stores.requests.claim(record, opening);
      if (!lose) return claimed;
      lose = false;
      throw new StoreUnavailableError();
    },
  };
  const deps = testDeps({ requests, audit: stores.audit });
  return { ...deps, loseNextClaimAnswer: () => void (lose = true) };
}

const exportRequest = (requestId: string) => actionRequested({ requestId });
const stagingRead = (requestId: string) => ({
  ...actionRequested({
    requestId,
    operation: 's3:GetObject',
    resource: 'arn:aws:s3:::staging-reports/q3.csv',
    parameters: {},
  }),
  account: STAGING_ACCOUNT,
});
const accessKey = (requestId: string) =>
  actionRequested({
    requestId,
    operation: 'iam:CreateAccessKey',
    resource: 'arn:aws:iam::111122223333:user/ci',
    parameters: {},
  });

/** Evaluates `event` once with the claim's answer lost: the claim is saved, the call fails. */
async function claimWithAnswerLost(deps: ReturnType<typeof losingClaimAnswers>, event: unknown) {
  deps.loseNextClaimAnswer();
  await expect(evaluateRequest(event, deps.evaluate, FIRST)).rejects.toThrow(StoreUnavailableError);
}

describe('Function: evaluateRequest, retried by its workflow execution', () => {
  it('carries on from its own claim with the first answer, writing no second record', async () => {
    const deps = losingClaimAnswers();
    await claimWithAnswerLost(deps, exportRequest('retry-export'));
    deps.clock.advance(30);

    const retried = await evaluateRequest(exportRequest('retry-export'), deps.evaluate, FIRST);

    expect(retried).toEqual({
      requestId: 'retry-export',
      outcome: 'needs-approval',
      // The wait still ends when the request expires, 30 s later than the first answer's start.
      ttlSeconds: 870,
      expiresAt: '2026-11-24T10:15:00.000Z',
    });
    const chain = await deps.evaluate.audit.read('retry-export');
    expect(chain.map((record) => record.type)).toEqual(['requested', 'policy-evaluated']);
    expect(verifyChain(chain).ok).toBe(true);
  });

  it('answers a retried auto-approval as approved again, to run once', async () => {
    const deps = losingClaimAnswers();
    await claimWithAnswerLost(deps, stagingRead('retry-read'));

    const retried = await evaluateRequest(stagingRead('retry-read'), deps.evaluate, FIRST);

    expect(retried).toEqual({
      requestId: 'retry-read',
      outcome: 'auto-approved',
      expiresAt: (await deps.evaluate.requests.get('retry-read'))?.expiresAt,
    });
    expect((await deps.evaluate.audit.read('retry-read')).map((record) => record.type)).toEqual([
      'requested',
      'policy-evaluated',
      'approved',
    ]);
  });

  it('answers a retried denial as denied again, with the outcome for its agent', async () => {
    const deps = losingClaimAnswers();
    await claimWithAnswerLost(deps, accessKey('retry-deny'));

    const retried = await evaluateRequest(accessKey('retry-deny'), deps.evaluate, FIRST);

    expect(retried).toMatchObject({
      requestId: 'retry-deny',
      outcome: 'denied',
      publish: { DetailType: 'Action Denied' },
    });
    expect(await deps.evaluate.audit.read('retry-deny')).toHaveLength(3);
  });

  it('treats the same request id from another execution as a duplicate, though the claim’s answer was lost', async () => {
    const deps = losingClaimAnswers();
    await claimWithAnswerLost(deps, exportRequest('retry-other'));

    const other = await evaluateRequest(exportRequest('retry-other'), deps.evaluate, OTHER);

    expect(other).toEqual({ requestId: 'retry-other', outcome: 'duplicate' });
    expect(await deps.evaluate.audit.read('retry-other')).toHaveLength(2);
  });

  it('never lets an execution other than the claiming one carry on from a claim', async () => {
    const deps = losingClaimAnswers();
    await claimWithAnswerLost(deps, exportRequest('retry-hijack'));
    const evaluate: EvaluateDeps = deps.evaluate;

    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.string(), fc.constant(FIRST.toUpperCase()), fc.constant(`${FIRST} `)),
        async (executionId) => {
          fc.pre(executionId !== FIRST);
          const answer = await evaluateRequest(
            actionRequested({ requestId: 'retry-hijack', parameters: { S3Bucket: 'attacker' } }),
            evaluate,
            executionId,
          );
          expect(answer).toEqual({ requestId: 'retry-hijack', outcome: 'duplicate' });
        },
      ),
      { numRuns: 40 },
    );
    expect(await deps.evaluate.audit.read('retry-hijack')).toHaveLength(2);
  });
});

describe('Function: parseEvaluateInput', () => {
  it('reads the event and the execution id the workflow passes', () => {
    const event = exportRequest('parse-ok');

    expect(parseEvaluateInput({ event, executionId: FIRST })).toEqual({ event, executionId: FIRST });
  });

  it('refuses a bare event, which the workflow never sends', () => {
    expect(() => parseEvaluateInput(exportRequest('parse-bare'))).toThrow(
      'evaluate input is malformed: event, executionId',
    );
  });
});
