import { RemovalPolicy } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { REQUESTS_BY_AGENT_INDEX } from '../../lambdas/adapters/tables';
import { StatusApi } from '../../lib/status-api';
import { logicalIdOf, resourcesOfType, testStack } from './deploy';

function statusStack() {
  const stack = testStack();
  const key = new kms.Key(stack, 'Key');
  const requests = new dynamodb.Table(stack, 'Requests', {
    partitionKey: { name: 'requestId', type: dynamodb.AttributeType.STRING },
    encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
    encryptionKey: key,
  });
  const audit = new dynamodb.Table(stack, 'Audit', {
    partitionKey: { name: 'requestId', type: dynamodb.AttributeType.STRING },
    sortKey: { name: 'seq', type: dynamodb.AttributeType.NUMBER },
    encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
    encryptionKey: key,
  });
  const httpApi = new apigwv2.HttpApi(stack, 'Api', { createDefaultStage: false });
  const stage = new apigwv2.HttpStage(stack, 'Stage', { httpApi, stageName: '$default', autoDeploy: true });
  const status = new StatusApi(stack, 'Status', {
    httpApi,
    stage,
    requestsTable: requests,
    auditTable: audit,
    dataKey: key,
    environment: {
      REQUESTS_TABLE_NAME: requests.tableName,
      AUDIT_TABLE_NAME: audit.tableName,
      EVENT_BUS_NAME: 'action-approvals',
      DIRECTORY_JSON: '{}',
    },
    agentIdTag: 'ActionApprovalsAgentId',
    logRetention: logs.RetentionDays.ONE_YEAR,
    removalPolicy: RemovalPolicy.DESTROY,
  });
  const agentRole = new iam.Role(stack, 'AgentRole', { assumedBy: new iam.AccountRootPrincipal() });
  status.grantStatus(agentRole);
  return { stack, status, template: Template.fromStack(stack), ids: { requests, audit, key, agentRole } };
}

const { stack, status, template, ids } = statusStack();
const logicalId = (construct: { node: { defaultChild?: unknown } }) => logicalIdOf(stack, construct);

function policyStatementsOf(
  roleLogicalId: string,
): { Action: string | string[]; Resource: unknown; Condition?: unknown }[] {
  return Object.values(resourcesOfType(template, 'AWS::IAM::Policy'))
    .filter((policy) =>
      ((policy.Properties?.Roles ?? []) as { Ref: string }[]).some((role) => role.Ref === roleLogicalId),
    )
    .flatMap(
      (policy) =>
        (
          policy.Properties?.PolicyDocument as {
            Statement: { Action: string | string[]; Resource: unknown }[];
          }
        ).Statement,
    );
}

const jsonOf = (value: unknown) => JSON.stringify(stack.resolve(value));

describe('StatusApi', () => {
  it('adds the four GET routes, each IAM-authorized', () => {
    const routes = Object.values(resourcesOfType(template, 'AWS::ApiGatewayV2::Route')).map((route) => ({
      key: route.Properties?.RouteKey,
      auth: route.Properties?.AuthorizationType,
    }));

    expect(routes).toEqual(
      expect.arrayContaining([
        { key: 'GET /v1/agents/{agentId}/requests', auth: 'AWS_IAM' },
        { key: 'GET /v1/agents/{agentId}/requests/{id}', auth: 'AWS_IAM' },
        { key: 'GET /v1/requests', auth: 'AWS_IAM' },
        { key: 'GET /v1/requests/{id}', auth: 'AWS_IAM' },
      ]),
    );
    expect(routes).toHaveLength(4);
  });

  it('gives the status function read-only access: GetItem on Requests, Query on its by-agent index and the audit log', () => {
    const statements = policyStatementsOf(logicalId(status.handler.role)).map((statement) => ({
      actions: ([] as string[]).concat(statement.Action),
      resource: jsonOf(statement.Resource),
    }));

    expect(statements.flatMap((statement) => statement.actions).sort()).toEqual([
      'dynamodb:GetItem',
      'dynamodb:Query',
      'dynamodb:Query',
      'kms:Decrypt',
      'kms:DescribeKey',
      'logs:CreateLogStream',
      'logs:PutLogEvents',
      'xray:PutTelemetryRecords',
      'xray:PutTraceSegments',
    ]);
    const queryResources = statements
      .filter((statement) => statement.actions.includes('dynamodb:Query'))
      .map((statement) => statement.resource);
    expect(queryResources.join()).toContain(`/index/${REQUESTS_BY_AGENT_INDEX.indexName}`);
    expect(queryResources.join()).toContain(logicalId(ids.audit));
  });

  it('uses the tables’ key only through DynamoDB', () => {
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: ['kms:Decrypt', 'kms:DescribeKey'],
            Condition: { StringEquals: { 'kms:ViaService': 'dynamodb.eu-west-1.amazonaws.com' } },
          }),
        ]),
      },
    });
  });

  it('adds to the Requests table an index by agent that leaves out the task token', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      GlobalSecondaryIndexes: [
        {
          IndexName: 'by-agent',
          KeySchema: [
            { AttributeName: 'agentId', KeyType: 'HASH' },
            { AttributeName: 'createdAt', KeyType: 'RANGE' },
          ],
          Projection: {
            ProjectionType: 'INCLUDE',
            NonKeyAttributes: Match.not(Match.arrayWith(['taskToken'])),
          },
        },
      ],
    });
  });

  it('grants an agent GET only on routes pinned to its ActionApprovalsAgentId tag, and on /v1/requests', () => {
    const statements = policyStatementsOf(logicalId(ids.agentRole));
    const resources = statements.map((statement) => jsonOf(statement.Resource));

    expect(statements.every((statement) => statement.Action === 'execute-api:Invoke')).toBe(true);
    expect(resources[0]).toContain('/GET/v1/agents/${aws:PrincipalTag/ActionApprovalsAgentId}/requests"');
    expect(resources[0]).toContain('/GET/v1/agents/${aws:PrincipalTag/ActionApprovalsAgentId}/requests/*"');
    expect(statements[0].Condition).toEqual({ Null: { 'aws:PrincipalTag/ActionApprovalsAgentId': 'false' } });
    expect(resources[1]).toContain('/GET/v1/requests"');
    expect(resources[1]).toContain('/GET/v1/requests/*"');
    expect(resources.join()).not.toMatch(/\/(POST|\*)\//);
  });
});
