import { Stack, type RemovalPolicy } from 'aws-cdk-lib';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { REQUESTS_BY_AGENT_INDEX } from '../lambdas/adapters/tables';
import { HandlerFunction } from './handler-function';

/** The status API's routes. The `agents/{agentId}` ones are pinned to the caller's tag by `grantStatus`. */
export const STATUS_ROUTES = {
  agentRequests: '/v1/agents/{agentId}/requests',
  agentRequest: '/v1/agents/{agentId}/requests/{id}',
  requests: '/v1/requests',
  request: '/v1/requests/{id}',
} as const;

export interface StatusApiProps {
  /** The API the routes are added to. */
  readonly httpApi: apigwv2.HttpApi;
  /** The stage callers reach, for the ARNs `grantStatus` grants. */
  readonly stage: apigwv2.IStage;
  /**
   * The Requests table. The by-agent index the status function lists from
   * (`REQUESTS_BY_AGENT_INDEX`) is added to it here.
   */
  readonly requestsTable: dynamodb.Table;
  /** The AuditLog table: an executed request's receipt is read from its chain. */
  readonly auditTable: dynamodb.ITable;
  /** The key both tables are encrypted with. */
  readonly dataKey: kms.IKey;
  /**
   * What every handler reads (see `lambdas/handlers/runtime.ts`): the table names, the bus name
   * and `DIRECTORY_JSON`, whose reviewers and agents' `iamPrincipalArns` say who may read what.
   */
  readonly environment: Readonly<Record<string, string>>;
  /** The principal tag naming an agent (`ActionApprovalsAgentId`). */
  readonly agentIdTag: string;
  readonly logRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
}

/**
 * `GET` status routes on the HTTP API, IAM-authorized, served by one read-only function: an agent
 * reads its own requests, a reviewer the requests they may decide.
 */
export class StatusApi extends Construct {
  /** The status function, its role and log group. */
  public readonly handler: HandlerFunction;

  constructor(
    scope: Construct,
    id: string,
    private readonly props: StatusApiProps,
  ) {
    super(scope, id);
    props.requestsTable.addGlobalSecondaryIndex({
      indexName: REQUESTS_BY_AGENT_INDEX.indexName,
      partitionKey: { name: REQUESTS_BY_AGENT_INDEX.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: REQUESTS_BY_AGENT_INDEX.sortKey, type: dynamodb.AttributeType.STRING },
      projectionType: dynamodb.ProjectionType.INCLUDE,
      nonKeyAttributes: [...REQUESTS_BY_AGENT_INDEX.projectedAttributes],
    });

    this.handler = new HandlerFunction(this, 'Status', {
      handler: 'status',
      description: 'action-approvals: the status of requests, for their agents and reviewers',
      environment: props.environment,
      evaluatesPolicy: false,
      logRetention: props.logRetention,
      removalPolicy: props.removalPolicy,
    });
    const { role } = this.handler;
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ReadRequests',
        actions: ['dynamodb:GetItem'],
        resources: [props.requestsTable.tableArn],
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ListRequestsByAgent',
        actions: ['dynamodb:Query'],
        resources: [`${props.requestsTable.tableArn}/index/${REQUESTS_BY_AGENT_INDEX.indexName}`],
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ReadReceipts',
        actions: ['dynamodb:Query'],
        resources: [props.auditTable.tableArn],
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'TableKeyThroughDynamoDB',
        actions: ['kms:Decrypt', 'kms:DescribeKey'],
        resources: [props.dataKey.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': `dynamodb.${Stack.of(this).region}.amazonaws.com` } },
      }),
    );

    const integration = new HttpLambdaIntegration('Status', this.handler.function);
    for (const path of Object.values(STATUS_ROUTES)) {
      props.httpApi.addRoutes({
        path,
        methods: [apigwv2.HttpMethod.GET],
        integration,
        authorizer: new HttpIamAuthorizer(),
      });
    }
  }

  /**
   * Lets `grantee` read request statuses: as an agent, its own, on routes whose agent id IAM pins
   * to its `ActionApprovalsAgentId` principal tag (as `PutEvents` is pinned); on
   * `/v1/requests…`, what the directory lets its principal ARN read (a reviewer, the requests they
   * may decide). The function refuses any caller it cannot place.
   */
  public grantStatus(grantee: iam.IGrantable): iam.Grant {
    const { httpApi, stage, agentIdTag } = this.props;
    const arn = (path: string) => httpApi.arnForExecuteApi('GET', path, stage.stageName);
    const ownAgent = `/v1/agents/\${aws:PrincipalTag/${agentIdTag}}/requests`;
    const asAgent = iam.Grant.addToPrincipal({
      grantee,
      actions: ['execute-api:Invoke'],
      resourceArns: [arn(ownAgent), arn(`${ownAgent}/*`)],
      conditions: { Null: { [`aws:PrincipalTag/${agentIdTag}`]: 'false' } },
    });
    const asDirectoryPrincipal = iam.Grant.addToPrincipal({
      grantee,
      actions: ['execute-api:Invoke'],
      resourceArns: [arn(STATUS_ROUTES.requests), arn('/v1/requests/*')],
    });
    return asAgent.combine(asDirectoryPrincipal);
  }
}
