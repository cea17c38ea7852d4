import { Duration, type RemovalPolicy } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import type { ApprovalFunctions } from './approval-functions';
import { grantSecret } from './approval-functions';
import type { ApprovalTables } from './approval-tables';
import type { HandlerFunction } from './handler-function';
import { acknowledge } from './nag';
import {
  CALLBACK_METRICS,
  ROUTES,
  type ApiThrottleSettings,
  type SlackSettings,
  type TeamsSettings,
} from './props';

export interface DecisionApiProps {
  readonly functions: ApprovalFunctions;
  readonly tables: ApprovalTables;
  readonly eventBus: events.IEventBus;
  readonly slack?: SlackSettings;
  readonly teams?: TeamsSettings;
  readonly throttle: ApiThrottleSettings;
  readonly logRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
}

/**
 * Where votes come in: the HTTP API and its throttled, access-logged stage, the IAM-authorized
 * decision route, the Slack and Teams routes when configured, the functions behind them, their
 * grants, and the cdk-nag acknowledgements of the routes that authenticate their caller in code.
 * A part of `ActionApprovals` that creates everything in the construct's own scope (the ids, and
 * so the logical ids, are the ones deployed).
 */
export class DecisionApi {
  /** `POST /v1/requests/{id}/decision` (IAM-authorized). */
  public readonly apiDecision: HandlerFunction;
  /**
   * `POST /slack/interactions`, when Slack is configured: verifies the signature, remembers the
   * click and queues it for `slackVotes`, then answers. It cannot vote.
   */
  public readonly slackInteractions?: HandlerFunction;
  /** Casts the queued Slack clicks: the vote, the workflow, the cards. */
  public readonly slackVotes?: HandlerFunction;
  /** Where Slack's endpoint leaves clicks for `slackVotes`; only its role may send to it. */
  public readonly slackVoteQueue?: sqs.Queue;
  /** Clicks `slackVotes` failed on five times. */
  public readonly slackVoteDeadLetters?: sqs.Queue;
  /** `POST /teams/messages`, when Teams is configured. */
  public readonly teamsMessages?: HandlerFunction;
  /** The HTTP API. */
  public readonly httpApi: apigwv2.HttpApi;
  /** Its throttled stage, with access logs. */
  public readonly stage: apigwv2.HttpStage;

  constructor(
    private readonly scope: Construct,
    private readonly props: DecisionApiProps,
  ) {
    const { functions, slack, teams } = props;
    const environment = { ...functions.runtimeEnvironment, ...functions.chatEnvironment };
    // Endpoints answer people (Slack wants an answer within 3 s): more memory, shorter cold starts.
    const endpoint = { memorySize: 1024, timeout: Duration.seconds(10) };
    // Where the chat endpoints count refused callbacks (Powertools Metrics reads these).
    const callbackMetrics = {
      POWERTOOLS_METRICS_NAMESPACE: CALLBACK_METRICS.namespace,
      POWERTOOLS_SERVICE_NAME: CALLBACK_METRICS.service,
    };
    this.apiDecision = functions.handler('ApiDecision', {
      handler: 'api-decision',
      description: 'action-approvals: POST /v1/requests/{id}/decision (IAM-authorized)',
      environment,
      ...endpoint,
    });
    if (slack) {
      const votes = this.slackVotePath(slack, environment, endpoint, callbackMetrics);
      this.slackInteractions = votes.endpoint;
      this.slackVotes = votes.worker;
      this.slackVoteQueue = votes.queue;
      this.slackVoteDeadLetters = votes.deadLetters;
    }
    this.teamsMessages = teams
      ? functions.handler('TeamsMessages', {
          handler: 'teams-messages',
          description: 'action-approvals: Microsoft Teams bot messaging endpoint',
          environment: { ...environment, ...callbackMetrics },
          ...endpoint,
        })
      : undefined;
    this.grantDecisionPath();

    this.httpApi = new apigwv2.HttpApi(scope, 'Api', {
      description: 'action-approvals: reviewers’ votes from Slack, Teams and the IAM-authorized API',
      createDefaultStage: false,
    });
    this.stage = this.throttledStage();
    this.addRoutes();
  }

  /** The functions that record votes and resume the workflow. */
  public decisionPath(): HandlerFunction[] {
    return [this.apiDecision, this.slackVotes, this.teamsMessages].filter(
      (fn): fn is HandlerFunction => fn !== undefined,
    );
  }

