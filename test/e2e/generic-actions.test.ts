import { mockClient } from 'aws-sdk-client-mock';
import { IamDataReference } from '../../lambdas/adapters/iam-reference';
import { SdkActionExecutor } from '../../lambdas/adapters/executors';
import { LocalSigner } from '../../lambdas/adapters/local-signer';
import { loadPolicySources } from '../../lambdas/adapters/policy-files';
import { DynamoRequestsStore } from '../../lambdas/adapters/requests-store';
import { SdkCommandExecutor } from '../../lambdas/adapters/sdk-command-executor';
import { slackApprovalMessage } from '../../lambdas/adapters/slack-blocks';
import type { AssumeForActionInput, SessionCredentials } from '../../lambdas/app/ports';
import { logger } from '../../lambdas/adapters/logger';
import { teamsApprovalCard } from '../../lambdas/adapters/teams-cards';
import { executeApproved, type ExecuteDeps } from '../../lambdas/app/execute';
import { approvalCard, displayRefusal } from '../../lambdas/core/card';
import type { RequestRecord } from '../../lambdas/core/lifecycle';
import { PolicyEngine } from '../../lambdas/core/policy';
import { parseActionRequest } from '../../lambdas/core/request';
import { SDK_SERVICES, sdkOperationFor } from '../../lambdas/core/sdk-operations';
import type { SessionPolicyDocument } from '../../lambdas/core/session-policy';
import { ALLOW_EVERYTHING, isAllowed, trustAccount } from '../../local/iam-simulator';
import { createTestTables, type TestTables } from '../support/dynamodb';

const ACCOUNT = '111122223333';
const REGION = 'eu-west-1';
const NOW = new Date('2026-11-24T10:05:00.000Z');
const at = (prefix: string) => `arn:aws:${prefix}:${REGION}:${ACCOUNT}`;

/** One action of every shipped service: what the agent asks, a sibling resource, another action. */
interface Case {
  readonly operation: string;
  readonly resource: string;
  readonly parameters: Record<string, unknown>;
  readonly sibling: string;
  readonly otherAction: string;
}

