import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type * as events from 'aws-cdk-lib/aws-events';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as scheduler from 'aws-cdk-lib/aws-scheduler';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type { ExecutionRoleClass } from './role-ceilings';
import type { DirectoryConfig } from '../lambdas/core/directory';
import type { ExecutionRoleSettings } from './execution-roles';
import type { HandlerFunction } from './handler-function';

/** The detail-type agents put on the bus to ask for an action. */
export const ACTION_REQUESTED = 'Action Requested';

/**
 * The principal tag that names an agent. An agent's role carries it (`ActionApprovalsAgentId =
 * reporting-bot`), and its IAM policy lets it put events only with `source: agent.<that tag>`.
 */
export const AGENT_ID_TAG = 'ActionApprovalsAgentId';

/** The source an agent may put requests with: `agent.` and the caller's own agent-id tag. */
export const AGENT_SOURCE_OF_CALLER = `agent.\${aws:PrincipalTag/${AGENT_ID_TAG}}`;

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
   * Name of the new bus (at most 256 of `A-Z a-z 0-9 . _ -`). Conflicts with `eventBus`.
   * @default - a name derived from the stack's name and the construct's path
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
   * `iam-admin`, `lambda-config`) and of the generic path (`generic-read`, `generic-change`):
   * disable a class, or narrow the resources it may ever reach.
   * @default - every class enabled, each on every resource of its type in this account (the
   * generic classes on every resource), except `data-read`, which reads only the buckets
   * `directory.environments.buckets` maps (and has no role when it maps none)
   */
  readonly executionRoles?: Readonly<Partial<Record<ExecutionRoleClass, ExecutionRoleSettings>>>;
  /**
   * Execution sessions issued before this instant stop working (an `aws:TokenIssueTime` deny on
   * every execution role): STS sessions last at least 15 minutes and cannot be revoked one by one.
   * @default - no revocation
   */
  readonly revokeSessionsIssuedBefore?: Date;
  /**
   * Workload accounts holding the member stack (`ActionApprovalsTarget`, deployed with StackSets:
   * docs/DEPLOY.md): an approved action on a resource whose ARN names one of them runs with that
   * account's execution role of its class, which only the execute function may assume.
   * @default - actions run in this account only
   */
  readonly targetAccounts?: readonly string[];
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
   * When archive objects move to S3 Glacier Instant Retrieval (same millisecond reads, about a
   * sixth of S3 Standard's storage price). They stay under Object Lock: a storage class change
   * keeps the object version, and with it its retention. Whole days.
   * @default Duration.days(90)
   */
  readonly archiveColdStorageAfter?: Duration;
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
  /** `POST /slack/interactions`, when Slack is configured: answers Slack and queues the click. */
  readonly slackInteractions?: HandlerFunction;
  /** Casts the clicks Slack's endpoint queued, when Slack is configured. */
  readonly slackVotes?: HandlerFunction;
  /** `POST /teams/messages`, when Teams is configured. */
  readonly teamsMessages?: HandlerFunction;
}

export const DEFAULTS = {
  maxApprovalTtl: Duration.hours(12),
  archiveRetention: Duration.days(365),
  archiveColdStorageAfter: Duration.days(90),
  exportRetention: Duration.days(90),
  apiThrottle: { rateLimit: 10, burstLimit: 20 },
  archiveLagThreshold: Duration.minutes(15),
  unauthenticatedCallbackThreshold: 10,
  logRetention: logs.RetentionDays.ONE_YEAR,
  removalPolicy: RemovalPolicy.RETAIN,
} as const;

/** Lambda allows 4 KB of environment variables per function; the rest of ours take about 1.5 KB. */
export const MAX_DIRECTORY_BYTES = 2_500;
