import {
  ConditionalCheckFailedException,
  ProvisionedThroughputExceededException,
} from '@aws-sdk/client-dynamodb';
import { StoreUnavailableError } from '../../lambdas/app/errors';
import { isTransientFailure, unlessUnavailable } from '../../lambdas/adapters/store-availability';

const metadata = (httpStatusCode?: number) => ({
  $metadata: { attempts: 3, ...(httpStatusCode ? { httpStatusCode } : {}) },
});

describe('Adapter: store availability', () => {
  it('treats throttling as passing', () => {
    const throttled = new ProvisionedThroughputExceededException({ message: 'slow down', ...metadata(400) });

    expect(isTransientFailure(throttled)).toBe(true);
  });

  it('treats a call that got no answer as passing', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:8000'), metadata());

    expect(isTransientFailure(refused)).toBe(true);
  });

  it('treats a server fault as passing', () => {
    const fault = Object.assign(
      new Error('internal'),
      { name: 'InternalServerError', $fault: 'server' },
      metadata(500),
    );

    expect(isTransientFailure(fault)).toBe(true);
  });

  it('treats an answer that refuses the call as final', () => {
    const refused = new ConditionalCheckFailedException({ message: 'condition', ...metadata(400) });

    expect(isTransientFailure(refused)).toBe(false);
  });

  it('treats an error that never reached the SDK’s retry step as final', () => {
    expect(isTransientFailure(new TypeError('a bug'))).toBe(false);
  });

  it('reports a passing failure as StoreUnavailableError, keeping its cause', async () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:8000'), metadata());

    const call = unlessUnavailable(() => Promise.reject(refused));

    await expect(call).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(call).rejects.toMatchObject({ name: 'ActionApprovals.StoreUnavailable', cause: refused });
  });
});
