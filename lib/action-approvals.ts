import { Duration, RemovalPolicy, Stack, Tags } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as eventTargets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as cxapi from 'aws-cdk-lib/cx-api';
import { Construct } from 'constructs';
import { AUDIT_LOG_TABLE_KEY, IDEMPOTENCY_TABLE_KEY, REQUESTS_TABLE_KEY } from '../lambdas/adapters/tables';
import { ROLE_CLASS, type RoleClass } from '../lambdas/core/catalog';
import { Directory, type DirectoryConfig } from '../lambdas/core/directory';
import { OUTCOME_SOURCE } from '../lambdas/core/outcome';
import { ApprovalWorkflow } from './approval-workflow';
import { AuditArchive } from './audit-archive';
import { AuditExports } from './audit-exports';
import {
  directoryBuckets,
  ExecutionRoles,
  MANAGED_TAG_KEY,
  type ExecutionRoleSettings,
} from './execution-roles';
import { BUNDLED_POLICY_DIR, HandlerFunction, ROLE_PATH } from './handler-function';
import { acknowledge } from './nag';
import { statementId } from './names';

/** The detail-type agents put on the bus to ask for an action. */
export const ACTION_REQUESTED = 'Action Requested';

/**
 * The principal tag that names an agent. An agent's role carries it (`ActionApprovalsAgentId =
 * reporting-bot`), and its IAM policy lets it put events only with `source: agent.<that tag>`.
 */
export const AGENT_ID_TAG = 'ActionApprovalsAgentId';

/** The source an agent may put requests with: `agent.` and the caller's own agent-id tag. */
const AGENT_SOURCE_OF_CALLER = `agent.\${aws:PrincipalTag/${AGENT_ID_TAG}}`;

/** The namespace and metric the chat endpoints count unauthenticated callbacks in. */
export const CALLBACK_METRICS = {
  namespace: 'ActionApprovals',
  service: 'action-approvals',
  unauthenticated: 'UnauthenticatedCallbacks',
} as const;

/** The HTTP API's routes. */
export const ROUTES = {
  slack: '/slack/interactions',
  teams: '/teams/messages',
  decision: '/v1/requests/{id}/decision',
} as const;

/** Approval cards in a Slack channel, votes through Slack's interactivity endpoint. */
export interface SlackSettings {
  /** The id of the channel cards are posted to (`C0123ABCD`), not its name. */
  readonly channelId: string;
  /**
   * Name or ARN of the Secrets Manager secret holding the bot token (`xoxb-…`). Only the name or
   * ARN is in the template; the functions read the value at run time.
   */
  readonly botTokenSecret: string;
  /** Name or ARN of the Secrets Manager secret holding the Slack app's signing secret. */
  readonly signingSecret: string;
}

/** Approval cards in a Microsoft Teams conversation, votes through the bot's messaging endpoint. */
export interface TeamsSettings {
  /** The bot's Microsoft App ID (a GUID): the audience its incoming tokens must name. */
  readonly appId: string;
  /** Name or ARN of the Secrets Manager secret holding the bot's client secret (app password). */
  readonly appPasswordSecret: string;
  /** The Bot Connector service URL of the conversation (`https://smba.trafficmanager.net/…/`). */
  readonly serviceUrl: string;
  /** The id of the channel or chat the cards are posted to (`19:…@thread.tacv2`). */
  readonly conversationId: string;
  /**
   * The Microsoft Entra tenant (a GUID) of a single-tenant bot, whose tokens come from the
   * tenant's own endpoint. Azure no longer creates multi-tenant bots, so new bots need it.
   * @default - a multi-tenant bot: tokens from the botframework.com tenant
   */
  readonly tenantId?: string;
}

/** Request rate limits of the HTTP API's stage, for every route together. */
export interface ApiThrottleSettings {
  /** Steady-state requests per second. */
  readonly rateLimit: number;
  /** Requests allowed in a burst. */
  readonly burstLimit: number;
}

