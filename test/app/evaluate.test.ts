import { verifyChain } from '../../lambdas/core/audit';
import { evaluateRequest } from '../../lambdas/app/evaluate';
import {
  actionRequested,
  STAGING_ACCOUNT,
  inMemoryStores,
  testDeps,
  type TestStores,
} from '../support/fixtures';

describe('Function: evaluateRequest', () => {
  let tables: TestStores;
  beforeAll(() => {
    tables = inMemoryStores();
  });

  it('asks for two security approvals for a production data export', async () => {
    const deps = testDeps(tables).evaluate;

    const result = await evaluateRequest(actionRequested({ requestId: 'eval-export' }), deps);

    expect(result).toEqual({
      requestId: 'eval-export',
      outcome: 'needs-approval',
      ttlSeconds: 900,
      expiresAt: '2026-11-24T10:15:00.000Z',
    });
    const record = await deps.requests.get('eval-export');
    expect(record?.rule).toEqual({
      quorum: 2,
      approverGroups: ['security'],
      expiresAt: '2026-11-24T10:15:00.000Z',
      requesterId: 'agent:reporting-bot',
      ownerIds: ['owner@example.com'],
    });
  });

  it('writes the requested and policy-evaluated records in a verifiable chain', async () => {
    const deps = testDeps(tables).evaluate;

    await evaluateRequest(actionRequested({ requestId: 'eval-chain' }), deps);

    const chain = await deps.audit.read('eval-chain');
    expect(chain.map((record) => record.type)).toEqual(['requested', 'policy-evaluated']);
    expect(verifyChain(chain)).toEqual({ ok: true, records: 2 });
    expect(chain[0].actor).toEqual({ kind: 'agent', id: 'reporting-bot' });
  });

  it('auto-approves a read outside production and records the approval', async () => {
    const deps = testDeps(tables).evaluate;
    const event = actionRequested({
      requestId: 'eval-read',
      operation: 's3:GetObject',
      resource: 'arn:aws:s3:::staging-reports/q3.csv',
      parameters: {},
    });

    const result = await evaluateRequest({ ...event, account: STAGING_ACCOUNT }, deps);

    expect(result).toMatchObject({ outcome: 'auto-approved' });
    expect((await deps.audit.read('eval-read')).map((r) => r.type)).toEqual([
      'requested',
      'policy-evaluated',
      'approved',
    ]);
    expect((await deps.requests.get('eval-read'))?.state).toBe('approved');
  });

  it('denies creating an access key and ends the chain with a denied record', async () => {
    const deps = testDeps(tables).evaluate;

    const result = await evaluateRequest(
      actionRequested({
        requestId: 'eval-deny',
        operation: 'iam:CreateAccessKey',
        resource: 'arn:aws:iam::111122223333:user/ci',
        parameters: {},
      }),
      deps,
    );

    expect(result).toMatchObject({
      outcome: 'denied',
      publish: { Source: 'action-approvals', DetailType: 'Action Denied' },
    });
    const chain = await deps.audit.read('eval-deny');
    expect(chain.map((r) => r.type)).toEqual(['requested', 'policy-evaluated', 'denied']);
    expect(verifyChain(chain).ok).toBe(true);
  });

  it('treats a second event with the same request id as a duplicate that changes nothing', async () => {
    const deps = testDeps(tables).evaluate;
    await evaluateRequest(actionRequested({ requestId: 'eval-dup' }), deps);

    const second = await evaluateRequest(
      actionRequested({ requestId: 'eval-dup', parameters: { S3Bucket: 'attacker' } }),
      deps,
    );

    expect(second).toEqual({ requestId: 'eval-dup', outcome: 'duplicate' });
    expect(await deps.audit.read('eval-dup')).toHaveLength(2);
  });

  it('rejects a malformed request with its reasons and a rejected record', async () => {
    const deps = testDeps(tables).evaluate;
    const event = actionRequested({ requestId: 'eval-bad', resource: 'arn:aws:s3:::not-a-table' });

    const result = await evaluateRequest(event, deps);

    expect(result).toMatchObject({ requestId: 'eval-bad', outcome: 'rejected' });
    const [record] = await deps.audit.read('eval-bad');
    expect(record).toMatchObject({
      type: 'rejected',
      actor: { kind: 'agent', id: 'reporting-bot' },
      details: {
        reasons: [
          'action.resource: "arn:aws:s3:::not-a-table" is not a resource type that dynamodb:ExportTableToPointInTime accepts',
        ],
      },
    });
  });

  it('records a rejection under the event id when the request id is unusable', async () => {
    const deps = testDeps(tables).evaluate;
    const event = {
      ...actionRequested({ requestId: 'x' }),
      id: 'evt-no-request-id',
      detail: { requestId: 'has spaces' },
    };

    const result = await evaluateRequest(event, deps);

    expect(result.requestId).toBe('rejected-evt-no-request-id');
    expect(await deps.audit.read('rejected-evt-no-request-id')).toHaveLength(1);
  });

  it('never writes a rejection into the chain of an existing request', async () => {
    const deps = testDeps(tables).evaluate;
    await evaluateRequest(actionRequested({ requestId: 'eval-taken' }), deps);
    const malformed = {
      ...actionRequested({ requestId: 'eval-taken' }),
      id: 'evt-taken-2',
      detail: { requestId: 'eval-taken' },
    };

    const result = await evaluateRequest(malformed, deps);

    expect(result.requestId).toBe('rejected-evt-taken-2');
    expect(verifyChain(await deps.audit.read('eval-taken'))).toEqual({ ok: true, records: 2 });
  });

  it('sends an action outside the catalog to reviewers, to run as its SDK command', async () => {
    const deps = testDeps(tables).evaluate;
    const event = actionRequested({
      requestId: 'eval-generic',
      operation: 'ec2:StopInstances',
      resource: 'arn:aws:ec2:eu-west-1:111122223333:instance/i-0123456789abcdef0',
      parameters: { InstanceIds: ['i-0123456789abcdef0'] },
    });

    const result = await evaluateRequest(event, deps);

    expect(result).toMatchObject({ outcome: 'needs-approval' });
  });

  it('rejects an action that has no SDK command before any reviewer sees it', async () => {
    const deps = testDeps(tables).evaluate;
    const event = actionRequested({
      requestId: 'eval-no-command',
      operation: 'iam:PassRole',
      resource: 'arn:aws:iam::111122223333:role/app',
      parameters: {},
    });

    const result = await evaluateRequest(event, deps);

    expect(result).toMatchObject({ outcome: 'rejected' });
    expect((await deps.audit.read('eval-no-command'))[0].details).toMatchObject({
      reasons: [
        expect.stringMatching(/^action\.operation: iam:PassRole cannot run: a permission AWS checks/),
      ],
    });
  });

  it('rejects an action IAM cannot scope to one resource when no policy allows that', async () => {
    const deps = testDeps(tables).evaluate;
    const event = actionRequested({
      requestId: 'eval-unscoped',
      operation: 'ec2:DescribeInstances',
      resource: 'arn:aws:ec2:eu-west-1:111122223333:instance/i-0123456789abcdef0',
      parameters: {},
    });

    const result = await evaluateRequest(event, deps);

    expect(result).toMatchObject({ outcome: 'rejected' });
    expect((await deps.audit.read('eval-unscoped'))[0].details).toMatchObject({
      reasons: [
        'action: ec2:DescribeInstances has no resource-level permission, so IAM cannot limit it to one resource; a policy must allow that with @allowUnscopedResource("true")',
      ],
    });
  });

  it('stores the preview of what will change, so every card shows it', async () => {
    const preview = {
      status: 'available',
      kind: 'ecs-service',
      lines: [{ subject: 'desiredCount', before: '2', after: '6' }],
      notes: [],
    } as const;
    const seen: unknown[] = [];
    const deps = {
      ...testDeps(tables).evaluate,
      previewer: {
        preview: async (action: unknown) => {
          seen.push(action);
          return preview;
        },
      },
    };
    const action = {
      operation: 'ecs:UpdateService',
      resource: 'arn:aws:ecs:eu-west-1:111122223333:service/prod/checkout',
      parameters: { cluster: 'prod', service: 'checkout', desiredCount: 6 },
    };

    await evaluateRequest(actionRequested({ requestId: 'eval-preview', ...action }), deps);

    expect(seen).toEqual([action]);
    expect((await deps.requests.get('eval-preview'))?.preview).toEqual(preview);
  });

  it('goes on without a preview that failed, saying why', async () => {
    const deps = {
      ...testDeps(tables).evaluate,
      previewer: {
        preview: async () => {
          throw new Error('the read-only role is missing');
        },
      },
    };

    const result = await evaluateRequest(
      actionRequested({
        requestId: 'eval-preview-failed',
        operation: 'ecs:UpdateService',
        resource: 'arn:aws:ecs:eu-west-1:111122223333:service/prod/checkout',
        parameters: { desiredCount: 6 },
      }),
      deps,
    );

    expect(result).toMatchObject({ outcome: 'needs-approval' });
    expect((await deps.requests.get('eval-preview-failed'))?.preview).toEqual({
      status: 'unavailable',
      reason: 'the preview failed: the read-only role is missing',
    });
  });

  it('rejects an agent that is not registered', async () => {
    const deps = testDeps(tables).evaluate;

    const result = await evaluateRequest(
      actionRequested({ requestId: 'eval-stranger' }, 'stranger-bot'),
      deps,
    );

    expect(result).toMatchObject({ outcome: 'rejected' });
    expect((await deps.audit.read('eval-stranger'))[0].details).toMatchObject({
      reasons: ['agent "stranger-bot" is not registered'],
    });
  });

  describe('Attack class 1: nothing runs that the reviewer could not see', () => {
    it('rejects, with a reason and a rejected record, parameters too large to show in full on a card', async () => {
      const deps = testDeps(tables).evaluate;
      const event = actionRequested({
        requestId: 'eval-unreadable',
        operation: 'lambda:UpdateFunctionConfiguration',
        resource: 'arn:aws:lambda:eu-west-1:111122223333:function:billing',
        // Within the 16 KB contract, but past what a Teams card can show whole: each backslash is
        // escaped once in the displayed JSON and again in the card's.
        parameters: { Environment: { Variables: { NODE_OPTIONS: `--require ${'\\'.repeat(7_500)}` } } },
      });

      const result = await evaluateRequest(event, deps);

      expect(result).toMatchObject({ requestId: 'eval-unreadable', outcome: 'rejected' });
      expect(await deps.requests.get('eval-unreadable')).toBeUndefined();
      const [record] = await deps.audit.read('eval-unreadable');
      expect(record.type).toBe('rejected');
      expect(String((record.details as { reasons: string[] }).reasons)).toMatch(
        /^action\.parameters: the request is too large for a reviewer to read in full on a Teams card/,
      );
    });

    it('rejects an environment variable whose only use is to run other code, saying why', async () => {
      const deps = testDeps(tables).evaluate;
      const event = actionRequested({
        requestId: 'eval-exec-wrapper',
        operation: 'lambda:UpdateFunctionConfiguration',
        resource: 'arn:aws:lambda:eu-west-1:111122223333:function:billing',
        parameters: { Environment: { Variables: { AWS_LAMBDA_EXEC_WRAPPER: '/opt/wrapper' } } },
      });

      const result = await evaluateRequest(event, deps);

      expect(result).toMatchObject({ outcome: 'rejected' });
      expect(String((await deps.audit.read('eval-exec-wrapper'))[0].details?.reasons)).toContain(
        'Environment.Variables.AWS_LAMBDA_EXEC_WRAPPER: forbidden: it runs a wrapper script',
      );
    });
  });

  describe('Attack class 2: agent text is inert and honest', () => {
    it('rejects a parameter value hiding a right-to-left override, naming it, with a rejected record', async () => {
      const deps = testDeps(tables).evaluate;
      const event = actionRequested({
        requestId: 'eval-bidi',
        parameters: { S3Bucket: 'exports', S3Prefix: 'orders/\u202e/txt.exe' },
      });

      const result = await evaluateRequest(event, deps);

      expect(result).toMatchObject({ requestId: 'eval-bidi', outcome: 'rejected' });
      const [record] = await deps.audit.read('eval-bidi');
      expect(record.details?.reasons).toEqual([
        'detail.action.parameters.S3Prefix: the value of parameter S3Prefix contains the invisible or control character \\u202E at position 7',
      ]);
    });
  });
});

describe('Attack class 3: environments come from authority', () => {
  let tables: TestStores;
  beforeAll(() => {
    tables = inMemoryStores();
  });

  it('does not auto-approve a read of an unmapped bucket sent from a staging account', async () => {
    const deps = testDeps(tables).evaluate;
    const event = actionRequested({
      requestId: 'class3-unmapped',
      operation: 's3:GetObject',
      resource: 'arn:aws:s3:::production-payroll/2026/salaries.csv',
      parameters: {},
    });

    const result = await evaluateRequest({ ...event, account: STAGING_ACCOUNT }, deps);

    expect(result.outcome).not.toBe('auto-approved');
    expect((await deps.requests.get('class3-unmapped'))?.state).not.toBe('approved');
  });
});
