import { Duration, RemovalPolicy, Stack, Tags } from 'aws-cdk-lib';
import type * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as eventTargets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as cxapi from 'aws-cdk-lib/cx-api';
import { Construct } from 'constructs';
import { ApprovalFunctions } from './approval-functions';
import { StuckExecutionSweep } from './stuck-execution-sweep';
import { ApprovalTables } from './approval-tables';
import { ApprovalWorkflow } from './approval-workflow';
import { ApprovalsAlarms } from './approvals-alarms';
import { AuditArchive } from './audit-archive';
import { AuditExports } from './audit-exports';
import { addBusPolicy } from './bus-policy';
import { DecisionApi } from './decision-api';
import { directoryBuckets, ExecutionRoles, MANAGED_TAG_KEY } from './execution-roles';
import { ROLE_PATH } from './handler-function';
import { OutcomeQueues, type DeadLetterQueues } from './outcome-queues';
import {
  ACTION_REQUESTED,
  AGENT_ID_TAG,
  AGENT_SOURCE_OF_CALLER,
  DEFAULTS,
  type ActionApprovalsHandlers,
  type ActionApprovalsProps,
} from './props';
import { physicalName, type NameRule } from './names';
import { StatusApi } from './status-api';
import { secureBucket } from './secure-bucket';
import { secretArn, validateProps } from './validation';

