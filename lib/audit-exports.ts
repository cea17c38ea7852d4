import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as athena from 'aws-cdk-lib/aws-athena';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as glue from 'aws-cdk-lib/aws-glue';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as targets from 'aws-cdk-lib/aws-scheduler-targets';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { auditQueries, EXPORT_ITEM_TYPE } from './athena-queries';
import { ROLE_PATH } from './handler-function';
import { physicalName, type NameRule } from './names';
import { acknowledge, wildcardResource } from './nag';
import { secureBucket } from './secure-bucket';

/** The key prefix of table exports; DynamoDB writes `<prefix>/AWSDynamoDB/<export id>/…` under it. */
export const EXPORT_PREFIX = 'exports';
const GLUE_DATABASE_NAME: NameRule = {
  what: 'Glue database name',
  maxLength: 255,
  disallowed: /[^a-z0-9_]/g,
  separator: '_',
  lowercase: true,
};
const ATHENA_WORKGROUP_NAME: NameRule = {
  what: 'Athena workgroup name',
  maxLength: 128,
  disallowed: /[^A-Za-z0-9._-]/g,
};

/** Where Athena writes query results, in the same bucket. */
export const ATHENA_RESULTS_PREFIX = 'athena-results/';

/** Settings of the scheduled exports. */
export interface AuditExportsProps {
  /** The AuditLog table; point-in-time recovery must be on. */
  readonly table: dynamodb.ITable;
  /** Encrypts the exports and the Athena results. */
  readonly key: kms.IKey;
  /** When exports run. */
  readonly schedule: scheduler.ScheduleExpression;
  /** How long an export is kept; the Object Lock archive is the long-term record. */
  readonly retention: Duration;
  /** Receives schedule invocations that failed past their retries. */
  readonly deadLetterQueue: sqs.IQueue;
  /** Receives the bucket's server access logs. */
  readonly accessLogsBucket: s3.IBucket;
  /** Applies to the exports bucket and the Athena workgroup. */
  readonly removalPolicy: RemovalPolicy;
}

/**
 * Point-in-time exports of the AuditLog table to S3 on a schedule (EventBridge Scheduler calling
 * `dynamodb:ExportTableToPointInTime` directly: no function), a Glue table over the DYNAMODB_JSON
 * export format and the Athena queries a compliance team needs.
 */
export class AuditExports extends Construct {
  /** Holds the exports and Athena's query results. */
  public readonly bucket: s3.Bucket;
  /** The schedule that starts each export. */
  public readonly schedule: scheduler.Schedule;
  /** The role the schedule runs the export with. */
  public readonly role: iam.Role;
  /** The Glue database holding the export table. */
  public readonly databaseName: string;
  /** The Glue table over every export in the bucket. */
  public readonly tableName: string;
  /** The Athena workgroup the named queries belong to; results are encrypted with the key. */
  public readonly workGroup: athena.CfnWorkGroup;
  /** The named queries, by name. */
  public readonly namedQueries: Readonly<Record<string, athena.CfnNamedQuery>>;

