import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ARCHIVE_PREFIX } from '../lambdas/adapters/archive-writer';
import { HandlerFunction } from './handler-function';
import { secureBucket } from './secure-bucket';
import { acknowledge, wildcardResource } from './nag';

/** Settings of the stream archive. */
export interface AuditArchiveProps {
  /** The AuditLog table; its stream must carry new images. */
  readonly table: dynamodb.ITable;
  /** Encrypts the archive objects; the table's key, so its stream records can be read with it. */
  readonly key: kms.IKey;
  /** Object Lock compliance retention of every archive object. */
  readonly retention: Duration;
  /** When archive objects move to S3 Glacier Instant Retrieval. */
  readonly coldStorageAfter: Duration;
  /** Receives the position of batches that failed past their retries. */
  readonly failureQueue: sqs.IQueue;
  /** Receives the bucket's server access logs. */
  readonly accessLogsBucket: s3.IBucket;
  /** The archive lag (iterator age) past which the lag alarm fires. */
  readonly lagThreshold: Duration;
  /** How long the archive function's logs are kept. */
  readonly logRetention: logs.RetentionDays;
  /** Applies to the function's log group; the bucket is always retained. */
  readonly removalPolicy: RemovalPolicy;
}

/**
 * The AuditLog stream, archived to an S3 bucket under Object Lock in compliance mode: a Lambda
 * function reads the stream in batches and writes each batch as one gzip JSON Lines object.
 * Why a function rather than Pipes + Firehose is in docs/ARCHITECTURE.md.
 */
export class AuditArchive extends Construct {
  /** The Object Lock bucket. Retained on stack deletion: its objects cannot be deleted before their retention ends. */
  public readonly bucket: s3.Bucket;
  /** The stream consumer. */
  public readonly handler: HandlerFunction;
  /** The stream → function mapping. */
  public readonly mapping: lambda.EventSourceMapping;
  /** Fires when the oldest unarchived record is older than the threshold. */
  public readonly lagAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: AuditArchiveProps) {
    super(scope, id);

    this.bucket = secureBucket(this, 'Bucket', {
      objectLockEnabled: true,
      objectLockDefaultRetention: s3.ObjectLockRetention.compliance(props.retention),
      versioned: true,
      key: props.key,
      serverAccessLogsBucket: props.accessLogsBucket,
      serverAccessLogsPrefix: 'audit-archive/',
      // Read rarely after the first months; Glacier Instant Retrieval still answers in milliseconds.
      lifecycleRules: [
        {
          id: 'ColdStorage',
          transitions: [
            {
              storageClass: s3.StorageClass.GLACIER_INSTANT_RETRIEVAL,
              transitionAfter: props.coldStorageAfter,
            },
          ],
        },
      ],
      // Compliance-mode objects outlive any stack; deleting the bucket would fail anyway.
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.handler = new HandlerFunction(this, 'Archiver', {
      handler: 'archive',
      description: 'Archives the action-approvals audit stream to the Object Lock bucket',
      environment: { ARCHIVE_BUCKET_NAME: this.bucket.bucketName },
      memorySize: 256,
      timeout: Duration.minutes(1),
      evaluatesPolicy: false,
      logRetention: props.logRetention,
      removalPolicy: props.removalPolicy,
    });
    const role = this.handler.role;
    const streamArn = props.table.tableStreamArn;
    if (!streamArn) throw new Error('AuditArchive needs a table with a stream');
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ReadAuditStream',
        actions: ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator'],
        resources: [streamArn],
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'DecryptAuditStream',
        actions: ['kms:Decrypt'],
        resources: [props.key.keyArn],
      }),
    );
    const archiveObjects = this.bucket.arnForObjects(`${ARCHIVE_PREFIX}*`);
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'WriteArchive',
        actions: ['s3:PutObject'],
        resources: [archiveObjects],
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'EncryptArchive',
        actions: ['kms:GenerateDataKey'],
        resources: [props.key.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': `s3.${Stack.of(this).region}.amazonaws.com` } },
      }),
    );
    acknowledge(role, [
      {
        id: wildcardResource(this, archiveObjects),
        reason:
          'One new object per stream batch, named by the batch; the role can put objects under the archive prefix of this bucket only (no read, no delete).',
      },
    ]);
    this.handler.allowOnAnyResource(
      'ListAuditStreams',
      ['dynamodb:ListStreams'],
      'dynamodb:ListStreams supports no resource-level permissions; Lambda’s event source mapping checks for it.',
    );

    this.mapping = new lambda.EventSourceMapping(this, 'StreamMapping', {
      target: this.handler.function,
      eventSourceArn: streamArn,
      startingPosition: lambda.StartingPosition.TRIM_HORIZON,
      // Fewer, larger objects: a batch waits up to a minute, which the lag alarm allows for.
      batchSize: 1000,
      maxBatchingWindow: Duration.minutes(1),
      bisectBatchOnError: true,
      // Finite retries and a record age well inside the stream's 24 hours: a poison batch goes to
      // the failure queue (alarmed) with time left to re-read it, instead of blocking the shard
      // until its records expire unseen.
      retryAttempts: 10,
      maxRecordAge: Duration.hours(12),
      parallelizationFactor: 1,
      onFailure: new SqsDlq(props.failureQueue),
    });
    // The mapping reads with the function's role: the grants above must exist before it is created.
    this.mapping.node.addDependency(this.handler);

    this.lagAlarm = new cloudwatch.Alarm(this, 'LagAlarm', {
      alarmDescription: `The audit stream archive is more than ${props.lagThreshold.toHumanString()} behind: records are not yet in the Object Lock bucket.`,
      metric: this.handler.function.metric('IteratorAge', {
        statistic: cloudwatch.Stats.MAXIMUM,
        period: Duration.minutes(5),
      }),
      threshold: props.lagThreshold.toMilliseconds(),
      evaluationPeriods: 3,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
  }
}
