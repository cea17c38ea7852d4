import { CloudFormationClient, DescribeChangeSetCommand } from '@aws-sdk/client-cloudformation';
import { DescribeSecurityGroupsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { DescribeServicesCommand, ECSClient } from '@aws-sdk/client-ecs';
import {
  GetPolicyCommand,
  GetPolicyVersionCommand,
  IAMClient,
  ListAttachedRolePoliciesCommand,
} from '@aws-sdk/client-iam';
import { GetFunctionConfigurationCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { approvalCard } from '../../lambdas/core/card';
import { handler as evaluateHandler } from '../../lambdas/handlers/evaluate';
import { Runtime } from '../../lambdas/handlers/runtime';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../local/dynamodb-local';
import { ALLOW_EVERYTHING, isAllowed } from '../../local/iam-simulator';
import { createTestTables } from '../support/dynamodb';
import {
  actionRequested,
  evaluateTaskInput,
  directoryConfig,
  PRODUCTION_ACCOUNT,
  STAGING_ACCOUNT,
} from '../support/fixtures';

const evaluate = (event: unknown) => evaluateHandler(evaluateTaskInput(event));

const sts = mockClient(STSClient);
const lambda = mockClient(LambdaClient);
const iam = mockClient(IAMClient);
const ec2 = mockClient(EC2Client);
const ecs = mockClient(ECSClient);
const cloudformation = mockClient(CloudFormationClient);

const PREVIEW_ROLE = `arn:aws:iam::${PRODUCTION_ACCOUNT}:role/action-approvals/Approvals-PreviewRole`;
const STAGING_PREVIEW_ROLE = `arn:aws:iam::${STAGING_ACCOUNT}:role/action-approvals/action-approvals-preview`;
const NOW = new Date('2026-11-24T10:00:00.000Z');
// A preview session reads for two minutes at most, well before the 15-minute approval ends.
const NOT_AFTER = '2026-11-24T10:02:00.000Z';
const SESSION = {
  AccessKeyId: 'ASIAPREVIEW',
  SecretAccessKey: 'preview-secret',
  SessionToken: 'preview-token',
  Expiration: new Date('2026-11-24T10:15:00.000Z'),
};

let environment: Record<string, string>;

beforeAll(async () => {
  const tables = await createTestTables();
  environment = {
    AWS_REGION: LOCAL_REGION,
    AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
    AWS_ENDPOINT_URL_DYNAMODB: process.env.DYNAMODB_LOCAL_ENDPOINT ?? '',
    REQUESTS_TABLE_NAME: tables.requestsTable,
    AUDIT_TABLE_NAME: tables.auditTable,
    EVENT_BUS_NAME: 'action-approvals',
    DIRECTORY_JSON: JSON.stringify(directoryConfig),
    // As the construct sets them (lib/approval-functions.ts).
    PREVIEW_ROLE_ARN: PREVIEW_ROLE,
    PREVIEW_TARGET_ACCOUNTS_JSON: JSON.stringify({ [STAGING_ACCOUNT]: STAGING_PREVIEW_ROLE }),
  };
  Object.assign(process.env, environment);
});

beforeEach(() => {
  for (const client of [sts, lambda, iam, ec2, ecs, cloudformation]) client.reset();
  sts.on(AssumeRoleCommand).resolves({ Credentials: SESSION });
  // Only the clock is frozen: the SDK's and DynamoDB Local's timers run as usual.
  jest.useFakeTimers({
    now: NOW,
    doNotFake: [
      'nextTick',
      'setImmediate',
      'setTimeout',
      'setInterval',
      'queueMicrotask',
      'clearTimeout',
      'clearInterval',
      'clearImmediate',
      'hrtime',
      'performance',
    ],
  });
});

afterEach(() => {
  jest.useRealTimers();
});

/** The one AssumeRole request the preview sent, with its session policy parsed. */
function assumed() {
  expect(sts).toHaveReceivedCommandTimes(AssumeRoleCommand, 1);
  const { Policy, ...rest } = sts.commandCalls(AssumeRoleCommand)[0].args[0].input;
  return { ...rest, Policy: JSON.parse(Policy ?? 'null') as { Statement: unknown[] } };
}

const expiry = { DateLessThan: { 'aws:CurrentTime': NOT_AFTER } };

async function storedCard(requestId: string) {
  const record = await new Runtime(environment).stores.requests.get(requestId);
  if (!record) throw new Error(`${requestId} was not stored`);
  return approvalCard(record);
}

/** Whether the session policy the preview was minted with lets a role that may do anything do this. */
const sessionAllows = (policy: object, action: string, resource: string) =>
  isAllowed({
    identityPolicy: ALLOW_EVERYTHING,
    sessionPolicy: policy as { Statement: unknown },
    action,
    resource,
    currentTime: new Date('2026-11-24T10:01:00Z'),
  });

describe('Handler: evaluate, with preview roles', () => {
  it('previews a Lambda configuration change with a session that may read the function and nothing else', async () => {
    const FUNCTION = `arn:aws:lambda:eu-west-1:${PRODUCTION_ACCOUNT}:function:billing`;
    lambda.on(GetFunctionConfigurationCommand).resolves({ MemorySize: 128 });

    const result = await evaluate(
      actionRequested(
        {
          requestId: 'pv-lambda',
          operation: 'lambda:UpdateFunctionConfiguration',
          resource: FUNCTION,
          parameters: { MemorySize: 512 },
        },
        'deploy-bot',
      ),
    );

    expect(result).toMatchObject({ outcome: 'needs-approval' });
    expect(assumed()).toEqual({
      RoleArn: PREVIEW_ROLE,
      RoleSessionName: 'pv-lambda',
      DurationSeconds: 900,
      SourceIdentity: 'deploy-bot',
      Tags: [{ Key: 'RequestId', Value: 'pv-lambda' }],
      Policy: {
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'PreviewRead1',
            Effect: 'Allow',
            Action: ['lambda:GetFunctionConfiguration'],
            Resource: [FUNCTION],
            Condition: expiry,
          },
        ],
      },
    });
    expect(lambda).toHaveReceivedCommandTimes(GetFunctionConfigurationCommand, 1);
    expect(lambda).toHaveReceivedCommandWith(GetFunctionConfigurationCommand, { FunctionName: FUNCTION });
    const credentials = await lambda.call(0).thisValue.config.credentials();
    expect(credentials).toMatchObject({ accessKeyId: 'ASIAPREVIEW', sessionToken: 'preview-token' });
    await expect(sessionAllows(assumed().Policy, 'lambda:GetFunctionConfiguration', FUNCTION)).resolves.toBe(
      true,
    );
    await expect(
      sessionAllows(assumed().Policy, 'lambda:UpdateFunctionConfiguration', FUNCTION),
    ).resolves.toBe(false);
    expect((await storedCard('pv-lambda')).preview).toEqual({
      status: 'available',
      kind: 'lambda-configuration',
      lines: [{ subject: 'MemorySize', before: '128', after: '512' }],
      notes: [],
    });
  });

  it('previews a policy attachment with a session that may read the role’s policies and the policy, and attach nothing', async () => {
    const ROLE = `arn:aws:iam::${PRODUCTION_ACCOUNT}:role/app`;
    const POLICY = `arn:aws:iam::${PRODUCTION_ACCOUNT}:policy/reports-read`;
    iam.on(ListAttachedRolePoliciesCommand).resolves({ AttachedPolicies: [] });
    iam.on(GetPolicyCommand).resolves({ Policy: { DefaultVersionId: 'v2' } });
    iam.on(GetPolicyVersionCommand).resolves({
      PolicyVersion: {
        Document: encodeURIComponent(
          JSON.stringify({
            Version: '2012-10-17',
            Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: '*' }],
          }),
        ),
      },
    });

    await evaluate(
      actionRequested(
        {
          requestId: 'pv-iam',
          operation: 'iam:AttachRolePolicy',
          resource: ROLE,
          parameters: { PolicyArn: POLICY },
        },
        'deploy-bot',
      ),
    );

    expect(assumed()).toMatchObject({
      RoleArn: PREVIEW_ROLE,
      Policy: {
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'PreviewRead1',
            Effect: 'Allow',
            Action: ['iam:ListAttachedRolePolicies'],
            Resource: [ROLE],
            Condition: expiry,
          },
          {
            Sid: 'PreviewRead2',
            Effect: 'Allow',
            Action: ['iam:GetPolicy', 'iam:GetPolicyVersion'],
            Resource: [POLICY],
            Condition: expiry,
          },
        ],
      },
    });
    expect(iam).toHaveReceivedCommandWith(ListAttachedRolePoliciesCommand, {
      RoleName: 'app',
      MaxItems: 100,
    });
    expect(iam).toHaveReceivedCommandWith(GetPolicyCommand, { PolicyArn: POLICY });
    expect(iam).toHaveReceivedCommandWith(GetPolicyVersionCommand, { PolicyArn: POLICY, VersionId: 'v2' });
    await expect(sessionAllows(assumed().Policy, 'iam:GetPolicyVersion', POLICY)).resolves.toBe(true);
    await expect(sessionAllows(assumed().Policy, 'iam:AttachRolePolicy', ROLE)).resolves.toBe(false);
    expect((await storedCard('pv-iam')).preview).toMatchObject({
      status: 'available',
      kind: 'iam-policy-attachment',
      lines: [
        { subject: 'policies attached to app', before: '(none)', after: 'reports-read' },
        { subject: 'reports-read grants on s3', before: '(not attached)', after: 'Read' },
      ],
    });
  });

  it('previews a security group rule in a workload account with that account’s preview role', async () => {
    const GROUP = `arn:aws:ec2:eu-west-1:${STAGING_ACCOUNT}:security-group/sg-0abc`;
    ec2
      .on(DescribeSecurityGroupsCommand)
      .resolves({ SecurityGroups: [{ GroupId: 'sg-0abc', IpPermissions: [] }] });
    const IpPermissions = [
      { IpProtocol: 'tcp', FromPort: 443, ToPort: 443, IpRanges: [{ CidrIp: '0.0.0.0/0' }] },
    ];

    await evaluate(
      actionRequested(
        {
          requestId: 'pv-sg',
          operation: 'ec2:AuthorizeSecurityGroupIngress',
          resource: GROUP,
          parameters: { GroupId: 'sg-0abc', IpPermissions },
        },
        'deploy-bot',
      ),
    );

    expect(assumed()).toMatchObject({
      RoleArn: STAGING_PREVIEW_ROLE,
      SourceIdentity: 'deploy-bot',
      Policy: {
        Statement: [
          // DescribeSecurityGroups has no resource-level permission.
          {
            Sid: 'PreviewRead1',
            Effect: 'Allow',
            Action: ['ec2:DescribeSecurityGroups'],
            Resource: ['*'],
            Condition: expiry,
          },
        ],
      },
    });
    expect(ec2).toHaveReceivedCommandWith(DescribeSecurityGroupsCommand, { GroupIds: ['sg-0abc'] });
    await expect(sessionAllows(assumed().Policy, 'ec2:AuthorizeSecurityGroupIngress', GROUP)).resolves.toBe(
      false,
    );
    expect((await storedCard('pv-sg')).preview).toEqual({
      status: 'available',
      kind: 'security-group-rules',
      lines: [{ subject: 'ingress tcp port 443 from 0.0.0.0/0', before: 'not allowed', after: 'allowed' }],
      notes: ['opens sg-0abc to the whole internet: tcp port 443'],
    });
  });

  it('previews an ECS service update with a session that may describe that service only', async () => {
    const SERVICE = `arn:aws:ecs:eu-west-1:${PRODUCTION_ACCOUNT}:service/prod/checkout`;
    ecs
      .on(DescribeServicesCommand)
      .resolves({ services: [{ desiredCount: 2, taskDefinition: 'checkout:7' }] });

    await evaluate(
      actionRequested(
        {
          requestId: 'pv-ecs',
          operation: 'ecs:UpdateService',
          resource: SERVICE,
          parameters: { cluster: 'prod', service: 'checkout', desiredCount: 6 },
        },
        'deploy-bot',
      ),
    );

    expect(assumed()).toMatchObject({
      RoleArn: PREVIEW_ROLE,
      Policy: {
        Statement: [
          {
            Sid: 'PreviewRead1',
            Effect: 'Allow',
            Action: ['ecs:DescribeServices'],
            Resource: [SERVICE],
            Condition: expiry,
          },
        ],
      },
    });
    expect(ecs).toHaveReceivedCommandWith(DescribeServicesCommand, { cluster: 'prod', services: [SERVICE] });
    await expect(sessionAllows(assumed().Policy, 'ecs:UpdateService', SERVICE)).resolves.toBe(false);
    expect((await storedCard('pv-ecs')).preview).toEqual({
      status: 'available',
      kind: 'ecs-service',
      lines: [{ subject: 'desiredCount', before: '2', after: '6' }],
      notes: [],
    });
  });

  it('previews a change set with a session that may describe the stack’s change sets only', async () => {
    const STACK = `arn:aws:cloudformation:eu-west-1:${PRODUCTION_ACCOUNT}:stack/app/0f1e2d3c`;
    cloudformation.on(DescribeChangeSetCommand).resolves({
      ExecutionStatus: 'AVAILABLE',
      Changes: [
        { ResourceChange: { Action: 'Remove', LogicalResourceId: 'Queue', ResourceType: 'AWS::SQS::Queue' } },
      ],
    });

    await evaluate(
      actionRequested(
        {
          requestId: 'pv-cfn',
          operation: 'cloudformation:ExecuteChangeSet',
          resource: STACK,
          parameters: { ChangeSetName: 'cs-1', StackName: 'app' },
        },
        'deploy-bot',
      ),
    );

    expect(assumed()).toMatchObject({
      RoleArn: PREVIEW_ROLE,
      Policy: {
        Statement: [
          {
            Sid: 'PreviewRead1',
            Effect: 'Allow',
            Action: ['cloudformation:DescribeChangeSet'],
            Resource: [STACK],
            Condition: expiry,
          },
        ],
      },
    });
    expect(cloudformation).toHaveReceivedCommandWith(DescribeChangeSetCommand, {
      ChangeSetName: 'cs-1',
      StackName: 'app',
    });
    await expect(sessionAllows(assumed().Policy, 'cloudformation:ExecuteChangeSet', STACK)).resolves.toBe(
      false,
    );
    expect((await storedCard('pv-cfn')).preview).toEqual({
      status: 'available',
      kind: 'cloudformation-change-set',
      lines: [{ subject: 'Queue (AWS::SQS::Queue)', before: 'present', after: 'removed' }],
      notes: ['1 resource(s) removed'],
    });
  });

  it('goes on without a preview when no read-only session can be minted, and the card says why', async () => {
    sts
      .on(AssumeRoleCommand)
      .rejects(
        Object.assign(new Error('not authorized to perform sts:AssumeRole'), { name: 'AccessDenied' }),
      );

    const result = await evaluate(
      actionRequested(
        {
          requestId: 'pv-denied',
          operation: 'ecs:UpdateService',
          resource: `arn:aws:ecs:eu-west-1:${PRODUCTION_ACCOUNT}:service/prod/checkout`,
          parameters: { desiredCount: 6 },
        },
        'deploy-bot',
      ),
    );

    expect(result).toMatchObject({ outcome: 'needs-approval' });
    expect(ecs).toHaveReceivedCommandTimes(DescribeServicesCommand, 0);
    expect((await storedCard('pv-denied')).preview).toEqual({
      status: 'unavailable',
      reason: 'no read-only session could be minted (AccessDenied: not authorized to perform sts:AssumeRole)',
    });
  });

  it('goes on without a preview when the read fails, and the card says why', async () => {
    ecs
      .on(DescribeServicesCommand)
      .rejects(Object.assign(new Error('User is not authorized'), { name: 'AccessDeniedException' }));

    await evaluate(
      actionRequested(
        {
          requestId: 'pv-read-failed',
          operation: 'ecs:UpdateService',
          resource: `arn:aws:ecs:eu-west-1:${PRODUCTION_ACCOUNT}:service/prod/checkout`,
          parameters: { desiredCount: 6 },
        },
        'deploy-bot',
      ),
    );

    expect((await storedCard('pv-read-failed')).preview).toEqual({
      status: 'unavailable',
      reason: 'the current state could not be read (AccessDeniedException: User is not authorized)',
    });
  });

  it('mints no session for an action without a preview', async () => {
    await evaluate(
      actionRequested(
        {
          requestId: 'pv-none',
          operation: 'ecs:DeleteService',
          resource: `arn:aws:ecs:eu-west-1:${PRODUCTION_ACCOUNT}:service/prod/checkout`,
          parameters: { cluster: 'prod', service: 'checkout' },
        },
        'deploy-bot',
      ),
    );

    expect(sts).toHaveReceivedCommandTimes(AssumeRoleCommand, 0);
    expect((await storedCard('pv-none')).preview).toBeUndefined();
  });
});
