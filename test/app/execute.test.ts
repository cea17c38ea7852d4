import { createHash } from 'node:crypto';
import { GetObjectCommand, type GetObjectCommandOutput, S3Client } from '@aws-sdk/client-s3';
import { LambdaClient, UpdateFunctionConfigurationCommand } from '@aws-sdk/client-lambda';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { Readable } from 'node:stream';
import { ConflictError, RequestNotFoundError, StoreUnavailableError } from '../../lambdas/app/errors';
import { SdkActionExecutor } from '../../lambdas/adapters/executors';
import { logger } from '../../lambdas/adapters/logger';
import { LocalSigner } from '../../lambdas/adapters/local-signer';
import { StsCredentialIssuer } from '../../lambdas/adapters/sts';
import {
  AUTO_APPROVER,
  executeApproved,
  PARAMETERS_CHANGED,
  parseExecuteInput,
  type ExecuteDeps,
} from '../../lambdas/app/execute';
import type { AuditLog, Clock, RequestsStore } from '../../lambdas/app/ports';
import { inMemoryStores } from '../support/fixtures';
import { verifyChain, type AuditRecord } from '../../lambdas/core/audit';
import { parametersHash } from '../../lambdas/core/canonical';
import type { RequestRecord } from '../../lambdas/core/lifecycle';
import { verifyReceipt } from '../../lambdas/core/receipt';
import { ALLOW_EVERYTHING, isAllowed } from '../../local/iam-simulator';

const sts = mockClient(STSClient);
const lambda = mockClient(LambdaClient);
const s3 = mockClient(S3Client);

const ACCOUNT = '111122223333';
const FUNCTION = `arn:aws:lambda:eu-west-1:${ACCOUNT}:function:billing`;
const OBJECT = 'arn:aws:s3:::reports-bucket/2026/q3/revenue.csv';
const ROLES = {
  'lambda-config': `arn:aws:iam::${ACCOUNT}:role/action-approvals-lambda-config`,
  'data-read': `arn:aws:iam::${ACCOUNT}:role/action-approvals-data-read`,
  'iam-admin': `arn:aws:iam::${ACCOUNT}:role/action-approvals-iam-admin`,
};
const CREATED = '2026-11-24T10:00:00.000Z';
const DECIDED = '2026-11-24T10:03:00.000Z';
const EXPIRES = '2026-11-24T10:15:00.000Z';
const SECRET_ACCESS_KEY = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLESECRET';
const SESSION_TOKEN = 'FwoGZXIvYXdzEXAMPLE//////////wEaDSESSIONTOKEN';

class TestClock implements Clock {
  constructor(public current = new Date('2026-11-24T10:05:00.000Z')) {}
  now(): Date {
    return new Date(this.current);
  }
}

interface Approved {
  readonly operation?: string;
  readonly resource?: string;
  readonly parameters?: Record<string, unknown>;
  /** The policy approved it on its own: no reviewers. */
  readonly auto?: boolean;
}

/** An approved request as evaluate and the decision path leave it, written through the store. */
function approvedRecord(requestId: string, approved: Approved = {}): Omit<RequestRecord, 'auditHead'> {
  const parameters = approved.parameters ?? { MemorySize: 512 };
  const request = {
    requestId,
    agentId: 'deploy-bot',
    action: {
      operation: approved.operation ?? 'lambda:UpdateFunctionConfiguration',
      resource: approved.resource ?? FUNCTION,
      parameters,
    },
    parametersHash: parametersHash(parameters),
    justification: 'Billing runs out of memory at month end.',
    context: {},
    requestedAt: CREATED,
  };
  const common = {
    requestId,
    agentId: 'deploy-bot',
    state: 'approved' as const,
    version: 0,
    request,
    createdAt: CREATED,
    expiresAt: EXPIRES,
  };
  if (approved.auto) {
    return {
      ...common,
      policy: { outcome: 'auto-approve', reason: 'read-only in staging', policyIds: ['auto-read'] },
    };
  }
  return {
    ...common,
    policy: { outcome: 'require-approval', reason: 'writes in production', policyIds: ['prod-writes'] },
    rule: {
      quorum: 2,
      approverGroups: ['operators'],
      expiresAt: EXPIRES,
      requesterId: 'agent:deploy-bot',
      ownerIds: ['platform-lead@example.com'],
    },
    approval: {
      status: 'approved',
      decidedAt: DECIDED,
      votes: [
        {
          reviewer: 'alice@example.com',
          groups: ['operators'],
          decision: 'approve',
          at: '2026-11-24T10:02:00.000Z',
          channel: 'slack',
        },
        {
          reviewer: 'bob@example.com',
          groups: ['operators'],
          decision: 'approve',
          at: DECIDED,
          channel: 'teams',
        },
      ],
    },
  };
}

