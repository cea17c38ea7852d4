import { Stack, RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type { Construct } from 'constructs';
import {
  AUDIT_LOG_TABLE_KEY,
  IDEMPOTENCY_TABLE_KEY,
  OPEN_REQUESTS_INDEX,
  REQUESTS_TABLE_KEY,
} from '../lambdas/adapters/tables';
import type { HandlerFunction } from './handler-function';

/**
 * Item actions denied to every principal on the AuditLog table: in-place changes and deletions,
 * whether asked for directly, in a batch, in a transaction (which checks the same actions) or
 * through PartiQL.
 */
export const AUDIT_LOG_DENIED_ACTIONS = [
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:BatchWriteItem',
  'dynamodb:PartiQLUpdate',
  'dynamodb:PartiQLDelete',
];

export interface ApprovalTablesProps {
  /** Encrypts every table. */
  readonly key: kms.IKey;
  /** Applies to the Requests and idempotency tables; the AuditLog is always retained. */
  readonly removalPolicy: RemovalPolicy;
}

/**
 * The system's three tables, encrypted with the data key and recoverable to any point in time.
 * A part of `ActionApprovals`, not a construct of its own: the tables keep the construct ids
 * (and so the logical ids) they were deployed with, since a new id would replace them.
 */
export class ApprovalTables {
  /** Requests: state, votes, and the task token, which never leaves this table and the workflow. */
  public readonly requests: dynamodb.Table;
  /** The append-only, hash-chained audit trail. No principal may update or delete its items. */
  public readonly auditLog: dynamodb.Table;
  /** Remembers Slack clicks already handled, so Slack's retries change nothing. */
  public readonly idempotency: dynamodb.Table;

  constructor(
    private readonly scope: Construct,
    private readonly props: ApprovalTablesProps,
  ) {
    const encrypted = {
      encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: props.key,
    } as const;
    const pitr = { pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true } } as const;
    this.requests = new dynamodb.Table(scope, 'Requests', {
      partitionKey: { name: REQUESTS_TABLE_KEY.partitionKey, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      ...encrypted,
      ...pitr,
      deletionProtection: props.removalPolicy === RemovalPolicy.RETAIN,
      removalPolicy: props.removalPolicy,
    });
    // Sparse: only requests in executing carry its key, so the sweep reads exactly those.
    this.requests.addGlobalSecondaryIndex({
      indexName: OPEN_REQUESTS_INDEX.indexName,
      partitionKey: { name: OPEN_REQUESTS_INDEX.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: OPEN_REQUESTS_INDEX.sortKey, type: dynamodb.AttributeType.STRING },
      projectionType: dynamodb.ProjectionType.KEYS_ONLY,
    });
    this.auditLog = new dynamodb.Table(scope, 'AuditLog', {
      partitionKey: { name: AUDIT_LOG_TABLE_KEY.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: AUDIT_LOG_TABLE_KEY.sortKey, type: dynamodb.AttributeType.NUMBER },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      ...encrypted,
      ...pitr,
      stream: dynamodb.StreamViewType.NEW_IMAGE,
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
      // Append-only for everyone, whatever their IAM policies say. A PutItem overwrite cannot be
      // denied without denying appends; the hash chain and the Object Lock archive expose one.
      resourcePolicy: new iam.PolicyDocument({
        statements: [
          new iam.PolicyStatement({
            sid: 'AppendOnly',
            effect: iam.Effect.DENY,
            principals: [new iam.StarPrincipal()],
            actions: AUDIT_LOG_DENIED_ACTIONS,
            resources: ['*'],
          }),
        ],
      }),
    });
    this.idempotency = new dynamodb.Table(scope, 'Idempotency', {
      partitionKey: { name: IDEMPOTENCY_TABLE_KEY.partitionKey, type: dynamodb.AttributeType.STRING },
      timeToLiveAttribute: IDEMPOTENCY_TABLE_KEY.timeToLiveAttribute,
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      ...encrypted,
      ...pitr,
      removalPolicy: props.removalPolicy,
    });
  }

  /** Every table, for the execution roles' boundary to deny. */
  public all(): dynamodb.Table[] {
    return [this.requests, this.auditLog, this.idempotency];
  }

  /** Lets `fn` use exactly these item actions on `table`, and the tables' key only through DynamoDB. */
  public grantItems(fn: HandlerFunction, table: dynamodb.Table, actions: readonly string[]): void {
    fn.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: actions.map((action) => `dynamodb:${action}`),
        resources: [table.tableArn],
      }),
    );
    fn.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'TableKeyThroughDynamoDB',
        actions: ['kms:Decrypt', 'kms:DescribeKey', 'kms:Encrypt', 'kms:GenerateDataKey'],
        resources: [this.props.key.keyArn],
        conditions: {
          StringEquals: { 'kms:ViaService': `dynamodb.${Stack.of(this.scope).region}.amazonaws.com` },
        },
      }),
    );
  }
}
