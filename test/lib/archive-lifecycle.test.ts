import { Duration } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { deployActionApprovals, logicalIdOf, resourcesOfType, testStack } from './deploy';

function archiveBucket(props: Parameters<typeof deployActionApprovals>[1] = {}): Record<string, unknown> {
  const stack = testStack();
  const approvals = deployActionApprovals(stack, props);
  const buckets = resourcesOfType(Template.fromStack(stack), 'AWS::S3::Bucket');
  return buckets[logicalIdOf(stack, approvals.archive.bucket)].Properties ?? {};
}

describe('Construct: ActionApprovals › archive lifecycle', () => {
  test('archive objects move to Glacier Instant Retrieval after 90 days, still under Object Lock', () => {
    const bucket = archiveBucket();

    expect(bucket.LifecycleConfiguration).toEqual({
      Rules: [
        {
          Id: 'ColdStorage',
          Status: 'Enabled',
          Transitions: [{ StorageClass: 'GLACIER_IR', TransitionInDays: 90 }],
        },
      ],
    });
    expect(bucket.ObjectLockConfiguration).toEqual({
      ObjectLockEnabled: 'Enabled',
      Rule: { DefaultRetention: { Mode: 'COMPLIANCE', Days: 365 } },
    });
  });

  test('archiveColdStorageAfter sets when they move', () => {
    const bucket = archiveBucket({ archiveColdStorageAfter: Duration.days(30) });

    expect(bucket.LifecycleConfiguration).toMatchObject({
      Rules: [{ Transitions: [{ StorageClass: 'GLACIER_IR', TransitionInDays: 30 }] }],
    });
  });

  test('archiveColdStorageAfter must be whole days', () => {
    expect(() => archiveBucket({ archiveColdStorageAfter: Duration.hours(36) })).toThrow(
      'archiveColdStorageAfter must be a whole number of days from 1 to 36500, not 1 day 12 hours',
    );
  });
});
