import { copyFile, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ActionApprovalsClient, ActionRequestInput } from '../../client';
import { approvalCard } from '../../lambdas/core/card';
import { requestView } from '../../local/console/views';
import { LocalRuntime } from '../../local/runtime';
import {
  SAMPLE_ACCOUNTS,
  SAMPLE_ECS_SERVICE,
  SAMPLE_SECURITY_GROUPS,
  sampleEcsServiceArn,
  sampleSecurityGroupArn,
} from '../../local/samples';
import { STAND_INS } from '../../local/stand-ins';
import { targetRoleArn } from '../../lib/action-approvals-target';

// The central account runs action-approvals; the staging account is a workload account whose
// resources are changed only through its own member roles. The shipped policies plus one that
// asks two operators for any change in staging.
const WORKLOAD = SAMPLE_ACCOUNTS.staging;
const CENTRAL = SAMPLE_ACCOUNTS.production;
const TWO_OPERATORS_FOR_STAGING = `
@id("staging-changes-two-operators")
@outcome("require-approval")
@approvers("operators")
@quorum("2")
@ttl("900")
@reason("changes in the staging workload account need two operators")
permit (principal, action, resource)
when { context.environment == "staging" && !["Read", "List"].containsAll(context.accessLevels) };
`;

let local: LocalRuntime;
let agent: ActionApprovalsClient;

beforeAll(async () => {
  const policyDir = await mkdtemp(join(tmpdir(), 'two-account-policies-'));
  const shipped = join(__dirname, '..', '..', 'policies');
  await copyFile(join(shipped, 'schema.cedarschema'), join(policyDir, 'schema.cedarschema'));
  await writeFile(
    join(policyDir, 'default.cedar'),
    `${await readFile(join(shipped, 'default.cedar'), 'utf8')}\n${TWO_OPERATORS_FOR_STAGING}`,
  );
  local = await LocalRuntime.start({
    dataDir: await mkdtemp(join(tmpdir(), 'two-account-')),
    policyDir,
    // The demo is about accounts and roles; the in-memory tables hold the same contract as DynamoDB Local.
    storage: 'in-memory',
  });
  agent = local.agentClient('reporting-bot');
}, 60_000);

afterAll(async () => {
  await local.workflow.drain();
  await local.stop();
}, 30_000);

async function waitingRecord(requestId: string) {
  for (let i = 0; i < 200; i += 1) {
    const record = (await local.requests()).find((candidate) => candidate.requestId === requestId);
    if (record?.taskToken) return record;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`${requestId} never started waiting for approval`);
}

const openHttpsFrom = (account: string, cidr: string, requestId: string): ActionRequestInput => ({
  agentId: 'reporting-bot',
  requestId,
  operation: 'ec2:AuthorizeSecurityGroupIngress',
  resource: sampleSecurityGroupArn(account),
  parameters: {
    GroupId: SAMPLE_SECURITY_GROUPS[account],
    IpPermissions: [{ IpProtocol: 'tcp', FromPort: 8443, ToPort: 8443, IpRanges: [{ CidrIp: cidr }] }],
  },
  justification: 'The partner integration calls the admin port from its VPN range.',
});

async function credentialsIssued(requestId: string) {
  const { records, verification } = await local.timeline(requestId);
  expect(verification.ok).toBe(true);
  return { records, issued: records.find((record) => record.type === 'credentials-issued') };
}