/** Settings of an ActionApprovals deployment. Every field but `directory` has a safe default. */
export interface ActionApprovalsProps {
  /**
   * Who may ask (agents and their owners), who may answer (reviewers, their groups and their
   * Slack, Teams and IAM identities) and which accounts are production. It travels to the
   * functions in an environment variable, so it must stay under 2,500 bytes as JSON.
   */
  readonly directory: DirectoryConfig;
  /**
   * An existing bus to receive requests and carry outcome events. Conflicts with `eventBusName`.
   * The construct then adds no resource policy to it: pin agents with `grantRequest` and keep
   * others from publishing `source: action-approvals` yourself.
   * @default - a new bus with a resource policy
   */
  readonly eventBus?: events.IEventBus;
  /**
   * Name of the new bus. Conflicts with `eventBus`.
   * @default - a name generated from the construct's path
   */
  readonly eventBusName?: string;
  /**
   * Other accounts whose agents may put requests on the new bus. Each agent's own IAM policy
   * must still pin its `source` (see `ActionApprovals.agentRequestStatement`). Ignored with `eventBus`.
   * @default - only principals of this account
   */
  readonly agentAccounts?: readonly string[];
  /**
   * Slack: approval cards in a channel and the `POST /slack/interactions` route.
   * @default - no Slack
   */
  readonly slack?: SlackSettings;
  /**
   * Microsoft Teams: approval cards in a conversation and the `POST /teams/messages` route.
   * @default - no Teams
   */
  readonly teams?: TeamsSettings;
  /**
   * The execution role of each action class of the catalog (`data-export`, `data-read`,
   * `iam-admin`, `lambda-config`): disable a class, or narrow the resources it may ever reach.
   * @default - every class enabled, each on every resource of its type in this account, except
   * `data-read`, which reads only the buckets `directory.environments.buckets` maps (and has no
   * role when it maps none)
   */
  readonly executionRoles?: Readonly<Partial<Record<RoleClass, ExecutionRoleSettings>>>;
  /**
   * Execution sessions issued before this instant stop working (an `aws:TokenIssueTime` deny on
   * every execution role): STS sessions last at least 15 minutes and cannot be revoked one by one.
   * @default - no revocation
   */
  readonly revokeSessionsIssuedBefore?: Date;
  /**
   * The longest approval wait any policy grants. Each request waits for its own TTL (set by the
   * Cedar policies' `@ttl`, shortened by the request's `ttlSeconds`); this bounds the workflow's
   * executions as a safety net, at this plus one hour.
   * @default Duration.hours(12) - the longest `@ttl` a policy may set
   */
  readonly maxApprovalTtl?: Duration;
  /**
   * Object Lock compliance retention of the stream archive: nobody, root included, can delete or
   * overwrite an archived record before it ends, and it cannot be shortened later. Whole days.
   * @default Duration.days(365)
   */
  readonly archiveRetention?: Duration;
  /**
   * When the AuditLog table is exported to S3 for Athena.
   * @default ScheduleExpression.rate(Duration.days(1))
   */
  readonly exportSchedule?: scheduler.ScheduleExpression;
  /**
   * How long each export is kept in the exports bucket. Whole days.
   * @default Duration.days(90)
   */
  readonly exportRetention?: Duration;
  /**
   * Rate limits of the HTTP API.
   * @default - 10 requests per second, bursts of 20
   */
  readonly apiThrottle?: ApiThrottleSettings;
  /**
   * The topic alarms notify (failed or timed-out workflow executions, messages in a dead-letter
   * queue, archive lag).
   * @default - a new topic encrypted with the construct's data key
   */
  readonly alarmTopic?: sns.ITopic;
  /**
   * Unauthenticated Slack or Teams callbacks (bad signature or token) per channel in 5 minutes
   * that raise that channel's alarm. They write nothing, but a burst is someone probing.
   * @default 10
   */
  readonly unauthenticatedCallbackThreshold?: number;
  /**
   * Archive lag (the stream's iterator age) that raises the archive alarm.
   * @default Duration.minutes(15)
   */
  readonly archiveLagThreshold?: Duration;
  /**
   * How long function, workflow and API logs are kept.
   * @default logs.RetentionDays.ONE_YEAR
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * What happens to the Requests and idempotency tables, the exports and access-log buckets and
   * the log groups when the construct is removed. The AuditLog table, the archive bucket and the
   * KMS keys are always retained: the audit trail must outlive the stack, and the keys decrypt it.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/** The Lambda handlers of the system; the chat endpoints exist only when their channel is configured. */
export interface ActionApprovalsHandlers {
  /** Evaluate: parse, claim the request id, decide by policy. */
  readonly evaluate: HandlerFunction;
  /** RequestApproval: store the task token, post the cards. */
  readonly requestApproval: HandlerFunction;
  /** Expire: end a request nobody decided in time. */
  readonly expire: HandlerFunction;
  /** Execute: mint the session, run the approved action, sign the receipt. */
  readonly execute: HandlerFunction;
  /** RecordFailure: end a request whose workflow broke as failed. */
  readonly fail: HandlerFunction;
  /** `POST /v1/requests/{id}/decision` (IAM-authorized). */
  readonly apiDecision: HandlerFunction;
  /** `POST /slack/interactions`, when Slack is configured. */
  readonly slackInteractions?: HandlerFunction;
  /** `POST /teams/messages`, when Teams is configured. */
  readonly teamsMessages?: HandlerFunction;
}

const DEFAULTS = {
  maxApprovalTtl: Duration.hours(12),
  archiveRetention: Duration.days(365),
  exportRetention: Duration.days(90),
  apiThrottle: { rateLimit: 10, burstLimit: 20 },
  archiveLagThreshold: Duration.minutes(15),
  unauthenticatedCallbackThreshold: 10,
  logRetention: logs.RetentionDays.ONE_YEAR,
  removalPolicy: RemovalPolicy.RETAIN,
} as const;

/** Lambda allows 4 KB of environment variables per function; the rest of ours take about 1.5 KB. */
export const MAX_DIRECTORY_BYTES = 2_500;

/**
 * Zero standing privilege for AI agents on AWS: agents ask for one privileged action with an
 * EventBridge event, a Cedar policy denies, auto-approves or asks reviewers (Slack, Teams, or an
 * IAM-authorized API), and only an approved action runs, with an STS session that can do exactly
 * that action until the approval expires. Every step is an append-only, hash-chained audit
 * record, archived under Object Lock and exported for Athena.
 */
export class ActionApprovals extends Construct {
  /** Where agents put `Action Requested` events and where outcome events are published. */
  public readonly eventBus: events.IEventBus;
  /** Starts the workflow for each `Action Requested` event. */
  public readonly requestRule: events.Rule;
  /** The request workflow. */
  public readonly stateMachine: sfn.StateMachine;
  /** Requests: state, votes, and the task token, which never leaves this table and the workflow. */
  public readonly requestsTable: dynamodb.Table;
  /** The append-only, hash-chained audit trail. No principal may update or delete its items. */
  public readonly auditTable: dynamodb.Table;
  /** Remembers Slack clicks already handled, so Slack's retries change nothing. */
  public readonly idempotencyTable: dynamodb.Table;
  /** Encrypts the tables, buckets, topic and Athena results. Rotated yearly; always retained. */
  public readonly dataKey: kms.Key;
  /** Signs approval receipts (ECC_NIST_P256, SIGN_VERIFY); verifiers need only its public key. */
  public readonly receiptKey: kms.Key;
  /** The Lambda handlers. */
  public readonly handlers: ActionApprovalsHandlers;
  /** The execution role of each enabled action class, and their permissions boundary. */
  public readonly executionRoles: ExecutionRoles;
  /** The AuditLog stream's Object Lock archive. */
  public readonly archive: AuditArchive;
  /** Scheduled PITR exports, the Glue table and the Athena named queries. */
  public readonly exports: AuditExports;
  /** Receives the server access logs of the archive and exports buckets. */
  public readonly accessLogsBucket: s3.Bucket;
  /** The HTTP API: Slack, Teams and the IAM-authorized decision route. */
  public readonly httpApi: apigwv2.HttpApi;
  /** The API's throttled stage, with access logs. */
  public readonly apiStage: apigwv2.HttpStage;
  /**
   * One queue per registered agent, named `action-approvals-outcomes-<agentId>`, receiving that
   * agent's outcome events: what the agent client (`client/`) waits on. Grant an agent its own
   * with `grantOutcomes`.
   */
  public readonly outcomeQueues: Readonly<Record<string, sqs.Queue>>;
  /** Dead-letter queues: events the rule could not deliver, archive batches that failed, exports that could not start. */
  public readonly deadLetterQueues: {
    readonly requests: sqs.Queue;
    readonly archive: sqs.Queue;
    readonly exports: sqs.Queue;
  };
  /** Where alarms notify. */
  public readonly alarmTopic: sns.ITopic;
  /** Every alarm, by what it watches. */
  public readonly alarms: Readonly<Record<string, cloudwatch.Alarm>>;