const CASES: readonly Case[] = [
  {
    operation: 'autoscaling:SetDesiredCapacity',
    resource: `${at('autoscaling')}:autoScalingGroup:1234abcd-12ab-34cd-56ef-1234567890ab:autoScalingGroupName/web`,
    parameters: { AutoScalingGroupName: 'web', DesiredCapacity: 4 },
    sibling: `${at('autoscaling')}:autoScalingGroup:1234abcd-12ab-34cd-56ef-1234567890ab:autoScalingGroupName/api`,
    otherAction: 'autoscaling:DeleteAutoScalingGroup',
  },
  {
    operation: 'cloudformation:ExecuteChangeSet',
    resource: `${at('cloudformation')}:stack/web/0a1b2c3d-1111-2222-3333-444455556666`,
    parameters: { ChangeSetName: 'release-42', StackName: 'web' },
    sibling: `${at('cloudformation')}:stack/api/0a1b2c3d-1111-2222-3333-444455556666`,
    otherAction: 'cloudformation:DeleteStack',
  },
  {
    operation: 'cloudwatch:SetAlarmState',
    resource: `${at('cloudwatch')}:alarm:HighCPU`,
    parameters: { AlarmName: 'HighCPU', StateValue: 'OK', StateReason: 'maintenance window' },
    sibling: `${at('cloudwatch')}:alarm:DiskFull`,
    otherAction: 'cloudwatch:DeleteAlarms',
  },
  {
    operation: 'dynamodb:UpdateTable',
    resource: `${at('dynamodb')}:table/orders`,
    parameters: { TableName: 'orders', BillingMode: 'PAY_PER_REQUEST' },
    sibling: `${at('dynamodb')}:table/payments`,
    otherAction: 'dynamodb:DeleteTable',
  },
  {
    operation: 'ec2:StopInstances',
    resource: `${at('ec2')}:instance/i-0abc1234def567890`,
    parameters: { InstanceIds: ['i-0abc1234def567890'] },
    sibling: `${at('ec2')}:instance/i-0fff1234def567890`,
    otherAction: 'ec2:TerminateInstances',
  },
  {
    operation: 'ecr:PutImageTagMutability',
    resource: `${at('ecr')}:repository/checkout`,
    parameters: { repositoryName: 'checkout', imageTagMutability: 'IMMUTABLE' },
    sibling: `${at('ecr')}:repository/payments`,
    otherAction: 'ecr:DeleteRepository',
  },
  {
    operation: 'ecs:UpdateService',
    resource: `${at('ecs')}:service/prod/checkout`,
    parameters: { cluster: 'prod', service: 'checkout', desiredCount: 6 },
    sibling: `${at('ecs')}:service/prod/payments`,
    otherAction: 'ecs:DeleteService',
  },
  {
    operation: 'eks:UpdateNodegroupConfig',
    resource: `${at('eks')}:nodegroup/prod/workers/1a2b3c4d-0000-1111-2222-333344445555`,
    parameters: { clusterName: 'prod', nodegroupName: 'workers', scalingConfig: { desiredSize: 5 } },
    sibling: `${at('eks')}:nodegroup/prod/batch/1a2b3c4d-0000-1111-2222-333344445555`,
    otherAction: 'eks:DeleteNodegroup',
  },
  {
    operation: 'elasticloadbalancing:ModifyTargetGroup',
    resource: `${at('elasticloadbalancing')}:targetgroup/web/0123456789abcdef`,
    parameters: {
      TargetGroupArn: `${at('elasticloadbalancing')}:targetgroup/web/0123456789abcdef`,
      HealthCheckPath: '/health',
    },
    sibling: `${at('elasticloadbalancing')}:targetgroup/api/0123456789abcdef`,
    otherAction: 'elasticloadbalancing:DeleteTargetGroup',
  },
  {
    operation: 'events:DisableRule',
    resource: `${at('events')}:rule/nightly-report`,
    parameters: { Name: 'nightly-report' },
    sibling: `${at('events')}:rule/hourly-sync`,
    otherAction: 'events:DeleteRule',
  },
  {
    operation: 'iam:TagRole',
    resource: `arn:aws:iam::${ACCOUNT}:role/app`,
    parameters: { RoleName: 'app', Tags: [{ Key: 'team', Value: 'web' }] },
    sibling: `arn:aws:iam::${ACCOUNT}:role/billing`,
    otherAction: 'iam:DeleteRole',
  },
  {
    operation: 'kms:EnableKeyRotation',
    resource: `${at('kms')}:key/1234abcd-12ab-34cd-56ef-1234567890ab`,
    parameters: { KeyId: `${at('kms')}:key/1234abcd-12ab-34cd-56ef-1234567890ab` },
    sibling: `${at('kms')}:key/9999abcd-12ab-34cd-56ef-1234567890ab`,
    otherAction: 'kms:ScheduleKeyDeletion',
  },
  {
    operation: 'lambda:PutFunctionConcurrency',
    resource: `${at('lambda')}:function:billing`,
    parameters: { FunctionName: 'billing', ReservedConcurrentExecutions: 10 },
    sibling: `${at('lambda')}:function:checkout`,
    otherAction: 'lambda:DeleteFunction',
  },
  {
    operation: 'logs:PutRetentionPolicy',
    resource: `${at('logs')}:log-group:app-web`,
    parameters: { logGroupName: 'app-web', retentionInDays: 30 },
    sibling: `${at('logs')}:log-group:app-api`,
    otherAction: 'logs:DeleteLogGroup',
  },
  {
    operation: 'rds:RebootDBInstance',
    resource: `${at('rds')}:db:orders`,
    parameters: { DBInstanceIdentifier: 'orders' },
    sibling: `${at('rds')}:db:payments`,
    otherAction: 'rds:DeleteDBInstance',
  },
  {
    operation: 'route53:ChangeResourceRecordSets',
    resource: 'arn:aws:route53:::hostedzone/Z0123456789ABC',
    parameters: {
      HostedZoneId: 'Z0123456789ABC',
      ChangeBatch: {
        Changes: [
          {
            Action: 'UPSERT',
            ResourceRecordSet: {
              Name: 'www.example.com',
              Type: 'CNAME',
              TTL: 300,
              ResourceRecords: [{ Value: 'web.example.com' }],
            },
          },
        ],
      },
    },
    sibling: 'arn:aws:route53:::hostedzone/Z9999999999XYZ',
    otherAction: 'route53:DeleteHostedZone',
  },
  {
    operation: 's3:PutBucketVersioning',
    resource: 'arn:aws:s3:::reports-bucket',
    parameters: { Bucket: 'reports-bucket', VersioningConfiguration: { Status: 'Enabled' } },
    sibling: 'arn:aws:s3:::audit-bucket',
    otherAction: 's3:DeleteBucket',
  },
  {
    operation: 'secretsmanager:RotateSecret',
    resource: `${at('secretsmanager')}:secret:db-password-AbCdEf`,
    parameters: { SecretId: `${at('secretsmanager')}:secret:db-password-AbCdEf` },
    sibling: `${at('secretsmanager')}:secret:api-key-XyZ123`,
    otherAction: 'secretsmanager:DeleteSecret',
  },
  {
    operation: 'sns:Publish',
    resource: `${at('sns')}:maintenance`,
    parameters: { TopicArn: `${at('sns')}:maintenance`, Message: 'maintenance at 22:00 UTC' },
    sibling: `${at('sns')}:alerts`,
    otherAction: 'sns:DeleteTopic',
  },
  {
    operation: 'sqs:PurgeQueue',
    resource: `${at('sqs')}:jobs`,
    parameters: { QueueUrl: `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/jobs` },
    sibling: `${at('sqs')}:emails`,
    otherAction: 'sqs:DeleteQueue',
  },
  {
    operation: 'ssm:PutParameter',
    resource: `${at('ssm')}:parameter/feature-flag`,
    parameters: { Name: 'feature-flag', Value: 'on', Type: 'String', Overwrite: true },
    sibling: `${at('ssm')}:parameter/db-host`,
    otherAction: 'ssm:DeleteParameter',
  },
  {
    operation: 'states:StartExecution',
    resource: `${at('states')}:stateMachine:nightly`,
    parameters: { stateMachineArn: `${at('states')}:stateMachine:nightly`, input: '{}' },
    sibling: `${at('states')}:stateMachine:hourly`,
    otherAction: 'states:DeleteStateMachine',
  },
];