export { AUDIT_LOG_DENIED_ACTIONS } from './approval-tables';
export {
  ACTION_REQUESTED,
  AGENT_ID_TAG,
  CALLBACK_METRICS,
  MAX_DIRECTORY_BYTES,
  ROUTES,
  type ActionApprovalsHandlers,
  type ActionApprovalsProps,
  type ApiThrottleSettings,
  type SlackSettings,
  type TeamsSettings,
} from './props';

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
  /** Ends requests a dead execute invocation left in `executing`, every five minutes. */
  public readonly stuckExecutionSweep: StuckExecutionSweep;
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
  /** The IAM-authorized status routes and their read-only function (`grantStatus`). */
  public readonly statusApi: StatusApi;
  /**
   * One queue per registered agent, receiving that agent's outcome events: what the agent client
   * (`client/`) waits on. Named by CloudFormation (the bundled stack outputs each URL as
   * `OutcomeQueueUrl<agent id>`). Changed: it was named `action-approvals-outcomes-<agentId>`,
   * which a second stack or a retained queue clashed with. Grant an agent its own with
   * `grantOutcomes`.
   */
  public readonly outcomeQueues: Readonly<Record<string, sqs.Queue>>;
  /** Dead-letter queues: events the rule could not deliver, archive batches that failed, exports that could not start. */
  public readonly deadLetterQueues: DeadLetterQueues;
  /** The outcome and dead-letter queues, with the grant an agent needs. */
  private readonly outcomes: OutcomeQueues;
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
    const lifecycle = { logRetention: props.logRetention ?? DEFAULTS.logRetention, removalPolicy };
    // The execution roles' boundary denies changing anything that carries this tag.
    Tags.of(this).add(MANAGED_TAG_KEY, 'managed');

    // The parts, each in this construct's scope: their ids (and so the logical ids) are the ones deployed.
    [this.dataKey, this.receiptKey] = keys(this);
    const tables = new ApprovalTables(this, { key: this.dataKey, removalPolicy });
    this.requestsTable = tables.requests;
    this.auditTable = tables.auditLog;
    this.idempotencyTable = tables.idempotency;

    const ownBus = props.eventBus
      ? undefined
      : new events.EventBus(this, 'Bus', {
          eventBusName: props.eventBusName ?? physicalName(this, BUS_NAME),
          description: 'action-approvals: requests from agents, outcomes back to them',
        });
    this.eventBus = props.eventBus ?? (ownBus as events.EventBus);

    const chat = { slack: props.slack, teams: props.teams };
    const functions = new ApprovalFunctions(this, {
      tables,
      eventBus: this.eventBus,
      directory: props.directory,
      ...chat,
      ...lifecycle,
      maxApprovalTtl: props.maxApprovalTtl ?? DEFAULTS.maxApprovalTtl,
    });
    const api = new DecisionApi(this, {
      functions,
      tables,
      eventBus: this.eventBus,
      ...chat,
      throttle: props.apiThrottle ?? DEFAULTS.apiThrottle,
      ...lifecycle,
    });
    this.httpApi = api.httpApi;
    this.apiStage = api.stage;
    this.handlers = handlersOf(functions, api);
    this.statusApi = new StatusApi(this, 'StatusApi', {
      httpApi: this.httpApi,
      stage: this.apiStage,
      requestsTable: this.requestsTable,
      auditTable: this.auditTable,
      dataKey: this.dataKey,
      environment: functions.runtimeEnvironment,
      agentIdTag: AGENT_ID_TAG,
      ...lifecycle,
    });
    this.stuckExecutionSweep = new StuckExecutionSweep(this, {
      functions,
      tables,
      eventBus: this.eventBus,
      interval: Duration.minutes(5),
    });

    this.accessLogsBucket = secureBucket(this, 'AccessLogs', {
      lifecycleRules: [{ id: 'ExpireAccessLogs', expiration: Duration.days(365) }],
      removalPolicy,
    });
    const queues = new OutcomeQueues(this, {
      eventBus: this.eventBus,
      agentIds: Object.keys(props.directory.agents),
      removalPolicy,
    });
    this.outcomes = queues;
    this.deadLetterQueues = {
      ...queues.deadLetters,
      ...(api.slackVoteDeadLetters ? { slackVotes: api.slackVoteDeadLetters } : {}),
    };
    this.outcomeQueues = queues.byAgent;

    this.archive = new AuditArchive(this, 'Archive', {
      table: this.auditTable,
      key: this.dataKey,
      retention: props.archiveRetention ?? DEFAULTS.archiveRetention,
      coldStorageAfter: props.archiveColdStorageAfter ?? DEFAULTS.archiveColdStorageAfter,
      failureQueue: this.deadLetterQueues.archive,
      accessLogsBucket: this.accessLogsBucket,
      lagThreshold: props.archiveLagThreshold ?? DEFAULTS.archiveLagThreshold,
      ...lifecycle,
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

    const workflow = new ApprovalWorkflow(this, 'Workflow', {
      functions: functions.workflowTasks(),
      eventBus: this.eventBus,
      timeout: (props.maxApprovalTtl ?? DEFAULTS.maxApprovalTtl).plus(Duration.hours(1)),
      executionsEndWithin: this.stuckExecutionSweep.executionsEndWithin,
      ...lifecycle,
    });
    this.stateMachine = workflow.stateMachine;
    this.requestRule = this.startWorkflowOnRequests();

    this.executionRoles = new ExecutionRoles(this, 'ExecutionRoles', {
      executeRole: functions.execute.role,
      evaluateRole: functions.evaluate.role,
      settings: props.executionRoles ?? {},
      // Sessions must never write into the audit trail's buckets, whatever an approval says.
      protectedBuckets: [this.archive.bucket, this.exports.bucket, this.accessLogsBucket],
      protectedKeys: [this.dataKey, this.receiptKey],
      protectedResources: {
        tables: tables.all(),
        stateMachineNames: [workflow.stateMachineName],
        eventBuses: [this.eventBus],
        queues: [
          ...Object.values(this.deadLetterQueues),
          ...(api.slackVoteQueue ? [api.slackVoteQueue] : []),
        ],
        secretArns: chatSecrets(props).map((secret) => secretArn(this, secret)),
      },
      mappedBuckets: directoryBuckets(props.directory),
      ...(props.revokeSessionsIssuedBefore
        ? { revokeSessionsIssuedBefore: props.revokeSessionsIssuedBefore }
        : {}),
    });
    functions.allowSessions(this.executionRoles, this.receiptKey, props.targetAccounts ?? []);

    if (ownBus)
      addBusPolicy(this, ownBus, {
        agentAccounts: props.agentAccounts ?? [],
        outcomePublishers: [workflow.stateMachine.role, ...api.decisionPath().map((fn) => fn.role)],
      });

    const alarms = new ApprovalsAlarms(this, {
      ...(props.alarmTopic ? { topic: props.alarmTopic } : {}),
      key: this.dataKey,
      stateMachine: this.stateMachine,
      deadLetterQueues: this.deadLetterQueues,
      otherAlarms: { archiveLag: this.archive.lagAlarm },
      chatChannels: [
        ...(props.slack ? (['slack'] as const) : []),
        ...(props.teams ? (['teams'] as const) : []),
      ],
      unauthenticatedCallbackThreshold:
        props.unauthenticatedCallbackThreshold ?? DEFAULTS.unauthenticatedCallbackThreshold,
    });
    this.alarmTopic = alarms.topic;
    this.alarms = alarms.alarms;
  }

  /**
   * Lets `grantee` call the status API: as an agent, its own requests (`/v1/agents/<its
   * ActionApprovalsAgentId tag>/requests…`); the function decides what a reviewer may read.
   */
  public grantStatus(grantee: iam.IGrantable): iam.Grant {
    return this.statusApi.grantStatus(grantee);
  }

  /** Lets `grantee` read and delete the outcome events of `agentId`, and nothing else's. */
  public grantOutcomes(grantee: iam.IGrantable, agentId: string): iam.Grant {
    return this.outcomes.grantConsume(grantee, agentId);
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

  /** Every Action Requested event starts the workflow, with retries and a dead-letter queue. */
  private startWorkflowOnRequests(): events.Rule {
    const ruleRole = new iam.Role(this, 'RequestRuleRole', {
      assumedBy: new iam.ServicePrincipal('events.amazonaws.com').withConditions({
        StringEquals: { 'aws:SourceAccount': Stack.of(this).account },
      }),
      description: 'Starts the action-approvals workflow for each Action Requested event',
      path: ROLE_PATH,
    });
    return new events.Rule(this, 'RequestRule', {
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
  }
}

const BUS_NAME: NameRule = {
  what: 'EventBridge event bus name',
  maxLength: 256,
  disallowed: /[^A-Za-z0-9._-]/g,
};

/** The data key and the receipt-signing key, both always retained: they decrypt and verify the audit trail. */
function keys(scope: Construct): [kms.Key, kms.Key] {
  const dataKey = new kms.Key(scope, 'DataKey', {
    description: 'action-approvals: tables, buckets, alarms topic and Athena results',
    enableKeyRotation: true,
    removalPolicy: RemovalPolicy.RETAIN,
  });
  const receiptKey = new kms.Key(scope, 'ReceiptKey', {
    description: 'action-approvals: signs approval receipts (ES256)',
    keySpec: kms.KeySpec.ECC_NIST_P256,
    keyUsage: kms.KeyUsage.SIGN_VERIFY,
    removalPolicy: RemovalPolicy.RETAIN,
  });
  return [dataKey, receiptKey];
}

function handlersOf(functions: ApprovalFunctions, api: DecisionApi): ActionApprovalsHandlers {
  return {
    evaluate: functions.evaluate,
    requestApproval: functions.requestApproval,
    expire: functions.expire,
    execute: functions.execute,
    fail: functions.fail,
    apiDecision: api.apiDecision,
    slackInteractions: api.slackInteractions,
    slackVotes: api.slackVotes,
    teamsMessages: api.teamsMessages,
  };
}

/** The Secrets Manager secrets the chat channels name. */
function chatSecrets(props: ActionApprovalsProps): string[] {
  return [props.slack?.botTokenSecret, props.slack?.signingSecret, props.teams?.appPasswordSecret].filter(
    (secret): secret is string => secret !== undefined,
  );
}
