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
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { AwsPreviewReader, policyGrants } from '../../lambdas/adapters/preview-reader';
import type { SessionCredentials } from '../../lambdas/app/ports';

const lambda = mockClient(LambdaClient);
const iam = mockClient(IAMClient);
const ec2 = mockClient(EC2Client);
const ecs = mockClient(ECSClient);
const cloudformation = mockClient(CloudFormationClient);

const credentials: SessionCredentials = {
  accessKeyId: 'ASIAPREVIEW',
  secretAccessKey: 'preview-secret',
  sessionToken: 'preview-token',
  expiration: new Date('2030-01-01T00:15:00Z'),
};
const reader = new AwsPreviewReader({ defaultRegion: 'eu-west-1' });

beforeEach(() => {
  for (const client of [lambda, iam, ec2, ecs, cloudformation]) client.reset();
});

describe('Class: AwsPreviewReader', () => {
  it('reads the function configuration and compares it with the requested one', async () => {
    // Prepare
    const FUNCTION = 'arn:aws:lambda:eu-central-1:111122223333:function:billing';
    lambda.on(GetFunctionConfigurationCommand, { FunctionName: FUNCTION }).resolves({ MemorySize: 128 });

    // Act
    const preview = await reader.read(
      {
        operation: 'lambda:UpdateFunctionConfiguration',
        resource: FUNCTION,
        parameters: { MemorySize: 256 },
      },
      credentials,
    );

    // Assess
    expect(lambda).toHaveReceivedCommandWith(GetFunctionConfigurationCommand, { FunctionName: FUNCTION });
    expect(preview).toEqual({
      status: 'available',
      kind: 'lambda-configuration',
      lines: [{ subject: 'MemorySize', before: '128', after: '256' }],
      notes: [],
    });
  });

  it("reads the role's policies and summarises the policy's document by service and access level", async () => {
    // Prepare
    const POLICY = 'arn:aws:iam::111122223333:policy/reports-read';
    iam
      .on(ListAttachedRolePoliciesCommand, { RoleName: 'app', MaxItems: 100 })
      .resolves({ AttachedPolicies: [] });
    iam.on(GetPolicyCommand, { PolicyArn: POLICY }).resolves({ Policy: { DefaultVersionId: 'v3' } });
    iam.on(GetPolicyVersionCommand, { PolicyArn: POLICY, VersionId: 'v3' }).resolves({
      PolicyVersion: {
        Document: encodeURIComponent(
          JSON.stringify({
            Version: '2012-10-17',
            Statement: [{ Effect: 'Allow', Action: ['s3:GetObject', 's3:ListBucket'], Resource: '*' }],
          }),
        ),
      },
    });

    // Act
    const preview = await reader.read(
      {
        operation: 'iam:AttachRolePolicy',
        resource: 'arn:aws:iam::111122223333:role/service/app',
        parameters: { PolicyArn: POLICY },
      },
      credentials,
    );

    // Assess
    expect(preview).toEqual({
      status: 'available',
      kind: 'iam-policy-attachment',
      lines: [
        { subject: 'policies attached to app', before: '(none)', after: 'reports-read' },
        { subject: 'reports-read grants on s3', before: '(not attached)', after: 'List, Read' },
      ],
      notes: [],
    });
  });

  it("reads the security group's current rules", async () => {
    // Prepare
    ec2.on(DescribeSecurityGroupsCommand, { GroupIds: ['sg-0abc'] }).resolves({
      SecurityGroups: [{ IpPermissions: [] }],
    });

    // Act
    const preview = await reader.read(
      {
        operation: 'ec2:AuthorizeSecurityGroupIngress',
        resource: 'arn:aws:ec2:eu-west-1:111122223333:security-group/sg-0abc',
        parameters: {
          GroupId: 'sg-0abc',
          IpPermissions: [
            { IpProtocol: 'tcp', FromPort: 5432, ToPort: 5432, IpRanges: [{ CidrIp: '10.1.0.0/16' }] },
          ],
        },
      },
      credentials,
    );

    // Assess
    expect(preview).toEqual({
      status: 'available',
      kind: 'security-group-rules',
      lines: [{ subject: 'ingress tcp port 5432 from 10.1.0.0/16', before: 'not allowed', after: 'allowed' }],
      notes: [],
    });
  });

  it('reads the ECS service in its cluster', async () => {
    // Prepare
    const SERVICE = 'arn:aws:ecs:eu-west-1:111122223333:service/prod/checkout';
    ecs.on(DescribeServicesCommand, { cluster: 'prod', services: [SERVICE] }).resolves({
      services: [{ desiredCount: 2, taskDefinition: 'checkout:7' }],
    });

    // Act
    const preview = await reader.read(
      {
        operation: 'ecs:UpdateService',
        resource: SERVICE,
        parameters: { service: 'checkout', desiredCount: 4 },
      },
      credentials,
    );

    // Assess
    expect(preview).toEqual({
      status: 'available',
      kind: 'ecs-service',
      lines: [{ subject: 'desiredCount', before: '2', after: '4' }],
      notes: [],
    });
  });

  it('reads the change set the request executes', async () => {
    // Prepare
    const STACK = 'arn:aws:cloudformation:eu-west-1:111122223333:stack/web/0a1b2c3d';
    cloudformation.on(DescribeChangeSetCommand, { ChangeSetName: 'release-42', StackName: STACK }).resolves({
      ExecutionStatus: 'AVAILABLE',
      Changes: [
        { ResourceChange: { Action: 'Add', LogicalResourceId: 'Queue', ResourceType: 'AWS::SQS::Queue' } },
      ],
    });

    // Act
    const preview = await reader.read(
      {
        operation: 'cloudformation:ExecuteChangeSet',
        resource: STACK,
        parameters: { ChangeSetName: 'release-42' },
      },
      credentials,
    );

    // Assess
    expect(preview).toEqual({
      status: 'available',
      kind: 'cloudformation-change-set',
      lines: [{ subject: 'Queue (AWS::SQS::Queue)', before: '(absent)', after: 'added' }],
      notes: [],
    });
  });

  it('says the preview is unavailable, and why, when the state cannot be read', async () => {
    // Prepare
    ecs
      .on(DescribeServicesCommand)
      .rejects(Object.assign(new Error('not authorized'), { name: 'AccessDeniedException' }));

    // Act
    const preview = await reader.read(
      {
        operation: 'ecs:UpdateService',
        resource: 'arn:aws:ecs:eu-west-1:111122223333:service/prod/checkout',
        parameters: { desiredCount: 4 },
      },
      credentials,
    );

    // Assess
    expect(preview).toEqual({
      status: 'unavailable',
      reason: 'the current state could not be read (AccessDeniedException: not authorized)',
    });
  });

  it('has no preview for an action without a preview kind', async () => {
    await expect(
      reader.read(
        {
          operation: 'ec2:StopInstances',
          resource: 'arn:aws:ec2:eu-west-1:111122223333:instance/i-1',
          parameters: {},
        },
        credentials,
      ),
    ).resolves.toBeUndefined();
  });
});

describe('Function: policyGrants', () => {
  it('expands wildcards against IAM and names what access levels cannot say', async () => {
    await expect(
      policyGrants({
        Statement: [
          { Effect: 'Allow', Action: 'iam:*', Resource: 'arn:aws:iam::111122223333:role/app' },
          { Effect: 'Allow', NotAction: 's3:*', Resource: '*' },
          {
            Effect: 'Deny',
            Action: '*',
            Resource: '*',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          },
        ],
      }),
    ).resolves.toEqual({
      services: [
        { service: 'iam', accessLevels: ['List', 'Permissions management', 'Read', 'Tagging', 'Write'] },
      ],
      caveats: [
        '1 statement(s) allow everything except the actions they list (NotAction)',
        '1 Deny statement(s) narrow what is shown',
        '1 statement(s) apply to specific resources only',
      ],
    });
  });
});