describe('Two accounts: a change in the workload account', () => {
  it('shows reviewers the security group rule it adds, before → after, on the card and in the console', async () => {
    const waiting = agent.requestAction(
      openHttpsFrom(WORKLOAD, '10.20.0.0/16', 'two-acct-sg-preview'),
      30_000,
    );
    const record = await waitingRecord('two-acct-sg-preview');

    expect(approvalCard(record).preview).toMatchObject({
      status: 'available',
      kind: 'security-group-rules',
      lines: [
        { subject: 'ingress tcp port 8443 from 10.20.0.0/16', before: 'not allowed', after: 'allowed' },
      ],
    });
    expect(requestView(record).previewTitle).toBe('Security group rules');
    await local.vote('two-acct-sg-preview', 'bob@example.com', 'deny');
    await expect(waiting).resolves.toMatchObject({ outcome: 'denied' });
  });

  it('runs after two approvals through the workload account’s member role, simulated, with a verified chain', async () => {
    const waiting = agent.requestAction(openHttpsFrom(WORKLOAD, '10.30.0.0/16', 'two-acct-sg'), 30_000);
    await waitingRecord('two-acct-sg');

    const first = await local.vote('two-acct-sg', 'bob@example.com', 'approve');
    await local.vote('two-acct-sg', 'carol@example.com', 'approve');

    expect(first).toMatchObject({ kind: 'counted', outcome: { status: 'pending' } });
    await expect(waiting).resolves.toMatchObject({
      outcome: 'simulated',
      detail: {
        approvers: ['bob@example.com', 'carol@example.com'],
        reason: expect.stringContaining(STAND_INS.securityGroups),
        receipt: expect.any(String),
      },
    });
    const { records, issued } = await credentialsIssued('two-acct-sg');
    expect(issued?.details?.roleArn).toBe(targetRoleArn(WORKLOAD, 'generic-change'));
    expect(records.at(-1)).toMatchObject({
      type: 'simulated',
      details: { standIn: STAND_INS.securityGroups },
    });
    const [group] = local.targets.securityGroups.describeGroups([SAMPLE_SECURITY_GROUPS[WORKLOAD] ?? '']);
    expect(group?.IpPermissions).toContainEqual(
      expect.objectContaining({ FromPort: 8443, IpRanges: [{ CidrIp: '10.30.0.0/16' }] }),
    );
  });

  it('scales the workload account’s ECS service after two approvals, previewed and run with its member role', async () => {
    const waiting = agent.requestAction(
      {
        agentId: 'reporting-bot',
        requestId: 'two-acct-ecs',
        operation: 'ecs:UpdateService',
        resource: sampleEcsServiceArn(WORKLOAD),
        parameters: {
          cluster: SAMPLE_ECS_SERVICE.cluster,
          service: SAMPLE_ECS_SERVICE.service,
          desiredCount: 4,
        },
        justification: 'Load test of the checkout service this afternoon.',
      },
      30_000,
    );
    const record = await waitingRecord('two-acct-ecs');
    expect(record.preview).toMatchObject({
      status: 'available',
      kind: 'ecs-service',
      lines: [{ subject: 'desiredCount', before: '2', after: '4' }],
    });

    await local.vote('two-acct-ecs', 'bob@example.com', 'approve');
    await local.vote('two-acct-ecs', 'carol@example.com', 'approve');

    await expect(waiting).resolves.toMatchObject({ outcome: 'simulated' });
    const { issued } = await credentialsIssued('two-acct-ecs');
    expect(issued?.details?.roleArn).toBe(targetRoleArn(WORKLOAD, 'generic-change'));
    expect(local.targets.ecsServices.describe([sampleEcsServiceArn(WORKLOAD)]).services[0]).toMatchObject({
      desiredCount: 4,
    });
  });
});

describe('Two accounts: a change in the central account', () => {
  it('still runs with the central account’s own role after the one approval its policy asks', async () => {
    const waiting = agent.requestAction(openHttpsFrom(CENTRAL, '10.40.0.0/16', 'two-acct-central'), 30_000);
    await waitingRecord('two-acct-central');

    await local.vote('two-acct-central', 'carol@example.com', 'approve');

    await expect(waiting).resolves.toMatchObject({ outcome: 'simulated' });
    const { issued } = await credentialsIssued('two-acct-central');
    expect(issued?.details?.roleArn).toBe(`arn:aws:iam::${CENTRAL}:role/action-approvals-generic-change`);
  });
});