describe('Function: executeApproved', () => {
  let store: RequestsStore;
  let audit: AuditLog;
  let clock: TestClock;
  let signer: LocalSigner;
  let deps: ExecuteDeps;
  let output: string[];

  beforeAll(async () => {
    ({ requests: store, audit } = inMemoryStores());
    signer = LocalSigner.generate('receipt-key');
  });

  beforeEach(() => {
    sts.reset();
    lambda.reset();
    s3.reset();
    sts.on(AssumeRoleCommand).resolves({
      Credentials: {
        AccessKeyId: 'ASIAEXECUTESESSION',
        SecretAccessKey: SECRET_ACCESS_KEY,
        SessionToken: SESSION_TOKEN,
        Expiration: new Date('2026-11-24T10:20:00Z'),
      },
    });
    lambda
      .on(UpdateFunctionConfigurationCommand)
      .resolves({ FunctionArn: FUNCTION, LastUpdateStatus: 'InProgress', RevisionId: 'rev-2' });
    clock = new TestClock();
    deps = {
      requests: store,
      clock,
      credentials: new StsCredentialIssuer(new STSClient({ region: 'eu-west-1' })),
      executor: new SdkActionExecutor({ defaultRegion: 'eu-west-1' }),
      signer,
      executionRoles: ROLES,
      logger,
    };
    output = [];
    for (const stream of [process.stdout, process.stderr]) {
      jest.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array) => {
        output.push(String(chunk));
        return true;
      });
    }
  });

  afterEach(() => jest.restoreAllMocks());

  async function approved(requestId: string, options: Approved = {}): Promise<RequestRecord> {
    const record = approvedRecord(requestId, options);
    const opening = [
      {
        requestId,
        at: CREATED,
        type: 'requested' as const,
        actor: { kind: 'agent' as const, id: 'deploy-bot' },
        parametersHash: record.request.parametersHash,
      },
      {
        requestId,
        at: DECIDED,
        type: 'approved' as const,
        actor: { kind: 'system' as const, id: 'test' },
        parametersHash: record.request.parametersHash,
      },
    ];
    expect(await store.claim(record, opening)).toBe(true);
    return record as RequestRecord;
  }

  function expectNoSecrets(records: readonly AuditRecord[], stored: RequestRecord | undefined): void {
    for (const text of [JSON.stringify(records), JSON.stringify(stored), ...output]) {
      expect(text).not.toContain(SECRET_ACCESS_KEY);
      expect(text).not.toContain(SESSION_TOKEN);
    }
  }

  it('mints a session for the approved call, runs it, and records it with a signed receipt', async () => {
    // Prepare
    const record = await approved('exec-ok');

    // Act
    const result = await executeApproved({ requestId: 'exec-ok', parameters: { MemorySize: 512 } }, deps);

    // Assess: the session
    expect(sts).toHaveReceivedCommandTimes(AssumeRoleCommand, 1);
    const assumed = sts.commandCalls(AssumeRoleCommand)[0].args[0].input;
    expect(assumed).toEqual({
      RoleArn: ROLES['lambda-config'],
      RoleSessionName: 'exec-ok',
      Policy: expect.any(String),
      DurationSeconds: 900,
      SourceIdentity: 'deploy-bot',
      Tags: [
        { Key: 'RequestId', Value: 'exec-ok' },
        { Key: 'Approvers', Value: 'alice@example.com bob@example.com' },
      ],
    });
    expect(JSON.parse(assumed.Policy ?? '')).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'ApprovedAction',
          Effect: 'Allow',
          Action: 'lambda:UpdateFunctionConfiguration',
          Resource: FUNCTION,
          Condition: { DateLessThan: { 'aws:CurrentTime': '2026-11-24T10:15:00Z' } },
        },
      ],
    });
    // Assess: the call, made with the session's credentials
    expect(lambda).toHaveReceivedCommandWith(UpdateFunctionConfigurationCommand, {
      FunctionName: FUNCTION,
      MemorySize: 512,
    });
    const client = lambda.commandCalls(UpdateFunctionConfigurationCommand)[0].thisValue as LambdaClient;
    expect(await client.config.credentials()).toMatchObject({ accessKeyId: 'ASIAEXECUTESESSION' });
    // Assess: the records
    const chain = await audit.read('exec-ok');
    expect(chain.map((entry) => entry.type)).toEqual([
      'requested',
      'approved',
      'credentials-issued',
      'executed',
    ]);
    expect(verifyChain(chain).ok).toBe(true);
    expect(chain[2]).toMatchObject({
      actor: { kind: 'system', id: 'execute' },
      parametersHash: record.request.parametersHash,
      details: {
        accessKeyId: 'ASIAEXECUTESESSION',
        expiration: '2026-11-24T10:20:00.000Z',
        roleArn: ROLES['lambda-config'],
        roleClass: 'lambda-config',
        sessionPolicy: assumed.Policy,
      },
    });
    const summary = {
      functionArn: FUNCTION,
      changed: ['MemorySize'],
      lastUpdateStatus: 'InProgress',
      revisionId: 'rev-2',
    };
    expect(chain[3].details).toEqual({ receipt: expect.any(String), result: summary });
    const receipt = chain[3].details?.receipt as string;
    await expect(verifyReceipt(receipt, signer.publicJwk())).resolves.toEqual({
      ok: true,
      value: {
        requestId: 'exec-ok',
        agentId: 'deploy-bot',
        operation: 'lambda:UpdateFunctionConfiguration',
        resource: FUNCTION,
        parametersHash: record.request.parametersHash,
        reviewers: ['alice@example.com', 'bob@example.com'],
        decision: 'approved',
        decidedAt: DECIDED,
        expiresAt: EXPIRES,
      },
    });
    expect((await store.get('exec-ok'))?.state).toBe('executed');
    // Assess: what the workflow publishes
    expect(result).toEqual({
      requestId: 'exec-ok',
      outcome: 'executed',
      publish: expect.objectContaining({ Source: 'action-approvals', DetailType: 'Action Executed' }),
    });
    expect(JSON.parse(result.publish.Detail)).toEqual({
      requestId: 'exec-ok',
      outcome: 'executed',
      agentId: 'deploy-bot',
      operation: 'lambda:UpdateFunctionConfiguration',
      resource: FUNCTION,
      approvers: ['alice@example.com', 'bob@example.com'],
      receipt,
      result: summary,
    });
  });

  it('mints a session that can make the approved call until the expiry, and nothing else', async () => {
    // Prepare
    await approved('exec-scope');

    // Act
    await executeApproved({ requestId: 'exec-scope', parameters: { MemorySize: 512 } }, deps);

    // Assess
    const sessionPolicy = JSON.parse(sts.commandCalls(AssumeRoleCommand)[0].args[0].input.Policy ?? '');
    const ask = (action: string, resource: string, at = '2026-11-24T10:06:00Z') =>
      isAllowed({
        identityPolicy: ALLOW_EVERYTHING,
        sessionPolicy,
        action,
        resource,
        currentTime: new Date(at),
      });
    await expect(ask('lambda:UpdateFunctionConfiguration', FUNCTION)).resolves.toBe(true);
    await expect(
      ask('lambda:UpdateFunctionConfiguration', `arn:aws:lambda:eu-west-1:${ACCOUNT}:function:payments`),
    ).resolves.toBe(false);
    await expect(ask('lambda:UpdateFunctionCode', FUNCTION)).resolves.toBe(false);
    await expect(ask('lambda:UpdateFunctionConfiguration', FUNCTION, '2026-11-24T10:15:00Z')).resolves.toBe(
      false,
    );
  });

  it('denies an execution whose parameters changed after approval, with a record, and mints nothing', async () => {
    // Prepare
    const record = await approved('exec-changed');
    const changed = { MemorySize: 10_240 };

    // Act
    const result = await executeApproved({ requestId: 'exec-changed', parameters: changed }, deps);

    // Assess
    expect(result).toEqual({
      requestId: 'exec-changed',
      outcome: 'denied',
      publish: expect.objectContaining({ DetailType: 'Action Denied' }),
    });
    expect(JSON.parse(result.publish.Detail)).toMatchObject({
      outcome: 'denied',
      reason: PARAMETERS_CHANGED,
    });
    expect(sts).not.toHaveReceivedAnyCommand();
    expect(lambda).not.toHaveReceivedAnyCommand();
    const chain = await audit.read('exec-changed');
    expect(chain.at(-1)).toMatchObject({
      type: 'denied',
      actor: { kind: 'system', id: 'execute' },
      parametersHash: record.request.parametersHash,
      details: { reason: PARAMETERS_CHANGED, presentedParametersHash: parametersHash(changed) },
    });
    expect(verifyChain(chain).ok).toBe(true);
    expect(await store.get('exec-changed')).toMatchObject({
      state: 'denied',
      outcomeReason: PARAMETERS_CHANGED,
    });
  });

  it('treats the same parameters in another key order as unchanged', async () => {
    await approved('exec-order', { parameters: { MemorySize: 512, Timeout: 30 } });

    const result = await executeApproved(
      { requestId: 'exec-order', parameters: { Timeout: 30, MemorySize: 512 } },
      deps,
    );

    expect(result.outcome).toBe('executed');
  });

  it('refuses a second execution of the same request and mints no second session', async () => {
    // Prepare
    await approved('exec-twice');
    await executeApproved({ requestId: 'exec-twice', parameters: { MemorySize: 512 } }, deps);

    // Act
    const again = executeApproved({ requestId: 'exec-twice', parameters: { MemorySize: 512 } }, deps);

    // Assess
    await expect(again).rejects.toThrow(ConflictError);
    await expect(again).rejects.toThrow('request exec-twice is executed, not approved');
    expect(sts).toHaveReceivedCommandTimes(AssumeRoleCommand, 1);
    expect(lambda).toHaveReceivedCommandTimes(UpdateFunctionConfigurationCommand, 1);
  });

  it('runs the action once when two invocations race', async () => {
    await approved('exec-race');

    const results = await Promise.allSettled([
      executeApproved({ requestId: 'exec-race', parameters: { MemorySize: 512 } }, deps),
      executeApproved({ requestId: 'exec-race', parameters: { MemorySize: 512 } }, deps),
    ]);

    expect(results.map((settled) => settled.status).sort()).toEqual(['fulfilled', 'rejected']);
    expect(results.find((settled) => settled.status === 'rejected')).toMatchObject({
      reason: expect.any(ConflictError),
    });
    expect(sts).toHaveReceivedCommandTimes(AssumeRoleCommand, 1);
    expect(lambda).toHaveReceivedCommandTimes(UpdateFunctionConfigurationCommand, 1);
    expect((await audit.read('exec-race')).filter((entry) => entry.type === 'executed')).toHaveLength(1);
  });

  it('records an action that ran as executed though the store was unavailable for a moment', async () => {
    await approved('exec-outage');
    let outages = 2;
    const waits: number[] = [];
    const flaky: RequestsStore = {
      claim: (record, opening) => store.claim(record, opening),
      get: (requestId) => store.get(requestId),
      executingSince: (cutoff) => store.executingSince(cutoff),
      save: async (current, changes, events) => {
        if (changes.state === 'executed' && outages-- > 0) throw new StoreUnavailableError();
        return store.save(current, changes, events);
      },
    };
    const retrying = {
      ...deps,
      requests: flaky,
      storeRetry: {
        forMs: 1_000,
        firstDelayMs: 10,
        maxDelayMs: 40,
        sleep: async (ms: number) => void waits.push(ms),
      },
    };

    const result = await executeApproved(
      { requestId: 'exec-outage', parameters: { MemorySize: 512 } },
      retrying,
    );

    expect(result.outcome).toBe('executed');
    expect(waits).toEqual([10, 20]);
    expect(lambda).toHaveReceivedCommandTimes(UpdateFunctionConfigurationCommand, 1);
    expect((await audit.read('exec-outage')).map((entry) => entry.type)).toEqual([
      'requested',
      'approved',
      'credentials-issued',
      'executed',
    ]);
  });

  it('records the credentials it issued once when the answer to that write was lost', async () => {
    await approved('exec-lost-answer');
    let answersToLose = 1;
    const losing: RequestsStore = {
      claim: (record, opening) => store.claim(record, opening),
      get: (requestId) => store.get(requestId),
      executingSince: (cutoff) => store.executingSince(cutoff),
      save: async (current, changes, events) => {
        const saved = await store.save(current, changes, events);
        const issuing = events?.some((entry) => entry.type === 'credentials-issued') ?? false;
        // The write landed; its answer did not come back.
        if (issuing && answersToLose-- > 0) throw new StoreUnavailableError();
        return saved;
      },
    };
    const retrying = {
      ...deps,
      requests: losing,
      storeRetry: { forMs: 1_000, firstDelayMs: 10, maxDelayMs: 40, sleep: async () => undefined },
    };

    const result = await executeApproved(
      { requestId: 'exec-lost-answer', parameters: { MemorySize: 512 } },
      retrying,
    );

    const chain = await audit.read('exec-lost-answer');
    expect(result.outcome).toBe('executed');
    expect(chain.map((entry) => entry.type)).toEqual([
      'requested',
      'approved',
      'credentials-issued',
      'executed',
    ]);
    expect(verifyChain(chain).ok).toBe(true);
    expect(lambda).toHaveReceivedCommandTimes(UpdateFunctionConfigurationCommand, 1);
  });

  it('expires an approval that ran out before execution and mints nothing', async () => {
    await approved('exec-late');
    clock.current = new Date(EXPIRES);

    const result = await executeApproved({ requestId: 'exec-late', parameters: { MemorySize: 512 } }, deps);

    expect(result).toMatchObject({ outcome: 'expired', publish: { DetailType: 'Action Expired' } });
    expect(sts).not.toHaveReceivedAnyCommand();
    expect((await audit.read('exec-late')).at(-1)).toMatchObject({
      type: 'expired',
      details: { expiresAt: EXPIRES },
    });
    expect((await store.get('exec-late'))?.state).toBe('expired');
  });

  it('records a failed call as failed, with the error and no secrets', async () => {
    // Prepare
    await approved('exec-fails');
    lambda.on(UpdateFunctionConfigurationCommand).rejects(
      Object.assign(new Error('The operation cannot be performed at this time. An update is in progress.'), {
        name: 'ResourceConflictException',
        $metadata: { requestId: 'LAMBDAREQ1' },
      }),
    );

    // Act
    const result = await executeApproved({ requestId: 'exec-fails', parameters: { MemorySize: 512 } }, deps);

    // Assess
    const reason =
      'ResourceConflictException: The operation cannot be performed at this time. An update is in progress.';
    expect(result).toMatchObject({
      requestId: 'exec-fails',
      outcome: 'failed',
      publish: { DetailType: 'Action Failed' },
    });
    expect(JSON.parse(result.publish.Detail)).toMatchObject({
      outcome: 'failed',
      reason,
      approvers: ['alice@example.com', 'bob@example.com'],
    });
    const chain = await audit.read('exec-fails');
    expect(chain.map((entry) => entry.type)).toEqual([
      'requested',
      'approved',
      'credentials-issued',
      'failed',
    ]);
    expect(chain.at(-1)?.details).toEqual({
      stage: 'call',
      name: 'ResourceConflictException',
      message: 'The operation cannot be performed at this time. An update is in progress.',
      awsRequestId: 'LAMBDAREQ1',
    });
    const stored = await store.get('exec-fails');
    expect(stored).toMatchObject({ state: 'failed', outcomeReason: reason });
    expectNoSecrets(chain, stored);
  });

  it('writes the session’s secret key and token to no record and no log line', async () => {
    // Prepare
    await approved('exec-secrets');

    // Act
    const result = await executeApproved(
      { requestId: 'exec-secrets', parameters: { MemorySize: 512 } },
      deps,
    );

    // Assess
    const logged = output.join('');
    expect(logged).toContain('credentials issued');
    expect(logged).toContain('ASIAEXECUTESESSION');
    expectNoSecrets(await audit.read('exec-secrets'), await store.get('exec-secrets'));
    expect(JSON.stringify(result)).not.toContain(SECRET_ACCESS_KEY);
    expect(JSON.stringify(result)).not.toContain(SESSION_TOKEN);
  });

  it('names the policy as the reviewer of a request it approved on its own', async () => {
    // Prepare
    await approved('exec-auto', { operation: 's3:GetObject', resource: OBJECT, parameters: {}, auto: true });
    // The executor only iterates the body, so a plain stream stands in for the SDK's.
    const Body = Readable.from([Buffer.from('a,b\n')]) as unknown as GetObjectCommandOutput['Body'];
    s3.on(GetObjectCommand).resolves({ Body, ContentType: 'text/csv' });

    // Act
    const result = await executeApproved({ requestId: 'exec-auto', parameters: {} }, deps);

    // Assess
    expect(result.outcome).toBe('executed');
    expect(sts.commandCalls(AssumeRoleCommand)[0].args[0].input).toMatchObject({
      RoleArn: ROLES['data-read'],
      Tags: [
        { Key: 'RequestId', Value: 'exec-auto' },
        { Key: 'Approvers', Value: AUTO_APPROVER },
      ],
    });
    const detail = JSON.parse(result.publish.Detail);
    expect(detail.result).toMatchObject({ contentLength: 4, url: expect.any(String) });
    await expect(verifyReceipt(detail.receipt, signer.publicJwk())).resolves.toMatchObject({
      ok: true,
      value: { reviewers: [AUTO_APPROVER], decidedAt: CREATED },
    });
  });

  it.each([
    [
      'an operation outside the catalog',
      {
        operation: 'ec2:TerminateInstances',
        resource: `arn:aws:ec2:eu-west-1:${ACCOUNT}:instance/i-1`,
        parameters: {},
      },
      {
        stage: 'plan',
        name: 'unknown-operation',
        message: 'ec2:TerminateInstances is not in the action catalog, so it cannot be executed',
      },
    ],
    [
      'parameters the catalog refuses',
      { parameters: { MemorySize: 512, Role: `arn:aws:iam::${ACCOUNT}:role/admin` } },
      {
        stage: 'plan',
        name: 'invalid-parameters',
        message: 'Role: changing the execution role needs iam:PassRole, which no session is given',
      },
    ],
    [
      'a role class without an execution role',
      {
        operation: 'dynamodb:ExportTableToPointInTime',
        resource: `arn:aws:dynamodb:eu-west-1:${ACCOUNT}:table/orders`,
        parameters: { S3Bucket: 'exports' },
      },
      {
        stage: 'plan',
        name: 'NoExecutionRole',
        message: 'no execution role is configured for role class data-export',
      },
    ],
    [
      'a change to one of the execution roles',
      {
        operation: 'iam:AttachRolePolicy',
        resource: ROLES['lambda-config'].replace('action-approvals', 'Action-Approvals'),
        parameters: { PolicyArn: 'arn:aws:iam::aws:policy/AdministratorAccess' },
      },
      {
        stage: 'plan',
        name: 'ProtectedResource',
        message: 'the approved resource is one of the execution roles of action-approvals',
      },
    ],
  ])('fails closed on %s, before any session exists', async (_what, options, failure) => {
    // Prepare
    const requestId = `exec-closed-${failure.name}`;
    await approved(requestId, options);

    // Act
    const result = await executeApproved({ requestId, parameters: options.parameters }, deps);

    // Assess
    expect(result.outcome).toBe('failed');
    expect(sts).not.toHaveReceivedAnyCommand();
    const chain = await audit.read(requestId);
    expect(chain.map((entry) => entry.type)).toEqual(['requested', 'approved', 'failed']);
    expect(chain.at(-1)?.details).toEqual(failure);
    expect((await store.get(requestId))?.state).toBe('failed');
  });

  it('fails without running anything when STS refuses the session', async () => {
    await approved('exec-sts-down');
    sts.on(AssumeRoleCommand).rejects(
      Object.assign(new Error('User is not authorized to perform sts:TagSession'), {
        name: 'AccessDenied',
      }),
    );

    const result = await executeApproved(
      { requestId: 'exec-sts-down', parameters: { MemorySize: 512 } },
      deps,
    );

    expect(result.outcome).toBe('failed');
    expect(lambda).not.toHaveReceivedAnyCommand();
    expect((await audit.read('exec-sts-down')).at(-1)).toMatchObject({
      type: 'failed',
      details: {
        stage: 'credentials',
        name: 'AccessDenied',
        message: 'User is not authorized to perform sts:TagSession',
      },
    });
  });

  it('fails without minting a session when the receipt cannot be signed', async () => {
    await approved('exec-no-receipt');
    const broken = {
      keyId: 'kms-key',
      sign: () =>
        Promise.reject(Object.assign(new Error('KMS is unavailable'), { name: 'KMSInternalException' })),
    };

    const result = await executeApproved(
      { requestId: 'exec-no-receipt', parameters: { MemorySize: 512 } },
      { ...deps, signer: broken },
    );

    expect(result.outcome).toBe('failed');
    expect(sts).not.toHaveReceivedAnyCommand();
    expect((await audit.read('exec-no-receipt')).at(-1)?.details).toEqual({
      stage: 'receipt',
      name: 'KMSInternalException',
      message: 'KMS is unavailable',
    });
  });

  it('throws for a request that does not exist', async () => {
    await expect(executeApproved({ requestId: 'exec-nobody', parameters: {} }, deps)).rejects.toThrow(
      RequestNotFoundError,
    );
  });

  describe('Attack class 6: the audit trail holds decisions, not data', () => {
    const BODY = `salary,${'9'.repeat(20)}\n`.repeat(30_000);

    async function executedRead(requestId: string) {
      await approved(requestId, { operation: 's3:GetObject', resource: OBJECT, parameters: {}, auto: true });
      const Body = Readable.from([Buffer.from(BODY)]) as unknown as GetObjectCommandOutput['Body'];
      s3.on(GetObjectCommand).resolves({ Body, ContentType: 'text/csv' });
      return executeApproved({ requestId, parameters: {} }, deps);
    }

    it('records a digest, size and content type of the object read, never its content', async () => {
      await executedRead('exec-class6-audit');

      const executed = (await audit.read('exec-class6-audit')).find((record) => record.type === 'executed');
      expect(executed?.details).toMatchObject({
        result: {
          sha256: createHash('sha256').update(BODY).digest('hex'),
          contentLength: Buffer.byteLength(BODY),
          contentType: 'text/csv',
        },
      });
      const chain = JSON.stringify(await audit.read('exec-class6-audit'));
      expect(chain).not.toContain('salary,');
      expect(chain).not.toContain('X-Amz-Signature');
    });

    it('hands the agent the object by reference, in an outcome far below the 256 KB state limit', async () => {
      const result = await executedRead('exec-class6-outcome');

      expect(Buffer.byteLength(JSON.stringify(result))).toBeLessThan(16_384);
      expect(JSON.stringify(result)).not.toContain('salary,');
      const url = new URL(JSON.parse(result.publish.Detail).result.url);
      expect(url.pathname).toBe('/2026/q3/revenue.csv');
      expect(url.searchParams.get('X-Amz-Credential')).toMatch(/^ASIAEXECUTESESSION\//);
    });
  });
});

describe('Function: parseExecuteInput', () => {
  it('reads the request id and parameters the workflow passes', () => {
    expect(parseExecuteInput({ requestId: 'r-1', parameters: { a: 1 }, extra: true })).toEqual({
      requestId: 'r-1',
      parameters: { a: 1 },
    });
  });

  it('names what is missing from a malformed input', () => {
    expect(() => parseExecuteInput({ requestId: '' })).toThrow(
      'execute input is malformed: requestId, parameters',
    );
  });
});
