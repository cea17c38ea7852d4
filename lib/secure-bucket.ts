import type * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';

/** What a bucket of this system may choose; the security settings are not among them. */
export interface SecureBucketProps extends Omit<
  s3.BucketProps,
  | 'encryption'
  | 'encryptionKey'
  | 'bucketKeyEnabled'
  | 'enforceSSL'
  | 'minimumTLSVersion'
  | 'blockPublicAccess'
  | 'objectOwnership'
> {
  /**
   * Encrypts the objects (SSE-KMS with an S3 Bucket Key, so S3 calls KMS once per bucket key
   * rather than once per object).
   * @default - S3-managed keys (SSE-S3): server access logs cannot be delivered to an SSE-KMS bucket
   */
  readonly key?: kms.IKey;
}

/**
 * Every bucket of the system, with the settings no bucket of it may go without: encrypted, TLS
 * 1.2 or later only, no public access, ACLs disabled (the owner owns every object). The caller
 * adds what differs (versioning, Object Lock, lifecycle, access logs, removal policy) and cannot
 * weaken the rest.
 */
export function secureBucket(scope: Construct, id: string, props: SecureBucketProps): s3.Bucket {
  const { key, ...settings } = props;
  return new s3.Bucket(scope, id, {
    ...settings,
    ...(key
      ? { encryption: s3.BucketEncryption.KMS, encryptionKey: key, bucketKeyEnabled: true }
      : { encryption: s3.BucketEncryption.S3_MANAGED }),
    enforceSSL: true,
    minimumTLSVersion: 1.2,
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
  });
}