const ROLES = {
  'generic-read': `arn:aws:iam::${ACCOUNT}:role/action-approvals/action-approvals-generic-read`,
  'generic-change': `arn:aws:iam::${ACCOUNT}:role/action-approvals/action-approvals-generic-change`,
} as const;

/** Mints nothing: records the session it was asked for, so the simulator can judge it. */
class RecordingIssuer {
  readonly sessions: AssumeForActionInput[] = [];
  async assumeForAction(input: AssumeForActionInput): Promise<SessionCredentials> {
    this.sessions.push(input);
    return {
      accessKeyId: 'ASIAGENERICSESSION',
      secretAccessKey: 'generic-session-secret',
      sessionToken: 'generic-session-token',
      expiration: new Date(NOW.getTime() + 900_000),
    };
  }
}

function exportsOf(packageName: string): Record<string, unknown> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(packageName) as Record<string, unknown>;
}

describe('Every shipped service, end to end: policy, card, approval, derived session, SDK call', () => {
  const iam = new IamDataReference();
  const loaded = PolicyEngine.load(loadPolicySources());
  if (!loaded.ok) throw loaded.error;
  const policy = loaded.value;
  let tables: TestTables;
  let store: DynamoRequestsStore;
  const signer = LocalSigner.generate('receipt-key');

  beforeAll(async () => {
    tables = await createTestTables();
    store = new DynamoRequestsStore(tables.documents, tables.requestsTable, tables.auditTable);
  });

  it('covers every shipped service', () => {
    expect(CASES.map((entry) => entry.operation.split(':')[0]).sort()).toEqual(
      Object.keys(SDK_SERVICES).sort(),
    );
  });

  it.each(CASES.map((entry) => [entry.operation, entry] as const))('%s', async (operation, entry) => {
    const requestId = `generic-${operation.replace(':', '-')}`;

    // Policy: the request parses against IAM's reference and the shipped policies decide it.
    const parsed = await parseActionRequest(
      {
        source: 'agent.ops-bot',
        'detail-type': 'Action Requested',
        time: '2026-11-24T10:00:00Z',
        detail: {
          requestId,
          action: { operation, resource: entry.resource, parameters: entry.parameters },
          justification: 'Routine operations change.',
        },
      },
      iam,
    );
    if (!parsed.ok) throw new Error(parsed.error.reasons.join('; '));
    const info = await iam.describeAction(operation);
    const decision = policy.evaluate({
      agentId: 'ops-bot',
      operation,
      accessLevels: info?.accessLevels ?? [],
      resource: entry.resource,
      environment: 'production',
    });
    expect(decision.outcome).toBe('require-approval');
    if (decision.outcome !== 'require-approval') return;

    // Card: what reviewers see, in every channel.
    const reviewers = Array.from({ length: decision.quorum }, (_, index) => `reviewer-${index}@example.com`);
    const record: Omit<RequestRecord, 'auditHead'> = {
      requestId,
      agentId: 'ops-bot',
      state: 'approved',
      version: 0,
      request: parsed.value,
      policy: { outcome: decision.outcome, reason: decision.reason, policyIds: [...decision.policyIds] },
      createdAt: '2026-11-24T10:00:00.000Z',
      expiresAt: '2026-11-24T10:15:00.000Z',
      rule: {
        quorum: decision.quorum,
        approverGroups: [...decision.approverGroups],
        expiresAt: '2026-11-24T10:15:00.000Z',
        requesterId: 'agent:ops-bot',
        ownerIds: [],
      },
      // Approval: a quorum of the policy's groups voted yes.
      approval: {
        status: 'approved',
        decidedAt: '2026-11-24T10:03:00.000Z',
        votes: reviewers.map((reviewer) => ({
          reviewer,
          groups: [decision.approverGroups[0] ?? 'operators'],
          decision: 'approve' as const,
          at: '2026-11-24T10:02:00.000Z',
          channel: 'slack' as const,
        })),
      },
    };
    const card = approvalCard(record as RequestRecord);
    expect(displayRefusal(card)).toBeUndefined();
    expect(JSON.stringify(slackApprovalMessage(card).blocks)).toContain(operation);
    expect(JSON.stringify(teamsApprovalCard(card).body)).toContain(operation);
    expect(
      await store.claim(record, [
        { requestId, at: record.createdAt, type: 'requested', actor: { kind: 'agent', id: 'ops-bot' } },
      ]),
    ).toBe(true);

    // Execution: the SDK command of the same name, with the parameters exactly as approved.
    const sdk = sdkOperationFor(operation);
    if (!sdk.ok) throw new Error(sdk.error.message);
    const module = exportsOf(sdk.value.packageName);
    const Client = module[sdk.value.clientClass] as Parameters<typeof mockClient>[0];
    const Command = module[sdk.value.commandClass] as new (input: object) => never;
    const client = mockClient(Client);
    client
      .on(Command as never)
      .resolves({ $metadata: { httpStatusCode: 200, requestId: `aws-${requestId}` } });
    const issuer = new RecordingIssuer();
    const deps: ExecuteDeps = {
      requests: store,
      clock: { now: () => NOW },
      credentials: issuer,
      logger,
      executor: new SdkActionExecutor({ defaultRegion: REGION }),
      generic: { executor: new SdkCommandExecutor({ defaultRegion: REGION }), iam },
      signer,
      executionRoles: ROLES,
    };
    const outcome = await executeApproved({ requestId, parameters: entry.parameters }, deps);
    client.restore();

    expect(outcome.outcome).toBe('executed');
    expect(client.calls()).toHaveLength(1);
    expect(client.commandCalls(Command as never)[0]!.args[0].input).toStrictEqual(entry.parameters);

    // Session: the simulator allows that call, and denies a sibling resource and another action.
    expect(issuer.sessions).toHaveLength(1);
    const session = issuer.sessions[0]!;
    expect(session.roleArn).toBe(ROLES['generic-change']);
    expect(session.approvers).toEqual(reviewers);
    const ask = (action: string, resource: string) =>
      isAllowed({
        identityPolicy: ALLOW_EVERYTHING,
        sessionPolicy: session.sessionPolicy as SessionPolicyDocument,
        action,
        resource,
        currentTime: NOW,
        account: ACCOUNT,
        // A KMS key is usable only where its key policy trusts the account, as a default key policy does.
        ...(operation.startsWith('kms:') ? { resourcePolicy: trustAccount(ACCOUNT) } : {}),
      });
    await expect(ask(operation, entry.resource)).resolves.toBe(true);
    await expect(ask(operation, entry.sibling)).resolves.toBe(false);
    await expect(ask(entry.otherAction, entry.resource)).resolves.toBe(false);
  });
});
