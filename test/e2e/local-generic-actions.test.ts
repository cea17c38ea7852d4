import { CreateTableCommand, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AwsPreviewReader } from '../../lambdas/adapters/preview-reader';
import { SdkCommandExecutor } from '../../lambdas/adapters/sdk-command-executor';
import { previewReadPolicy } from '../../lambdas/core/preview';
import { buildSessionPolicy, serializeSessionPolicy } from '../../lambdas/core/session-policy';
import { sdkOperationFor } from '../../lambdas/core/sdk-operations';
import type { SdkOperation } from '../../lambdas/core/sdk-operations';
import type { LocalEventBus } from '../../local/event-bus';
import { LocalGateway } from '../../local/gateway';
import type { LocalKms } from '../../local/local-kms';
import { LocalSts } from '../../local/local-sts';
import type { LocalQueues } from '../../local/queues';
import { DynamoDbLocalTables, InMemoryExportableTables } from '../../local/exportable-tables';
import { STAND_INS } from '../../local/stand-ins';
import { LocalTargets } from '../../local/targets';
import type { TaskTokens } from '../../local/task-tokens';
import { createTestTables, type TestTables } from '../support/dynamodb';

const ACCOUNT = '111122223333';
const NOW = new Date('2026-11-24T10:05:00.000Z');

function operation(action: string): SdkOperation {
  const mapped = sdkOperationFor(action);
  if (!mapped.ok) throw new Error(mapped.error.message);
  return mapped.value;
}

/** A gateway over `targets`; its bus, task tokens, queues and KMS play no part in these tests. */
async function startGateway(sts: LocalSts, targets: LocalTargets): Promise<LocalGateway> {
  const gateway = new LocalGateway({
    sts,
    targets,
    now: () => NOW,
    bus: {} as LocalEventBus,
    tokens: {} as TaskTokens,
    queues: {} as LocalQueues,
    kms: {} as LocalKms,
  });
  await gateway.start();
  return gateway;
}

/** A session the local STS minted with `policy`, as the execute and evaluate steps mint theirs. */
function mintedSession(sts: LocalSts, role: string, policy: string) {
  return sts.assumeRole(
    new URLSearchParams({
      RoleArn: `arn:aws:iam::${ACCOUNT}:role/action-approvals/${role}`,
      RoleSessionName: 'local-generic',
      DurationSeconds: '900',
      Policy: policy,
    }),
    NOW,
  );
}

/** The session the execute step mints for exactly this action on this resource. */
function executeSession(sts: LocalSts, action: string, resource: string, notAfter: string) {
  const policy = buildSessionPolicy({ operation: action, resource, notAfter });
  if (!policy.ok) throw new Error(policy.error.message);
  return mintedSession(sts, 'action-approvals-generic-change', serializeSessionPolicy(policy.value));
}

describe('Local mode: a DynamoDB action outside the catalog runs for real against DynamoDB Local', () => {
  let tables: TestTables;
  let gateway: LocalGateway;
  const sts = new LocalSts();
  const table = `orders-${Date.now()}`;
  const tableArn = `arn:aws:dynamodb:us-east-1:${ACCOUNT}:table/${table}`;

  beforeAll(async () => {
    tables = await createTestTables();
    await tables.client.send(
      new CreateTableCommand({
        TableName: table,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
      }),
    );
    const endpoint = process.env.DYNAMODB_LOCAL_ENDPOINT ?? '';
    gateway = await startGateway(
      sts,
      new LocalTargets(sts, new DynamoDbLocalTables(endpoint), mkdtempSync(join(tmpdir(), 'local-generic-'))),
    );
  });

  afterAll(() => gateway.stop());

  const sessionFor = (action: string, resource: string) =>
    executeSession(sts, action, resource, '2026-11-24T10:15:00Z');

  it('writes the item the approved PutItem names, authorized by the simulator', async () => {
    const executor = new SdkCommandExecutor({ defaultRegion: 'us-east-1', endpoint: gateway.url });
    const parameters = { TableName: table, Item: { id: { S: 'order-1' }, total: { N: '42' } } };

    const result = await executor.run(
      { operation: operation('dynamodb:PutItem'), resource: tableArn, parameters },
      sessionFor('dynamodb:PutItem', tableArn),
    );

    expect(result.ok).toBe(true);
    const stored = await tables.client.send(
      new GetItemCommand({ TableName: table, Key: { id: { S: 'order-1' } } }),
    );
    expect(stored.Item).toEqual({ id: { S: 'order-1' }, total: { N: '42' } });
  });

  it('refuses, as IAM would, an action the session does not allow', async () => {
    const executor = new SdkCommandExecutor({ defaultRegion: 'us-east-1', endpoint: gateway.url });

    const result = await executor.run(
      { operation: operation('dynamodb:DeleteTable'), resource: tableArn, parameters: { TableName: table } },
      sessionFor('dynamodb:PutItem', tableArn),
    );

    expect(result).toMatchObject({ ok: false, error: { name: 'AccessDeniedException' } });
  });
});