  private grantDecisionPath(): void {
    const { tables, functions, eventBus } = this.props;
    const decisionPath = this.decisionPath();
    for (const fn of decisionPath) tables.grantItems(fn, tables.requests, ['GetItem', 'PutItem']);
    for (const fn of decisionPath) tables.grantItems(fn, tables.auditLog, ['PutItem']);
    if (this.slackVotes) {
      // The worker verifies Slack's signature again and remembers the votes it cast.
      grantIdempotency(tables, this.slackVotes);
      grantSecret(this.slackVotes, this.props.slack?.signingSecret);
    }
    for (const fn of decisionPath) functions.grantChatSecrets(fn);
    for (const fn of decisionPath) {
      fn.role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: 'PublishApprovals',
          actions: ['events:PutEvents'],
          resources: [eventBus.eventBusArn],
        }),
      );
      fn.allowOnAnyResource(
        'ResumeWorkflow',
        ['states:SendTaskSuccess', 'states:SendTaskFailure'],
        'states:SendTaskSuccess and SendTaskFailure support no resource-level permissions; only the decision path (this function) holds them, and it resumes a task only with a token read from the Requests table.',
      );
    }
  }

  /**
   * Slack's endpoint, the queue behind it and the vote worker. The endpoint may read requests (to
   * show their parameters), record malformed callbacks, remember clicks and send to the queue;
   * it holds nothing that votes. The queue's policy denies SendMessage to every other principal,
   * and the worker casts only what carries Slack's signature, so nothing else can vote.
   */
  private slackVotePath(
    slack: SlackSettings,
    environment: Readonly<Record<string, string>>,
    endpointSettings: { memorySize: number; timeout: Duration },
    callbackMetrics: Readonly<Record<string, string>>,
  ) {
    const { functions, tables, removalPolicy } = this.props;
    const workerTimeout = Duration.seconds(30);
    const deadLetters = new sqs.Queue(this.scope, 'SlackVoteDeadLetters', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      removalPolicy,
    });
    // cdk-nag sees it is the vote queue's dead-letter queue: no acknowledgement needed.
    const queue = new sqs.Queue(this.scope, 'SlackVoteQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      // Six times the worker's timeout, as Lambda's SQS event source asks: a job is not received
      // again while an invocation may still be casting it.
      visibilityTimeout: Duration.seconds(workerTimeout.toSeconds() * 6),
      deadLetterQueue: { queue: deadLetters, maxReceiveCount: SLACK_VOTE_MAX_RECEIVES },
      removalPolicy,
    });
    const worker = functions.handler('SlackVotes', {
      handler: 'slack-votes',
      description: 'action-approvals: casts the Slack clicks its endpoint queued',
      environment: {
        ...environment,
        SLACK_SIGNING_SECRET_ID: slack.signingSecret,
        IDEMPOTENCY_TABLE_NAME: tables.idempotency.tableName,
        ...callbackMetrics,
      },
      memorySize: endpointSettings.memorySize,
      timeout: workerTimeout,
    });
    worker.function.addEventSource(
      new SqsEventSource(queue, { batchSize: 10, reportBatchItemFailures: true }),
    );

    const endpoint = functions.handler('SlackInteractions', {
      handler: 'slack-interactions',
      description: 'action-approvals: Slack interactivity endpoint (answers, then queues the click)',
      environment: {
        REQUESTS_TABLE_NAME: tables.requests.tableName,
        AUDIT_TABLE_NAME: tables.auditLog.tableName,
        IDEMPOTENCY_TABLE_NAME: tables.idempotency.tableName,
        SLACK_CHANNEL_ID: slack.channelId,
        SLACK_BOT_TOKEN_SECRET_ID: slack.botTokenSecret,
        SLACK_SIGNING_SECRET_ID: slack.signingSecret,
        SLACK_VOTES_QUEUE_URL: queue.queueUrl,
        ...callbackMetrics,
      },
      ...endpointSettings,
    });
    tables.grantItems(endpoint, tables.requests, ['GetItem']);
    tables.grantItems(endpoint, tables.auditLog, ['PutItem']);
    grantIdempotency(tables, endpoint);
    grantSecret(endpoint, slack.signingSecret);
    // The bot token opens the parameters modal only; a vote never reads it.
    grantSecret(endpoint, slack.botTokenSecret);
    queue.grantSendMessages(endpoint.role);
    queue.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'OnlySlackEndpointSends',
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: ['sqs:SendMessage'],
        resources: [queue.queueArn],
        conditions: { ArnNotEquals: { 'aws:PrincipalArn': endpoint.role.roleArn } },
      }),
    );
    return { endpoint, worker, queue, deadLetters };
  }

  private throttledStage(): apigwv2.HttpStage {
    const { logRetention, removalPolicy, throttle } = this.props;
    const accessLogs = new logs.LogGroup(this.scope, 'ApiAccessLogs', {
      retention: logRetention,
      removalPolicy,
    });
    return new apigwv2.HttpStage(this.scope, 'ApiStage', {
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
  }

  private addRoutes(): void {
    this.httpApi.addRoutes({
      path: ROUTES.decision,
      methods: [apigwv2.HttpMethod.POST],
      integration: new HttpLambdaIntegration('Decision', this.apiDecision.function),
      authorizer: new HttpIamAuthorizer(),
    });
    if (this.slackInteractions) {
      const [route] = this.httpApi.addRoutes({
        path: ROUTES.slack,
        methods: [apigwv2.HttpMethod.POST],
        integration: new HttpLambdaIntegration('Slack', this.slackInteractions.function),
      });
      acknowledge(route, [
        {
          id: 'AwsSolutions-APIG4',
          reason:
            'Slack cannot sign requests with SigV4 or present a JWT; the function verifies Slack’s v0 HMAC signature and refuses timestamps older than 5 minutes.',
        },
      ]);
    }
    if (this.teamsMessages) {
      const [route] = this.httpApi.addRoutes({
        path: ROUTES.teams,
        methods: [apigwv2.HttpMethod.POST],
        integration: new HttpLambdaIntegration('Teams', this.teamsMessages.function),
      });
      acknowledge(route, [
        {
          id: 'AwsSolutions-APIG4',
          reason:
            'The Bot Framework sends its own JWT, whose issuer and keys an API Gateway JWT authorizer cannot pin to the serviceUrl claim; the function validates it against the Bot Framework’s OpenID metadata.',
        },
      ]);
    }
  }
}

/** Receives of a Slack click before it is dead-lettered (the worker accepts it for an hour). */
export const SLACK_VOTE_MAX_RECEIVES = 5;

/** Powertools' idempotency record: put in progress, read, complete, and delete on failure. */
function grantIdempotency(tables: ApprovalTables, fn: HandlerFunction): void {
  tables.grantItems(fn, tables.idempotency, ['GetItem', 'PutItem', 'UpdateItem', 'DeleteItem']);
}

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