  /**
   * The IAM statement an agent's role needs to ask for actions: `events:PutEvents` on the bus,
   * only with detail-type `Action Requested` and `source` equal to `agent.` followed by the
   * role's `ActionApprovalsAgentId` principal tag. That condition is what stops one agent from
   * speaking for another; the agent must not be able to change its own tags.
   *
   * `events:source` and `events:detail-type` hold one value per entry of a PutEvents call, so
   * they are matched with `ForAllValues` (every entry, not just one) and a `Null` check (a
   * request without the key would otherwise match `ForAllValues` vacuously).
   */
  public static agentRequestStatement(eventBus: events.IEventBus): iam.PolicyStatement {
    return new iam.PolicyStatement({
      sid: 'AskForActionsAsMyself',
      actions: ['events:PutEvents'],
      resources: [eventBus.eventBusArn],
      conditions: {
        'ForAllValues:StringEquals': {
          'events:source': AGENT_SOURCE_OF_CALLER,
          'events:detail-type': ACTION_REQUESTED,
        },
        Null: {
          [`aws:PrincipalTag/${AGENT_ID_TAG}`]: 'false',
          'events:source': 'false',
          'events:detail-type': 'false',
        },
      },
    });
  }

  constructor(scope: Construct, id: string, props: ActionApprovalsProps) {
    super(scope, id);
    // Access logs delivered under a bucket policy, not the LogDeliveryWrite ACL, whatever the
    // app's feature flags: ACLs stay disabled on every bucket. Must be set before any child exists.
    this.node.setContext(cxapi.S3_SERVER_ACCESS_LOGS_USE_BUCKET_POLICY, true);
    validateProps(props);
    const removalPolicy = props.removalPolicy ?? DEFAULTS.removalPolicy;
    const logRetention = props.logRetention ?? DEFAULTS.logRetention;
    const { account } = Stack.of(this);
    // The execution roles' boundary denies changing anything that carries this tag.
    Tags.of(this).add(MANAGED_TAG_KEY, 'managed');

    this.dataKey = new kms.Key(this, 'DataKey', {
      description: 'action-approvals: tables, buckets, alarms topic and Athena results',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.receiptKey = new kms.Key(this, 'ReceiptKey', {
      description: 'action-approvals: signs approval receipts (ES256)',
      keySpec: kms.KeySpec.ECC_NIST_P256,
      keyUsage: kms.KeyUsage.SIGN_VERIFY,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    // ── Tables ──────────────────────────────────────────────────────────────────────────────
    const encrypted = {
      encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: this.dataKey,
    } as const;
    const pitr = { pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true } } as const;
    this.requestsTable = new dynamodb.Table(this, 'Requests', {
      partitionKey: { name: REQUESTS_TABLE_KEY.partitionKey, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      ...encrypted,
      ...pitr,
      deletionProtection: removalPolicy === RemovalPolicy.RETAIN,
      removalPolicy,
    });
    this.auditTable = new dynamodb.Table(this, 'AuditLog', {
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
    this.idempotencyTable = new dynamodb.Table(this, 'Idempotency', {
      partitionKey: { name: IDEMPOTENCY_TABLE_KEY.partitionKey, type: dynamodb.AttributeType.STRING },
      timeToLiveAttribute: IDEMPOTENCY_TABLE_KEY.timeToLiveAttribute,
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      ...encrypted,
      ...pitr,
      removalPolicy,
    });

    // ── Bus ─────────────────────────────────────────────────────────────────────────────────
    const ownBus = props.eventBus
      ? undefined
      : new events.EventBus(this, 'Bus', {
          eventBusName: props.eventBusName,
          description: 'action-approvals: requests from agents, outcomes back to them',
        });
    this.eventBus = props.eventBus ?? (ownBus as events.EventBus);

    // ── Functions ───────────────────────────────────────────────────────────────────────────
    const runtimeEnvironment = {
      REQUESTS_TABLE_NAME: this.requestsTable.tableName,
      AUDIT_TABLE_NAME: this.auditTable.tableName,
      EVENT_BUS_NAME: this.eventBus.eventBusName,
      DIRECTORY_JSON: JSON.stringify(props.directory),
      POLICY_DIR: BUNDLED_POLICY_DIR,
    };
    const chatEnvironment: Record<string, string> = {
      ...(props.slack
        ? { SLACK_CHANNEL_ID: props.slack.channelId, SLACK_BOT_TOKEN_SECRET_ID: props.slack.botTokenSecret }
        : {}),
      ...(props.teams
        ? {
            TEAMS_APP_ID: props.teams.appId,
            TEAMS_APP_PASSWORD_SECRET_ID: props.teams.appPasswordSecret,
            TEAMS_SERVICE_URL: props.teams.serviceUrl,
            TEAMS_CONVERSATION_ID: props.teams.conversationId,
            ...(props.teams.tenantId
              ? {
                  TEAMS_TOKEN_URL: `https://login.microsoftonline.com/${props.teams.tenantId}/oauth2/v2.0/token`,
                }
              : {}),
          }
        : {}),
    };
    const handler = (
      handlerId: string,
      settings: Omit<
        ConstructorParameters<typeof HandlerFunction>[2],
        'logRetention' | 'removalPolicy' | 'evaluatesPolicy'
      >,
    ) =>
      new HandlerFunction(this, handlerId, {
        evaluatesPolicy: settings.handler === 'evaluate',
        logRetention,
        removalPolicy,
        ...settings,
      });

    const evaluate = handler('Evaluate', {
      handler: 'evaluate',
      description: 'action-approvals: parse, claim and evaluate a requested action',
      environment: runtimeEnvironment,
      // Compiling Cedar's WebAssembly and reading IAM's reference are CPU-bound: memory buys CPU.
      memorySize: 1024,
    });
    const requestApproval = handler('RequestApproval', {
      handler: 'request-approval',
      description: 'action-approvals: store the task token, post the approval cards',
      environment: { ...runtimeEnvironment, ...chatEnvironment },
    });
    const expire = handler('Expire', {
      handler: 'expire',
      description: 'action-approvals: end a request nobody decided in time',
      environment: { ...runtimeEnvironment, ...chatEnvironment },
    });
    const execute = handler('Execute', {
      handler: 'execute',
      description: 'action-approvals: mint the scoped session, run the approved action, sign the receipt',
      environment: runtimeEnvironment,
      timeout: Duration.minutes(1),
    });
    const fail = handler('RecordFailure', {
      handler: 'fail',
      description: 'action-approvals: end a request whose workflow broke as failed',
      environment: runtimeEnvironment,
    });
    // Endpoints answer people (Slack wants an answer within 3 s): more memory, shorter cold starts.
    const endpoint = { memorySize: 1024, timeout: Duration.seconds(10) };
    // Where the chat endpoints count refused callbacks (Powertools Metrics reads these).
    const callbackMetrics = {
      POWERTOOLS_METRICS_NAMESPACE: CALLBACK_METRICS.namespace,
      POWERTOOLS_SERVICE_NAME: CALLBACK_METRICS.service,
    };
    const apiDecision = handler('ApiDecision', {
      handler: 'api-decision',
      description: 'action-approvals: POST /v1/requests/{id}/decision (IAM-authorized)',
      environment: { ...runtimeEnvironment, ...chatEnvironment },
      ...endpoint,
    });
    const slackInteractions = props.slack
      ? handler('SlackInteractions', {
          handler: 'slack-interactions',
          description: 'action-approvals: Slack interactivity endpoint',
          environment: {
            ...runtimeEnvironment,
            ...chatEnvironment,
            SLACK_SIGNING_SECRET_ID: props.slack.signingSecret,
            IDEMPOTENCY_TABLE_NAME: this.idempotencyTable.tableName,
            ...callbackMetrics,
          },
          ...endpoint,
        })
      : undefined;
    const teamsMessages = props.teams
      ? handler('TeamsMessages', {
          handler: 'teams-messages',
          description: 'action-approvals: Microsoft Teams bot messaging endpoint',
          environment: { ...runtimeEnvironment, ...chatEnvironment, ...callbackMetrics },
          ...endpoint,
        })
      : undefined;
    this.handlers = {
      evaluate,
      requestApproval,
      expire,
      execute,
      fail,
      apiDecision,
      slackInteractions,
      teamsMessages,
    };

    // ── Least privilege, function by function ───────────────────────────────────────────────
    const decisionPath = [apiDecision, slackInteractions, teamsMessages].filter(
      (fn): fn is HandlerFunction => fn !== undefined,
    );
    const notifying = [requestApproval, expire, ...decisionPath];
    // Evaluate only claims (a conditional put); everything after it reads and rewrites the request.
    this.allowItems(evaluate, this.requestsTable, ['PutItem']);
    for (const fn of [requestApproval, expire, execute, fail, ...decisionPath])
      this.allowItems(fn, this.requestsTable, ['GetItem', 'PutItem']);
    // Audit records are only ever put (inside the request's transaction or starting a chain).
    for (const fn of [evaluate, requestApproval, expire, execute, fail, ...decisionPath])
      this.allowItems(fn, this.auditTable, ['PutItem']);
    if (slackInteractions) {
      // Powertools' idempotency record: put in progress, read, complete, and delete on failure.
      this.allowItems(slackInteractions, this.idempotencyTable, [
        'GetItem',
        'PutItem',
        'UpdateItem',
        'DeleteItem',
      ]);
      this.allowSecret(slackInteractions, props.slack?.signingSecret);
    }
    for (const fn of notifying) {
      this.allowSecret(fn, props.slack?.botTokenSecret);
      this.allowSecret(fn, props.teams?.appPasswordSecret);
    }
    for (const fn of decisionPath) {
      fn.role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: 'PublishApprovals',
          actions: ['events:PutEvents'],
          resources: [this.eventBus.eventBusArn],
        }),
      );
      fn.allowOnAnyResource(
        'ResumeWorkflow',
        ['states:SendTaskSuccess', 'states:SendTaskFailure'],
        'states:SendTaskSuccess and SendTaskFailure support no resource-level permissions; only the decision path (this function) holds them, and it resumes a task only with a token read from the Requests table.',
      );
    }

    this.accessLogsBucket = new s3.Bucket(this, 'AccessLogs', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [{ id: 'ExpireAccessLogs', expiration: Duration.days(365) }],
      removalPolicy,
    });

    const queue = (queueId: string) =>
      new sqs.Queue(this, queueId, {
        encryption: sqs.QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
        retentionPeriod: Duration.days(14),
        removalPolicy,
      });
    this.deadLetterQueues = {
      requests: queue('RequestsDeadLetters'),
      archive: queue('ArchiveFailures'),
      exports: queue('ExportFailures'),
    };
    acknowledge(this.deadLetterQueues.requests, [
      {
        id: 'AwsSolutions-SQS3',
        reason:
          'This queue is the dead-letter queue of the Action Requested rule’s target; a queue does not need a dead-letter queue of its own.',
      },
    ]);
    acknowledge(this.deadLetterQueues.archive, [
      {
        id: 'AwsSolutions-SQS3',
        reason:
          'This queue is the on-failure destination of the audit stream mapping; a queue does not need a dead-letter queue of its own.',
      },
    ]);
    acknowledge(this.deadLetterQueues.exports, [
      {
        id: 'AwsSolutions-SQS3',
        reason:
          'This queue is the dead-letter queue of the export schedule; a queue does not need a dead-letter queue of its own.',
      },
    ]);

    // ── Archive and exports ─────────────────────────────────────────────────────────────────
    this.archive = new AuditArchive(this, 'Archive', {
      table: this.auditTable,
      key: this.dataKey,
      retention: props.archiveRetention ?? DEFAULTS.archiveRetention,
      failureQueue: this.deadLetterQueues.archive,
      accessLogsBucket: this.accessLogsBucket,
      lagThreshold: props.archiveLagThreshold ?? DEFAULTS.archiveLagThreshold,
      logRetention,
      removalPolicy,
    });
    this.exports = new AuditExports(this, 'Exports', {
      table: this.auditTable,
      key: this.dataKey,
      schedule: props.exportSchedule ?? scheduler.ScheduleExpression.rate(Duration.days(1)),
      retention: props.exportRetention ?? DEFAULTS.exportRetention,
      deadLetterQueue: this.deadLetterQueues.exports,
      accessLogsBucket: this.accessLogsBucket,
      removalPolicy,
    });
    // ── Workflow and the rule that starts it ────────────────────────────────────────────────
    const workflow = new ApprovalWorkflow(this, 'Workflow', {
      functions: {
        evaluate: evaluate.function,
        requestApproval: requestApproval.function,
        expire: expire.function,
        execute: execute.function,
        fail: fail.function,
      },
      eventBus: this.eventBus,
      timeout: (props.maxApprovalTtl ?? DEFAULTS.maxApprovalTtl).plus(Duration.hours(1)),
      logRetention,
      removalPolicy,
    });
    this.stateMachine = workflow.stateMachine;

    const ruleRole = new iam.Role(this, 'RequestRuleRole', {
      assumedBy: new iam.ServicePrincipal('events.amazonaws.com').withConditions({
        StringEquals: { 'aws:SourceAccount': account },
      }),
      description: 'Starts the action-approvals workflow for each Action Requested event',
      path: ROLE_PATH,
    });
    this.requestRule = new events.Rule(this, 'RequestRule', {
      eventBus: this.eventBus,
      description:
        'Every Action Requested event starts the approval workflow; Evaluate rejects malformed ones, so none is dropped silently.',
      eventPattern: { detailType: [ACTION_REQUESTED] },
      targets: [
        new eventTargets.SfnStateMachine(this.stateMachine, {
          role: ruleRole,
          deadLetterQueue: this.deadLetterQueues.requests,
          retryAttempts: 8,
          maxEventAge: Duration.hours(2),
        }),
      ],
    });

    this.outcomeQueues = this.outcomeQueuesFor(Object.keys(props.directory.agents), removalPolicy);

    this.executionRoles = new ExecutionRoles(this, 'ExecutionRoles', {
      executeRole: execute.role,
      settings: props.executionRoles ?? {},
      // Sessions must never write into the audit trail's buckets, whatever an approval says.
      protectedBuckets: [this.archive.bucket, this.exports.bucket, this.accessLogsBucket],
      protectedKeys: [this.dataKey, this.receiptKey],
      protectedResources: {
        tables: [this.requestsTable, this.auditTable, this.idempotencyTable],
        stateMachineNames: [workflow.stateMachineName],
        eventBuses: [this.eventBus],
        queues: [...Object.values(this.deadLetterQueues), ...Object.values(this.outcomeQueues)],
        secretArns: [props.slack?.botTokenSecret, props.slack?.signingSecret, props.teams?.appPasswordSecret]
          .filter((secret): secret is string => secret !== undefined)
          .map((secret) => secretArn(this, secret)),
      },
      mappedBuckets: directoryBuckets(props.directory),
      ...(props.revokeSessionsIssuedBefore
        ? { revokeSessionsIssuedBefore: props.revokeSessionsIssuedBefore }
        : {}),
    });
    const roles = Object.entries(this.executionRoles.roles) as [RoleClass, iam.Role][];
    execute.function.addEnvironment(
      'EXECUTION_ROLES_JSON',
      Stack.of(this).toJsonString(Object.fromEntries(roles.map(([cls, role]) => [cls, role.roleArn]))),
    );
    execute.function.addEnvironment('RECEIPT_KEY_ID', this.receiptKey.keyArn);
    if (roles.length > 0) {
      execute.role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: 'AssumeExecutionRoles',
          actions: ['sts:AssumeRole', 'sts:SetSourceIdentity', 'sts:TagSession'],
          resources: roles.map(([, role]) => role.roleArn),
        }),
      );
    }
    execute.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'SignReceipts',
        actions: ['kms:Sign'],
        resources: [this.receiptKey.keyArn],
        conditions: { StringEquals: { 'kms:SigningAlgorithm': 'ECDSA_SHA_256' } },
      }),
    );

    if (ownBus)
      this.addBusPolicy(ownBus, props.agentAccounts ?? [], [
        workflow.stateMachine.role,
        ...decisionPath.map((fn) => fn.role),
      ]);

    // ── HTTP API ────────────────────────────────────────────────────────────────────────────
    this.httpApi = new apigwv2.HttpApi(this, 'Api', {
      description: 'action-approvals: reviewers’ votes from Slack, Teams and the IAM-authorized API',
      createDefaultStage: false,
    });
    const accessLogs = new logs.LogGroup(this, 'ApiAccessLogs', { retention: logRetention, removalPolicy });
    const throttle = props.apiThrottle ?? DEFAULTS.apiThrottle;
    this.apiStage = new apigwv2.HttpStage(this, 'ApiStage', {
      httpApi: this.httpApi,
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit: throttle.rateLimit, burstLimit: throttle.burstLimit },
      accessLogSettings: {
        destination: new apigwv2.LogGroupLogDestination(accessLogs),
        // No headers and no body: Slack and Teams put signatures and tokens there.
        format: apiAccessLogFormat(),
      },
    });
    this.httpApi.addRoutes({
      path: ROUTES.decision,
      methods: [apigwv2.HttpMethod.POST],
      integration: new HttpLambdaIntegration('Decision', apiDecision.function),
      authorizer: new HttpIamAuthorizer(),
    });
    if (slackInteractions) {
      const [route] = this.httpApi.addRoutes({
        path: ROUTES.slack,
        methods: [apigwv2.HttpMethod.POST],
        integration: new HttpLambdaIntegration('Slack', slackInteractions.function),
      });
      acknowledge(route, [
        {
          id: 'AwsSolutions-APIG4',
          reason:
            'Slack cannot sign requests with SigV4 or present a JWT; the function verifies Slack’s v0 HMAC signature and refuses timestamps older than 5 minutes.',
        },
      ]);
    }
    if (teamsMessages) {
      const [route] = this.httpApi.addRoutes({
        path: ROUTES.teams,
        methods: [apigwv2.HttpMethod.POST],
        integration: new HttpLambdaIntegration('Teams', teamsMessages.function),
      });
      acknowledge(route, [
        {
          id: 'AwsSolutions-APIG4',
          reason:
            'The Bot Framework sends its own JWT, whose issuer and keys an API Gateway JWT authorizer cannot pin to the serviceUrl claim; the function validates it against the Bot Framework’s OpenID metadata.',
        },
      ]);
    }

    // ── Alarms ──────────────────────────────────────────────────────────────────────────────
    if (props.alarmTopic) {
      this.alarmTopic = props.alarmTopic;
    } else {
      // CloudWatch must use the topic's key to publish to it.
      this.dataKey.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: 'CloudWatchAlarmsPublish',
          principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
          actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
          resources: ['*'],
          conditions: { StringEquals: { 'aws:SourceAccount': account } },
        }),
      );
      this.alarmTopic = new sns.Topic(this, 'Alarms', {
        displayName: 'action-approvals alarms',
        masterKey: this.dataKey,
        enforceSSL: true,
      });
    }
    const fiveMinutes = Duration.minutes(5);
    const atLeastOne = (metric: cloudwatch.IMetric, description: string, alarmId: string) =>
      new cloudwatch.Alarm(this, alarmId, {
        metric,
        alarmDescription: description,
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    const alarms: Record<string, cloudwatch.Alarm> = {
      workflowFailed: atLeastOne(
        this.stateMachine.metricFailed({ period: fiveMinutes }),
        'A workflow execution failed: a request may have no outcome event.',
        'WorkflowFailedAlarm',
      ),
      workflowTimedOut: atLeastOne(
        this.stateMachine.metricTimedOut({ period: fiveMinutes }),
        'A workflow execution ran past the longest approval TTL.',
        'WorkflowTimedOutAlarm',
      ),
      requestsDeadLetters: atLeastOne(
        this.deadLetterQueues.requests.metricApproximateNumberOfMessagesVisible({
          period: fiveMinutes,
          statistic: cloudwatch.Stats.MAXIMUM,
        }),
        'Action Requested events could not start the workflow; they wait in the dead-letter queue.',
        'RequestsDeadLettersAlarm',
      ),
      archiveFailures: atLeastOne(
        this.deadLetterQueues.archive.metricApproximateNumberOfMessagesVisible({
          period: fiveMinutes,
          statistic: cloudwatch.Stats.MAXIMUM,
        }),
        'Audit stream batches could not be archived; re-read them from the stream (24 hours) or take them from an export.',
        'ArchiveFailuresAlarm',
      ),
      exportFailures: atLeastOne(
        this.deadLetterQueues.exports.metricApproximateNumberOfMessagesVisible({
          period: fiveMinutes,
          statistic: cloudwatch.Stats.MAXIMUM,
        }),
        'A scheduled export of the audit log could not be started.',
        'ExportFailuresAlarm',
      ),
      archiveLag: this.archive.lagAlarm,
      ...this.unauthenticatedCallbackAlarms(
        [...(props.slack ? (['slack'] as const) : []), ...(props.teams ? (['teams'] as const) : [])],
        props.unauthenticatedCallbackThreshold ?? DEFAULTS.unauthenticatedCallbackThreshold,
      ),
    };
    for (const alarm of Object.values(alarms))
      alarm.addAlarmAction(new cloudwatchActions.SnsAction(this.alarmTopic));
    this.alarms = alarms;
  }

  /**
   * One alarm per configured chat channel on the callbacks its endpoint refused as
   * unauthenticated (the count the Slack and Teams functions emit, by channel).
   */
  private unauthenticatedCallbackAlarms(
    channels: readonly ('slack' | 'teams')[],
    threshold: number,
  ): Record<string, cloudwatch.Alarm> {
    const alarms: Record<string, cloudwatch.Alarm> = {};
    for (const channel of channels) {
      const name = channel === 'slack' ? 'Slack' : 'Teams';
      alarms[`unauthenticated${name}Callbacks`] = new cloudwatch.Alarm(
        this,
        `Unauthenticated${name}CallbacksAlarm`,
        {
          metric: new cloudwatch.Metric({
            namespace: CALLBACK_METRICS.namespace,
            metricName: CALLBACK_METRICS.unauthenticated,
            dimensionsMap: { service: CALLBACK_METRICS.service, channel },
            statistic: cloudwatch.Stats.SUM,
            period: Duration.minutes(5),
          }),
          alarmDescription: `${name} callbacks that failed authentication (bad signature or token): someone may be probing the ${channel} endpoint.`,
          threshold,
          evaluationPeriods: 1,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        },
      );
    }
    return alarms;
  }

  /** Lets `grantee` read and delete the outcome events of `agentId`, and nothing else's. */
  public grantOutcomes(grantee: iam.IGrantable, agentId: string): iam.Grant {
    const queue = this.outcomeQueues[agentId];
    if (!queue) throw new Error(`no outcome queue for agent "${agentId}": it is not in the directory`);
    return queue.grantConsumeMessages(grantee);
  }

  /**
   * Lets `grantee` ask for actions as the agent named by its `ActionApprovalsAgentId` principal
   * tag (see `agentRequestStatement`).
   */
  public grantRequest(grantee: iam.IGrantable): iam.Grant {
    const statement = ActionApprovals.agentRequestStatement(this.eventBus);
    return iam.Grant.addToPrincipal({
      grantee,
      actions: statement.actions,
      resourceArns: statement.resources,
      conditions: statement.conditions,
    });
  }
  /**
   * An outcome queue and a rule per agent: the rule matches the agent's id in the outcome's
   * detail, so an agent's queue never holds another agent's outcomes.
   */
  private outcomeQueuesFor(
    agentIds: readonly string[],
    removalPolicy: RemovalPolicy,
  ): Record<string, sqs.Queue> {
    const queues: Record<string, sqs.Queue> = {};
    for (const agentId of agentIds) {
      const queue = new sqs.Queue(this, `Outcomes-${agentId}`, {
        queueName: `action-approvals-outcomes-${agentId}`,
        encryption: sqs.QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
        retentionPeriod: Duration.days(4),
        removalPolicy,
      });
      acknowledge(queue, [
        {
          id: 'AwsSolutions-SQS3',
          reason:
            'Outcome events are read by one agent client and deleted once handled; a message nobody reads expires with the queue retention, and the audit trail keeps the outcome.',
        },
      ]);
      new events.Rule(this, `OutcomesRule-${agentId}`, {
        eventBus: this.eventBus,
        description: `action-approvals: outcome events of agent ${agentId} to its queue`,
        eventPattern: { source: [OUTCOME_SOURCE], detail: { agentId: [agentId] } },
        targets: [new eventTargets.SqsQueue(queue, { retryAttempts: 8, maxEventAge: Duration.hours(2) })],
      });
      queues[agentId] = queue;
    }
    return queues;
  }

  /**
   * Lets `grantee` vote through `POST /v1/requests/{id}/decision`. Votes count only when the
   * caller's ARN is a reviewer's `iamPrincipalArns` entry in the directory.
   */
  public grantDecide(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['execute-api:Invoke'],
      resourceArns: [
        this.httpApi.arnForExecuteApi('POST', '/v1/requests/*/decision', this.apiStage.stageName),
      ],
    });
  }

  private allowItems(fn: HandlerFunction, table: dynamodb.Table, actions: readonly string[]): void {
    fn.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: actions.map((action) => `dynamodb:${action}`),
        resources: [table.tableArn],
      }),
    );
    // The tables' key, usable only through DynamoDB.
    fn.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'TableKeyThroughDynamoDB',
        actions: ['kms:Decrypt', 'kms:DescribeKey', 'kms:Encrypt', 'kms:GenerateDataKey'],
        resources: [this.dataKey.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': `dynamodb.${Stack.of(this).region}.amazonaws.com` } },
      }),
    );
  }

  private allowSecret(fn: HandlerFunction, secret: string | undefined): void {
    if (!secret) return;
    fn.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['secretsmanager:GetSecretValue'],
        resources: [secretArn(this, secret)],
      }),
    );
  }

  private addBusPolicy(
    bus: events.EventBus,
    agentAccounts: readonly string[],
    publishers: readonly iam.IRole[],
  ): void {
    // CloudFormation takes each statement id as the physical id of its policy resource, unique in
    // the account and region: derived from the stack and this construct, never a fixed string.
    const addStatement = (name: string, statement: iam.PolicyStatementProps) => {
      const sid = statementId(this, name);
      new events.EventBusPolicy(bus, name, {
        eventBus: bus,
        statementId: sid,
        statement: new iam.PolicyStatement({ ...statement, sid }).toJSON(),
      });
    };
    // Outcome events are trusted by agents: only the workflow and the decision path may send them.
    addStatement('OnlyThisSystemPublishesOutcomes', {
      effect: iam.Effect.DENY,
      principals: [new iam.StarPrincipal()],
      actions: ['events:PutEvents'],
      resources: [bus.eventBusArn],
      conditions: {
        'ForAnyValue:StringEquals': { 'events:source': OUTCOME_SOURCE },
        ArnNotEquals: { 'aws:PrincipalArn': publishers.map((role) => role.roleArn) },
      },
    });
    // Whatever an agent's own policy says, in this account or another: an `agent.*` source only
    // as the agent its principal tag names. `events:source` holds one value per entry, so one
    // forged entry among legitimate ones denies the whole call.
    const agentSource = { 'ForAnyValue:StringLike': { 'events:source': 'agent.*' } };
    addStatement('AgentSourcesNeedAnAgentTag', {
      effect: iam.Effect.DENY,
      principals: [new iam.StarPrincipal()],
      actions: ['events:PutEvents'],
      resources: [bus.eventBusArn],
      conditions: { ...agentSource, Null: { [`aws:PrincipalTag/${AGENT_ID_TAG}`]: 'true' } },
    });
    addStatement('AgentsSpeakOnlyForThemselves', {
      effect: iam.Effect.DENY,
      principals: [new iam.StarPrincipal()],
      actions: ['events:PutEvents'],
      resources: [bus.eventBusArn],
      conditions: {
        ...agentSource,
        'ForAnyValue:StringNotEquals': { 'events:source': AGENT_SOURCE_OF_CALLER },
      },
    });
    if (agentAccounts.length > 0) {
      addStatement('AgentsOfOtherAccountsAsk', {
        principals: agentAccounts.map((agentAccount) => new iam.AccountPrincipal(agentAccount)),
        actions: ['events:PutEvents'],
        resources: [bus.eventBusArn],
        conditions: {
          'ForAllValues:StringEquals': { 'events:detail-type': ACTION_REQUESTED },
          'ForAllValues:StringLike': { 'events:source': 'agent.*' },
          Null: { 'events:source': 'false', 'events:detail-type': 'false' },
        },
      });
    }
  }
}

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