describe('Local mode: other services answer from honest stand-ins, after the simulator authorizes the call', () => {
  const sts = new LocalSts();
  const dataDir = mkdtempSync(join(tmpdir(), 'local-stand-ins-'));
  const targets = new LocalTargets(sts, new InMemoryExportableTables({}), dataDir);
  let gateway: LocalGateway;
  const REGION = 'eu-west-1';
  const groupArn = `arn:aws:ec2:${REGION}:${ACCOUNT}:security-group/sg-0123456789abcdef0`;
  const serviceArn = `arn:aws:ecs:${REGION}:${ACCOUNT}:service/web/checkout`;
  const NOT_AFTER = '2026-11-24T10:15:00Z';

  beforeAll(async () => {
    targets.securityGroups.add(
      {
        groupId: 'sg-0123456789abcdef0',
        groupName: 'web',
        description: 'web tier',
        vpcId: 'vpc-0abc',
        account: ACCOUNT,
        region: REGION,
      },
      [{ isEgress: false, ipProtocol: 'tcp', fromPort: 443, toPort: 443, cidrIpv4: '10.0.0.0/8' }],
    );
    targets.ecsServices.add({
      cluster: 'web',
      serviceName: 'checkout',
      taskDefinition: `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/checkout:41`,
      desiredCount: 2,
      account: ACCOUNT,
      region: REGION,
    });
    gateway = await startGateway(sts, targets);
  });

  afterAll(() => gateway.stop());

  const sessionFor = (action: string, resource: string) => executeSession(sts, action, resource, NOT_AFTER);

  const localExecutor = () =>
    new SdkCommandExecutor({ defaultRegion: REGION, endpoint: gateway.url, acceptStandInAnswers: true });

  it('adds an approved ingress rule to the in-memory security group and reports it simulated', async () => {
    const parameters = {
      GroupId: 'sg-0123456789abcdef0',
      IpPermissions: [
        { IpProtocol: 'tcp', FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: '192.0.2.0/24' }] },
      ],
    };

    const result = await localExecutor().run(
      { operation: operation('ec2:AuthorizeSecurityGroupIngress'), resource: groupArn, parameters },
      sessionFor('ec2:AuthorizeSecurityGroupIngress', groupArn),
    );

    expect(result).toMatchObject({
      ok: true,
      value: {
        simulated: { standIn: STAND_INS.securityGroups },
        delivered: {
          output: { Return: true, SecurityGroupRules: [{ CidrIpv4: '192.0.2.0/24', FromPort: 22 }] },
        },
      },
    });
    expect(targets.securityGroups.describeGroups(['sg-0123456789abcdef0'])[0]?.IpPermissions).toEqual([
      expect.objectContaining({ FromPort: 443, IpRanges: [{ CidrIp: '10.0.0.0/8' }] }),
      expect.objectContaining({ FromPort: 22, IpRanges: [{ CidrIp: '192.0.2.0/24' }] }),
    ]);
  });

  it('refuses, as IAM would, a rule change on a group the session does not name', async () => {
    const sibling = 'sg-0fedcba9876543210';
    targets.securityGroups.add({
      groupId: sibling,
      groupName: 'db',
      description: 'db tier',
      vpcId: 'vpc-0abc',
      account: ACCOUNT,
      region: REGION,
    });

    const result = await localExecutor().run(
      {
        operation: operation('ec2:RevokeSecurityGroupIngress'),
        resource: groupArn,
        parameters: {
          GroupId: sibling,
          IpPermissions: [{ IpProtocol: '-1', IpRanges: [{ CidrIp: '0.0.0.0/0' }] }],
        },
      },
      sessionFor('ec2:RevokeSecurityGroupIngress', groupArn),
    );

    expect(result).toMatchObject({ ok: false, error: { name: 'AccessDeniedException' } });
  });

  it('scales the in-memory ECS service and reports it simulated', async () => {
    const result = await localExecutor().run(
      {
        operation: operation('ecs:UpdateService'),
        resource: serviceArn,
        parameters: { cluster: 'web', service: 'checkout', desiredCount: 5 },
      },
      sessionFor('ecs:UpdateService', serviceArn),
    );

    expect(result).toMatchObject({
      ok: true,
      value: {
        simulated: { standIn: STAND_INS.ecsServices },
        delivered: { output: { service: { serviceArn, desiredCount: 5, runningCount: 5 } } },
      },
    });
    expect(targets.ecsServices.describe([serviceArn]).services[0]?.desiredCount).toBe(5);
  });

  it('answers a rule change on a group it does not hold with EC2’s own InvalidGroup.NotFound', async () => {
    const missingArn = `arn:aws:ec2:${REGION}:${ACCOUNT}:security-group/sg-00000000000000000`;

    const result = await localExecutor().run(
      {
        operation: operation('ec2:AuthorizeSecurityGroupIngress'),
        resource: missingArn,
        parameters: {
          GroupId: 'sg-00000000000000000',
          IpPermissions: [
            { IpProtocol: 'tcp', FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: '192.0.2.0/24' }] },
          ],
        },
      },
      sessionFor('ec2:AuthorizeSecurityGroupIngress', missingArn),
    );

    expect(result).toMatchObject({ ok: false, error: { name: 'InvalidGroup.NotFound' } });
  });

  it('answers a scale of a service it does not hold with ECS’s own ServiceNotFoundException', async () => {
    const missingArn = `arn:aws:ecs:${REGION}:${ACCOUNT}:service/web/absent`;

    const result = await localExecutor().run(
      {
        operation: operation('ecs:UpdateService'),
        resource: missingArn,
        parameters: { cluster: 'web', service: 'absent', desiredCount: 1 },
      },
      sessionFor('ecs:UpdateService', missingArn),
    );

    expect(result).toMatchObject({ ok: false, error: { name: 'ServiceNotFoundException' } });
  });

  it('shows the preview of a security group change and of an ECS scale from the stand-ins', async () => {
    const reader = new AwsPreviewReader({ defaultRegion: REGION, endpoint: gateway.url });
    const readSession = (operationName: string, resource: string, parameters: Record<string, unknown>) =>
      mintedSession(
        sts,
        'action-approvals-generic-read',
        JSON.stringify(previewReadPolicy(operationName, resource, parameters, NOT_AFTER)),
      );
    const sg = {
      operation: 'ec2:AuthorizeSecurityGroupEgress',
      resource: groupArn,
      parameters: {
        GroupId: 'sg-0123456789abcdef0',
        IpPermissions: [
          { IpProtocol: 'tcp', FromPort: 5432, ToPort: 5432, IpRanges: [{ CidrIp: '10.1.0.0/16' }] },
        ],
      },
    };
    const ecs = {
      operation: 'ecs:UpdateService',
      resource: serviceArn,
      parameters: { cluster: 'web', service: 'checkout', desiredCount: 0 },
    };

    const sgPreview = await reader.read(sg, readSession(sg.operation, sg.resource, sg.parameters));
    const ecsPreview = await reader.read(ecs, readSession(ecs.operation, ecs.resource, ecs.parameters));

    expect(sgPreview).toMatchObject({ status: 'available', kind: 'security-group-rules' });
    expect(ecsPreview).toMatchObject({
      status: 'available',
      kind: 'ecs-service',
      lines: [{ subject: 'desiredCount', after: '0' }],
      notes: ['scales the service to zero: it stops serving'],
    });
  });

  it('records a call of a service with no stand-in, authorized, and reports it simulated', async () => {
    const topic = `arn:aws:sns:${REGION}:${ACCOUNT}:deploys`;

    const result = await localExecutor().run(
      {
        operation: operation('sns:Publish'),
        resource: topic,
        parameters: { TopicArn: topic, Message: 'deployed' },
      },
      sessionFor('sns:Publish', topic),
    );

    expect(result).toMatchObject({ ok: true, value: { simulated: { standIn: STAND_INS.recorder } } });
    expect(targets.recorder.calls().at(-1)).toMatchObject({ action: 'sns:Publish', resource: topic });
  });

  it('writes an approved S3 object into the local folder for real, not simulated', async () => {
    const object = 'arn:aws:s3:::release-notes/2026/q4.txt';

    const result = await localExecutor().run(
      {
        operation: operation('s3:PutObject'),
        resource: object,
        parameters: { Bucket: 'release-notes', Key: '2026/q4.txt', Body: 'shipped' },
      },
      sessionFor('s3:PutObject', object),
    );

    expect(result).toMatchObject({ ok: true });
    expect(result.ok && result.value.simulated).toBeUndefined();
    expect(readFileSync(targets.pathOf('release-notes', '2026/q4.txt'), 'utf8')).toBe('shipped');
  });

  it('never reports a simulation from an executor not told to accept stand-in answers', async () => {
    const result = await new SdkCommandExecutor({ defaultRegion: REGION, endpoint: gateway.url }).run(
      {
        operation: operation('ecs:UpdateService'),
        resource: serviceArn,
        parameters: { cluster: 'web', service: 'checkout', desiredCount: 3 },
      },
      sessionFor('ecs:UpdateService', serviceArn),
    );

    expect(result).toMatchObject({
      ok: true,
      value: { delivered: { output: { service: { desiredCount: 3 } } } },
    });
    expect(result.ok && 'simulated' in result.value).toBe(false);
  });
});
