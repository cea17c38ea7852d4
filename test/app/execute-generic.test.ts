import { DescribeInstancesCommand, EC2Client, StopInstancesCommand } from '@aws-sdk/client-ec2';
import { ECSClient, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { SdkActionExecutor } from '../../lambdas/adapters/executors';
import { IamDataReference } from '../../lambdas/adapters/iam-reference';
import { LocalSigner } from '../../lambdas/adapters/local-signer';
import { SdkCommandExecutor } from '../../lambdas/adapters/sdk-command-executor';
import type {
  AssumeForActionInput,
  AuditLog,
  GenericExecutor,
  RequestsStore,
  SessionCredentials,
} from '../../lambdas/app/ports';
import { ok } from '../../lambdas/core/result';
import { logger } from '../../lambdas/adapters/logger';
import { executeApproved, PARAMETERS_CHANGED, type ExecuteDeps } from '../../lambdas/app/execute';
import { parametersHash } from '../../lambdas/core/canonical';
import type { RequestRecord } from '../../lambdas/core/lifecycle';
import type { RequestedCompanion } from '../../lambdas/core/types';
import { ALLOW_EVERYTHING, isAllowed } from '../../local/iam-simulator';
import { inMemoryStores } from '../support/fixtures';

const ec2 = mockClient(EC2Client);
const ecs = mockClient(ECSClient);
const CENTRAL = '111122223333';
const WORKLOAD = '444455556666';
const NOW = new Date('2026-11-24T10:05:00.000Z');
const roles = (account: string) => ({
  'generic-read': `arn:aws:iam::${account}:role/action-approvals/action-approvals-generic-read`,
  'generic-change': `arn:aws:iam::${account}:role/action-approvals/action-approvals-generic-change`,
});

class RecordingIssuer {
  readonly sessions: AssumeForActionInput[] = [];
  async assumeForAction(input: AssumeForActionInput): Promise<SessionCredentials> {
    this.sessions.push(input);
    return {
      accessKeyId: 'ASIAGENERIC',
      secretAccessKey: 'secret',
      sessionToken: 'token',
      expiration: new Date(NOW.getTime() + 900_000),
    };
  }
}

interface Approved {
  readonly operation: string;
  readonly resource: string;
  readonly parameters: Record<string, unknown>;
  readonly companions?: readonly RequestedCompanion[];
  readonly unscopedResource?: true;
}

describe('Function: executeApproved, generic path', () => {
  let store: RequestsStore;
  let audit: AuditLog;
  let issuer: RecordingIssuer;
  let deps: ExecuteDeps;

  beforeAll(async () => {
    ({ requests: store, audit } = inMemoryStores());
  });

  beforeEach(() => {
    ec2.reset();
    ecs.reset();
    ec2.on(StopInstancesCommand).resolves({});
    ec2.on(DescribeInstancesCommand).resolves({ Reservations: [] });
    ecs.on(UpdateServiceCommand).resolves({});
    issuer = new RecordingIssuer();
    deps = {
      requests: store,
      clock: { now: () => NOW },
      credentials: issuer,
      logger,
      executor: new SdkActionExecutor({ defaultRegion: 'eu-west-1' }),
      generic: {
        executor: new SdkCommandExecutor({ defaultRegion: 'eu-west-1' }),
        iam: new IamDataReference(),
      },
      signer: LocalSigner.generate('receipt-key'),
      executionRoles: roles(CENTRAL),
      targetAccounts: { [WORKLOAD]: roles(WORKLOAD) },
    };
  });

  async function approved(requestId: string, approvedAction: Approved): Promise<RequestRecord> {
    const { operation, resource, parameters, companions, unscopedResource } = approvedAction;
    const record: Omit<RequestRecord, 'auditHead'> = {
      requestId,
      agentId: 'ops-bot',
      state: 'approved',
      version: 0,
      request: {
        requestId,
        agentId: 'ops-bot',
        action: { operation, resource, parameters, ...(companions ? { companions } : {}) },
        parametersHash: parametersHash(parameters, companions),
        justification: 'Needed.',
        context: {},
        requestedAt: '2026-11-24T10:00:00.000Z',
      },
      policy: { outcome: 'auto-approve', reason: 'allowed', policyIds: ['p'] },
      createdAt: '2026-11-24T10:00:00.000Z',
      expiresAt: '2026-11-24T10:15:00.000Z',
      ...(unscopedResource ? { unscopedResource } : {}),
    };
    expect(
      await store.claim(record, [
        { requestId, at: record.createdAt, type: 'requested', actor: { kind: 'agent', id: 'ops-bot' } },
      ]),
    ).toBe(true);
    return record as RequestRecord;
  }

  it("assumes the execution role in the account of the approved resource's ARN", async () => {
    const resource = `arn:aws:ec2:eu-west-1:${WORKLOAD}:instance/i-0abc`;
    await approved('gen-workload', {
      operation: 'ec2:StopInstances',
      resource,
      parameters: { InstanceIds: ['i-0abc'] },
    });

    const result = await executeApproved(
      { requestId: 'gen-workload', parameters: { InstanceIds: ['i-0abc'] } },
      deps,
    );

    expect(result.outcome).toBe('executed');
    expect(issuer.sessions[0]?.roleArn).toBe(roles(WORKLOAD)['generic-change']);
  });

  it("uses this account's role for a resource of this account", async () => {
    const resource = `arn:aws:ec2:eu-west-1:${CENTRAL}:instance/i-0abc`;
    await approved('gen-central', {
      operation: 'ec2:StopInstances',
      resource,
      parameters: { InstanceIds: ['i-0abc'] },
    });

    await executeApproved({ requestId: 'gen-central', parameters: { InstanceIds: ['i-0abc'] } }, deps);

    expect(issuer.sessions[0]?.roleArn).toBe(roles(CENTRAL)['generic-change']);
  });

  it('runs a read with the read role', async () => {
    const resource = `arn:aws:ec2:eu-west-1:${CENTRAL}:instance/i-0abc`;
    await approved('gen-read', {
      operation: 'ec2:DescribeInstances',
      resource,
      parameters: {},
      unscopedResource: true,
    });

    const result = await executeApproved({ requestId: 'gen-read', parameters: {} }, deps);

    expect(result.outcome).toBe('executed');
    expect(issuer.sessions[0]?.roleArn).toBe(roles(CENTRAL)['generic-read']);
    expect(issuer.sessions[0]?.sessionPolicy.Statement[0].Resource).toBe('*');
  });

  it('refuses an action IAM cannot scope when the approval did not allow it', async () => {
    const resource = `arn:aws:ec2:eu-west-1:${CENTRAL}:instance/i-0abc`;
    await approved('gen-unscoped', { operation: 'ec2:DescribeInstances', resource, parameters: {} });

    const result = await executeApproved({ requestId: 'gen-unscoped', parameters: {} }, deps);

    expect(result.outcome).toBe('failed');
    expect(issuer.sessions).toHaveLength(0);
    expect(ec2).not.toHaveReceivedAnyCommand();
  });

  it('grants the companions the agent listed, and runs the call with parameters hashed with them', async () => {
    const resource = `arn:aws:ecs:eu-west-1:${CENTRAL}:service/prod/checkout`;
    const taskRole = `arn:aws:iam::${CENTRAL}:role/checkout-task`;
    const parameters = { cluster: 'prod', service: 'checkout', taskDefinition: 'checkout:8' };
    await approved('gen-companion', {
      operation: 'ecs:UpdateService',
      resource,
      parameters,
      companions: [{ action: 'iam:PassRole', resource: taskRole }],
    });

    const result = await executeApproved({ requestId: 'gen-companion', parameters }, deps);

    expect(result.outcome).toBe('executed');
    expect(ecs).toHaveReceivedCommandWith(UpdateServiceCommand, parameters);
    const policy = issuer.sessions[0]!.sessionPolicy;
    const ask = (action: string, arn: string) =>
      isAllowed({
        identityPolicy: ALLOW_EVERYTHING,
        sessionPolicy: policy,
        action,
        resource: arn,
        currentTime: NOW,
        account: CENTRAL,
      });
    await expect(ask('iam:PassRole', taskRole)).resolves.toBe(true);
    await expect(ask('iam:PassRole', `arn:aws:iam::${CENTRAL}:role/admin`)).resolves.toBe(false);
  });

  it('denies a call whose parameters differ from those approved with the companions', async () => {
    const resource = `arn:aws:ecs:eu-west-1:${CENTRAL}:service/prod/checkout`;
    await approved('gen-changed', {
      operation: 'ecs:UpdateService',
      resource,
      parameters: { service: 'checkout', desiredCount: 2 },
      companions: [{ action: 'iam:PassRole', resource: `arn:aws:iam::${CENTRAL}:role/checkout-task` }],
    });

    const result = await executeApproved(
      { requestId: 'gen-changed', parameters: { service: 'checkout', desiredCount: 20 } },
      deps,
    );

    expect(result.outcome).toBe('denied');
    expect(JSON.parse(result.publish.Detail)).toMatchObject({ reason: PARAMETERS_CHANGED });
  });

  it('refuses a companion on one of the execution roles', async () => {
    const resource = `arn:aws:ecs:eu-west-1:${CENTRAL}:service/prod/checkout`;
    await approved('gen-protected', {
      operation: 'ecs:UpdateService',
      resource,
      parameters: { service: 'checkout' },
      companions: [{ action: 'iam:PassRole', resource: roles(WORKLOAD)['generic-change'] }],
    });

    const result = await executeApproved(
      { requestId: 'gen-protected', parameters: { service: 'checkout' } },
      deps,
    );

    expect(result.outcome).toBe('failed');
    expect(issuer.sessions).toHaveLength(0);
  });

  describe('a call a local stand-in answered', () => {
    const resource = `arn:aws:ecs:eu-west-1:${CENTRAL}:service/prod/checkout`;
    const parameters = { cluster: 'prod', service: 'checkout', desiredCount: 4 };
    const standIn: GenericExecutor = {
      run: async () =>
        ok({
          recorded: { operation: 'ecs:UpdateService' },
          delivered: { operation: 'ecs:UpdateService', output: { service: { desiredCount: 4 } } },
          simulated: { standIn: 'the in-memory ECS services of local mode' },
        }),
    };

    async function simulate(requestId: string) {
      await approved(requestId, { operation: 'ecs:UpdateService', resource, parameters });
      return executeApproved(
        { requestId, parameters },
        { ...deps, generic: { executor: standIn, iam: new IamDataReference() } },
      );
    }

    it('ends the request simulated, never executed', async () => {
      const result = await simulate('gen-simulated-state');

      expect(result.outcome).toBe('simulated');
      expect((await store.get('gen-simulated-state'))?.state).toBe('simulated');
    });

    it('tells the agent with an Action Simulated event naming the stand-in', async () => {
      const result = await simulate('gen-simulated-event');

      expect(result.publish.DetailType).toBe('Action Simulated');
      expect(JSON.parse(result.publish.Detail)).toMatchObject({
        outcome: 'simulated',
        reason: expect.stringContaining('the in-memory ECS services of local mode, not by AWS'),
        receipt: expect.any(String),
        result: { output: { service: { desiredCount: 4 } } },
      });
    });

    it('writes a terminal simulated audit record carrying the receipt and the stand-in', async () => {
      await simulate('gen-simulated-audit');

      const chain = await audit.read('gen-simulated-audit');
      expect(chain.map((record) => record.type)).toEqual(['requested', 'credentials-issued', 'simulated']);
      expect(chain.at(-1)?.details).toMatchObject({
        receipt: expect.any(String),
        standIn: 'the in-memory ECS services of local mode',
      });
    });
  });
});