  constructor(scope: Construct, id: string, props: AuditExportsProps) {
    super(scope, id);
    const { account } = Stack.of(this);

    this.bucket = secureBucket(this, 'Bucket', {
      key: props.key,
      versioned: true,
      serverAccessLogsBucket: props.accessLogsBucket,
      serverAccessLogsPrefix: 'audit-exports/',
      removalPolicy: props.removalPolicy,
      lifecycleRules: [
        {
          id: 'ExpireExports',
          prefix: `${EXPORT_PREFIX}/`,
          expiration: props.retention,
          noncurrentVersionExpiration: Duration.days(1),
        },
        {
          id: 'ExpireQueryResults',
          prefix: ATHENA_RESULTS_PREFIX,
          expiration: Duration.days(30),
          noncurrentVersionExpiration: Duration.days(1),
        },
        { id: 'AbortUploads', abortIncompleteMultipartUploadAfter: Duration.days(1) },
      ],
    });

    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com').withConditions({
        StringEquals: { 'aws:SourceAccount': account },
      }),
      description: 'Starts the scheduled point-in-time export of the action-approvals audit log',
      path: ROLE_PATH,
    });
    // DynamoDB writes every export under `<prefix>/AWSDynamoDB/`: nothing else of the bucket.
    const exportObjects = this.bucket.arnForObjects(`${EXPORT_PREFIX}/AWSDynamoDB/*`);
    this.schedule = new scheduler.Schedule(this, 'Schedule', {
      schedule: props.schedule,
      description: 'Exports the action-approvals AuditLog table (PITR, DYNAMODB_JSON) to S3',
      timeWindow: scheduler.TimeWindow.flexible(Duration.minutes(15)),
      target: new targets.Universal({
        service: 'dynamodb',
        action: 'exportTableToPointInTime',
        role: this.role,
        deadLetterQueue: props.deadLetterQueue,
        retryAttempts: 5,
        maxEventAge: Duration.hours(2),
        input: scheduler.ScheduleTargetInput.fromObject({
          TableArn: props.table.tableArn,
          S3Bucket: this.bucket.bucketName,
          S3BucketOwner: account,
          S3Prefix: EXPORT_PREFIX,
          S3SseAlgorithm: 'KMS',
          S3SseKmsKeyId: props.key.keyArn,
          ExportFormat: 'DYNAMODB_JSON',
          ExportType: 'FULL_EXPORT',
        }),
        // The permissions DynamoDB documents for an export: the call on the table, and writing
        // the export (with the caller's rights) under the prefix, encrypted with the key.
        policyStatements: [
          new iam.PolicyStatement({
            sid: 'ExportTable',
            actions: ['dynamodb:ExportTableToPointInTime'],
            resources: [props.table.tableArn],
          }),
          new iam.PolicyStatement({
            sid: 'WriteExport',
            actions: ['s3:AbortMultipartUpload', 's3:PutObject', 's3:PutObjectAcl'],
            resources: [exportObjects],
          }),
          new iam.PolicyStatement({
            sid: 'EncryptExport',
            actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
            resources: [props.key.keyArn],
            conditions: { StringEquals: { 'kms:ViaService': `s3.${Stack.of(this).region}.amazonaws.com` } },
          }),
        ],
      }),
    });
    acknowledge(this.role, [
      {
        id: wildcardResource(this, exportObjects),
        reason:
          'DynamoDB names each export’s objects itself (<prefix>/AWSDynamoDB/<export id>/…); the role can write under the exports prefix and nowhere else.',
      },
    ]);

    // Glue and Athena names must be unique in the account and region: derived from the stack.
    this.databaseName = physicalName(this, GLUE_DATABASE_NAME);
    this.tableName = 'audit_log_exports';
    const database = new glue.CfnDatabase(this, 'Database', {
      catalogId: account,
      databaseInput: {
        name: this.databaseName,
        description: 'action-approvals: the AuditLog table as exported to S3',
      },
    });
    const table = new glue.CfnTable(this, 'ExportsTable', {
      catalogId: account,
      databaseName: this.databaseName,
      tableInput: {
        name: this.tableName,
        description:
          'Every DynamoDB PITR export of the AuditLog table (DYNAMODB_JSON); queries count each record once',
        tableType: 'EXTERNAL_TABLE',
        parameters: { classification: 'json', compressionType: 'gzip', typeOfData: 'file' },
        storageDescriptor: {
          // Every export lives under AWSDynamoDB/<export id>/; Athena reads the folders below.
          location: `s3://${this.bucket.bucketName}/${EXPORT_PREFIX}/AWSDynamoDB/`,
          inputFormat: 'org.apache.hadoop.mapred.TextInputFormat',
          outputFormat: 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat',
          serdeInfo: {
            serializationLibrary: 'org.openx.data.jsonserde.JsonSerDe',
            // The manifest files beside the data files are not items; they read as rows without one.
            parameters: { 'ignore.malformed.json': 'true' },
          },
          columns: [{ name: 'item', type: EXPORT_ITEM_TYPE }],
        },
      },
    });
    table.addResourceDependency(database);

    this.workGroup = new athena.CfnWorkGroup(this, 'WorkGroup', {
      // Retained by default: new with each creation of the stack, so a redeploy is never blocked.
      name: physicalName(this, ATHENA_WORKGROUP_NAME, { perStackInstance: true }),
      description: 'action-approvals audit queries; results encrypted with the audit key',
      recursiveDeleteOption: props.removalPolicy === RemovalPolicy.DESTROY,
      workGroupConfiguration: {
        enforceWorkGroupConfiguration: true,
        publishCloudWatchMetricsEnabled: true,
        resultConfiguration: {
          outputLocation: `s3://${this.bucket.bucketName}/${ATHENA_RESULTS_PREFIX}`,
          encryptionConfiguration: { encryptionOption: 'SSE_KMS', kmsKey: props.key.keyArn },
        },
      },
    });
    this.workGroup.applyRemovalPolicy(props.removalPolicy);

    const queries: Record<string, athena.CfnNamedQuery> = {};
    for (const query of auditQueries(this.databaseName, this.tableName)) {
      const named = new athena.CfnNamedQuery(this, `Query-${query.name}`, {
        name: query.name,
        description: query.description,
        database: this.databaseName,
        workGroup: this.workGroup.ref,
        queryString: query.sql,
      });
      named.addResourceDependency(table);
      queries[query.name] = named;
    }
    this.namedQueries = queries;
  }
}