/** One JSON line per request: who called which route and how it went; no headers, no body. */
function apiAccessLogFormat(): AccessLogFormat {
  return AccessLogFormat.custom(
    JSON.stringify({
      requestId: '$context.requestId',
      requestTime: '$context.requestTime',
      routeKey: '$context.routeKey',
      status: '$context.status',
      responseLength: '$context.responseLength',
      integrationError: '$context.integrationErrorMessage',
      callerArn: '$context.identity.userArn',
      sourceIp: '$context.identity.sourceIp',
    }),
  );
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const SECRET_NAME = /^[A-Za-z0-9/_+=.@-]{1,512}$/;
const SECRET_ARN = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$/;

/** A secret's ARN for IAM: an ARN as given, or a name with the six random characters Secrets Manager appends. */
function secretArn(scope: Construct, secret: string): string {
  if (SECRET_ARN.test(secret)) return secret;
  const { partition, region, account } = Stack.of(scope);
  return `arn:${partition}:secretsmanager:${region}:${account}:secret:${secret}-??????`;
}

/** Checks the props and throws one error listing every problem. */
function validateProps(props: ActionApprovalsProps): void {
  const problems: string[] = [];
  const directory = Directory.parse(props.directory);
  if (!directory.ok) problems.push(`directory: ${directory.error}`);
  const directoryBytes = Buffer.byteLength(JSON.stringify(props.directory ?? null), 'utf8');
  if (directoryBytes > MAX_DIRECTORY_BYTES) {
    problems.push(
      `directory is ${directoryBytes} bytes as JSON; it travels in DIRECTORY_JSON and Lambda allows 4 KB of environment variables per function, so it must stay under ${MAX_DIRECTORY_BYTES} bytes`,
    );
  }
  if (props.eventBus && props.eventBusName !== undefined) {
    problems.push(
      'eventBus and eventBusName are mutually exclusive: pass an existing bus, or a name for a new one',
    );
  }
  for (const agentAccount of props.agentAccounts ?? []) {
    if (!/^\d{12}$/.test(agentAccount))
      problems.push(`agentAccounts: "${agentAccount}" is not a 12-digit account id`);
  }
  if (props.slack) {
    if (!/^[CG][A-Z0-9]{6,20}$/.test(props.slack.channelId))
      problems.push(`slack.channelId must be a channel id like C0123ABCD, not "${props.slack.channelId}"`);
    checkSecret('slack.botTokenSecret', props.slack.botTokenSecret, problems);
    checkSecret('slack.signingSecret', props.slack.signingSecret, problems);
  }
  if (props.teams) {
    if (!GUID.test(props.teams.appId))
      problems.push(`teams.appId must be the bot's Microsoft App ID (a GUID), not "${props.teams.appId}"`);
    if (props.teams.tenantId !== undefined && !GUID.test(props.teams.tenantId))
      problems.push(
        `teams.tenantId must be a Microsoft Entra tenant id (a GUID), not "${props.teams.tenantId}"`,
      );
    checkSecret('teams.appPasswordSecret', props.teams.appPasswordSecret, problems);
    if (!/^https:\/\/[^\s/]+(\/\S*)?$/.test(props.teams.serviceUrl))
      problems.push(`teams.serviceUrl must be an https URL, not "${props.teams.serviceUrl}"`);
    if (props.teams.conversationId.trim() === '') problems.push('teams.conversationId must not be empty');
  }
  for (const [roleClass, settings] of Object.entries(props.executionRoles ?? {})) {
    if (!(Object.values(ROLE_CLASS) as string[]).includes(roleClass))
      problems.push(
        `executionRoles: "${roleClass}" is not a role class of the catalog (${Object.values(ROLE_CLASS).join(', ')})`,
      );
    if (settings?.resources && settings.resources.length === 0)
      problems.push(
        `executionRoles.${roleClass}.resources must not be empty: disable the class with enabled: false instead`,
      );
  }
  const maxTtl = props.maxApprovalTtl;
  if (maxTtl && !maxTtl.isUnresolved() && (maxTtl.toSeconds() < 60 || maxTtl.toSeconds() > 365 * 86_400)) {
    problems.push(`maxApprovalTtl must be from 1 minute to 365 days, not ${maxTtl.toHumanString()}`);
  }
  const callbackThreshold = props.unauthenticatedCallbackThreshold;
  if (callbackThreshold !== undefined && !(Number.isInteger(callbackThreshold) && callbackThreshold >= 1))
    problems.push(
      `unauthenticatedCallbackThreshold must be a whole number of at least 1, not ${callbackThreshold}`,
    );
  checkWholeDays('archiveRetention', props.archiveRetention, 36_500, problems);
  checkWholeDays('exportRetention', props.exportRetention, 36_500, problems);
  if (props.apiThrottle) {
    const { rateLimit, burstLimit } = props.apiThrottle;
    if (!(rateLimit > 0) || !Number.isInteger(burstLimit) || burstLimit < 1) {
      problems.push(
        `apiThrottle needs a positive rateLimit and a whole burstLimit of at least 1, not ${rateLimit}/${burstLimit}`,
      );
    }
  }
  if (problems.length > 0) throw new Error(`ActionApprovals: invalid props:\n  - ${problems.join('\n  - ')}`);
}

function checkSecret(name: string, value: string, problems: string[]): void {
  // The value is not quoted back: a mistake here is most likely the secret itself.
  if (!SECRET_NAME.test(value) && !SECRET_ARN.test(value))
    problems.push(`${name} must be the name or ARN of a Secrets Manager secret, never the secret's value`);
}

function checkWholeDays(
  name: string,
  value: Duration | undefined,
  maxDays: number,
  problems: string[],
): void {
  if (!value || value.isUnresolved()) return;
  const days = value.toDays({ integral: false });
  if (!Number.isInteger(days) || days < 1 || days > maxDays)
    problems.push(
      `${name} must be a whole number of days from 1 to ${maxDays}, not ${value.toHumanString()}`,
    );
}
