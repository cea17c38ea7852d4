import '../../local/polyfills';
import aslValidator from 'asl-validator';
import { ExecutionError } from 'aws-local-stepfunctions';
import { castBallot } from '../../lambdas/app/decide';
import { verifyChain, type AuditRecordType } from '../../lambdas/core/audit';
import { STILL_EXECUTING_ERROR, STORE_UNAVAILABLE_ERROR } from '../../lambdas/core/outcome';
import { STATE, WORKFLOW_FAILED_ERROR } from '../../lib/approval-workflow';
import { createTestTables, type TestTables } from '../support/dynamodb';
import { actionRequested, STAGING_ACCOUNT, testDeps, type TestDeps } from '../support/fixtures';
import { synthesizeWorkflow, WorkflowHarness, waitUntil, type SynthesizedWorkflow } from './harness';

// Synthesized once: every test runs the same definition, as deployed.
const workflow: SynthesizedWorkflow = synthesizeWorkflow();

describe('Workflow: the synthesized state machine', () => {
  it('is valid Amazon States Language', () => {
    // Prepare: the validator annotates what it is given.
    const definition = JSON.parse(JSON.stringify(workflow.definition)) as unknown;

    // Act
    const result = aslValidator(definition, { checkPaths: true, checkArn: true });

    // Assess
    expect(result.errorsText('\n')).toBe('');
    expect(result.isValid).toBe(true);
  });

  it('binds each Lambda task to its handler’s function', () => {
    const states = workflow.definition.States as Record<
      string,
      { Resource?: string; Parameters?: { FunctionName?: string } }
    >;
    expect(states[STATE.evaluate].Parameters?.FunctionName).toBe(workflow.functionArns.evaluate);
    expect(states[STATE.requestApproval].Parameters?.FunctionName).toBe(
      workflow.functionArns['request-approval'],
    );
    expect(states[STATE.requestApproval].Resource).toBe('arn:aws:states:::lambda:invoke.waitForTaskToken');
    expect(states[STATE.expire].Parameters?.FunctionName).toBe(workflow.functionArns.expire);
    expect(states[STATE.execute].Parameters?.FunctionName).toBe(workflow.functionArns.execute);
    expect(states[STATE.publish].Resource).toBe('arn:aws:states:::events:putEvents');
  });

  it('retries every Lambda task whose function found the store unavailable, with backoff', () => {
    const states = workflow.definition.States as Record<
      string,
      { Retry?: { ErrorEquals: string[]; BackoffRate?: number; MaxAttempts?: number }[] }
    >;
    const lambdaTasks = [
      STATE.evaluate,
      STATE.requestApproval,
      STATE.expire,
      STATE.execute,
      STATE.recordFailure,
    ];

    for (const task of lambdaTasks) {
      expect(states[task].Retry).toContainEqual(
        expect.objectContaining({
          ErrorEquals: expect.arrayContaining([STORE_UNAVAILABLE_ERROR]),
          BackoffRate: 2,
          MaxAttempts: 6,
        }),
      );
    }
  });
});

describe('Workflow: retries that carry a request on', () => {
  const states = workflow.definition.States as Record<
    string,
    {
      Parameters?: { Payload?: unknown };
      Retry?: {
        ErrorEquals: string[];
        IntervalSeconds: number;
        BackoffRate: number;
        MaxDelaySeconds?: number;
        MaxAttempts: number;
        JitterStrategy?: string;
      }[];
    }
  >;

  it('passes Evaluate the event and its execution’s id, which no agent can choose', () => {
    expect(states[STATE.evaluate].Parameters?.Payload).toEqual({
      'event.$': '$',
      'executionId.$': '$$.Execution.Id',
    });
  });

  it('retries the failure path while the request is executing until the sweep has certainly ended it', () => {
    const retry = states[STATE.recordFailure].Retry?.find((entry) =>
      entry.ErrorEquals.includes(STILL_EXECUTING_ERROR),
    );
    if (!retry) throw new Error('RecordFailure has no retry of StillExecuting');
    let waited = 0;
    for (let attempt = 0, wait = retry.IntervalSeconds; attempt < retry.MaxAttempts; attempt += 1) {
      waited += wait;
      wait = Math.min(wait * retry.BackoffRate, retry.MaxDelaySeconds ?? Infinity);
    }

    expect(retry.ErrorEquals).toEqual([STILL_EXECUTING_ERROR]);
    expect(retry.JitterStrategy ?? 'NONE').toBe('NONE');
    // The execute function's timeout (1 min) and a minute more, then the sweep's 5-minute interval.
    expect(waited).toBeGreaterThanOrEqual(120 + 300);
    expect(waited).toBeLessThan(120 + 300 + 120);
  });
});

describe('Workflow: one request through the interpreter with the real use cases', () => {
  let tables: TestTables;
  let deps: TestDeps;
  let harness: WorkflowHarness;

  beforeAll(async () => {
    tables = await createTestTables();
  });
  beforeEach(() => {
    deps = testDeps(tables);
    harness = new WorkflowHarness(workflow, deps);
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  const auditTypes = async (requestId: string): Promise<AuditRecordType[]> => {
    const records = await deps.evaluate.audit.read(requestId);
    expect(verifyChain(records)).toMatchObject({ ok: true });
    return records.map((record) => record.type);
  };
  const vote = (requestId: string, reviewerId: string, decision: 'approve' | 'deny') =>
    castBallot(
      {
        requestId,
        channel: 'slack',
        caller: reviewerId,
        reviewer: deps.decide.directory.reviewerById(reviewerId),
        decision,
      },
      harness.decide,
    );
  const awaitingVotes = (token: string) =>
    waitUntil(() => harness.callbacks.isWaiting(token), 'the approval task waits for its token');

  it('approve: two security reviewers approve, the action runs once, "Action Executed" is published', async () => {
    // Prepare
    const token = 'token-approve-AAAA/+==';
    const event = actionRequested({ requestId: 'wf-approve' });

    // Act
    const run = harness.run(event, token);
    await awaitingVotes(token);
    await vote('wf-approve', 'alice@example.com', 'approve');
    await vote('wf-approve', 'bob@example.com', 'approve');
    await run.result;
    await run.finished();

    // Assess
    expect(run.statesEntered()).toEqual([
      STATE.evaluate,
      STATE.route,
      STATE.requestApproval,
      STATE.execute,
      STATE.publish,
    ]);
    expect(harness.published).toHaveLength(1);
    expect(harness.published[0]).toMatchObject({
      Source: 'action-approvals',
      DetailType: 'Action Executed',
      EventBusName: workflow.eventBusArn,
      Detail: {
        requestId: 'wf-approve',
        outcome: 'executed',
        agentId: 'reporting-bot',
        approvers: ['alice@example.com', 'bob@example.com'],
      },
    });
    expect(typeof harness.published[0].Detail.receipt).toBe('string');
    expect(harness.decisionEvents.map((e) => e.DetailType)).toEqual(['Action Approved']);
    expect(harness.sessions).toHaveLength(1);
    expect(harness.sessions[0]).toMatchObject({
      requestId: 'wf-approve',
      agentId: 'reporting-bot',
      roleArn: expect.stringMatching(/^arn:aws:iam::\d{12}:role\/action-approvals\//),
    });
    expect(await auditTypes('wf-approve')).toEqual([
      'requested',
      'policy-evaluated',
      'approval-requested',
      'vote',
      'vote',
      'approved',
      'credentials-issued',
      'executed',
    ]);
    // The token reached the Requests table and no chat card.
    expect(JSON.stringify(deps.notifier.posted)).not.toContain(token);
  });

  it('deny: one reviewer denies, nothing runs, "Action Denied" comes from the task failure’s cause', async () => {
    const token = 'token-deny';
    const run = harness.run(actionRequested({ requestId: 'wf-deny' }), token);
    await awaitingVotes(token);

    await vote('wf-deny', 'bob@example.com', 'deny');
    await run.result;
    await run.finished();

    expect(run.statesEntered()).toEqual([
      STATE.evaluate,
      STATE.route,
      STATE.requestApproval,
      STATE.readDenial,
      STATE.publish,
    ]);
    expect(harness.published).toEqual([
      expect.objectContaining({
        Source: 'action-approvals',
        DetailType: 'Action Denied',
        Detail: expect.objectContaining({
          requestId: 'wf-deny',
          outcome: 'denied',
          reason: 'denied by bob@example.com',
        }),
      }),
    ]);
    expect(harness.sessions).toEqual([]);
    expect(await auditTypes('wf-deny')).toEqual([
      'requested',
      'policy-evaluated',
      'approval-requested',
      'vote',
      'denied',
    ]);
  });

  it('auto-approve: a read in staging runs without reviewers', async () => {
    const event = {
      ...actionRequested({
        requestId: 'wf-auto',
        operation: 's3:GetObject',
        resource: 'arn:aws:s3:::staging-reports/q3.csv',
        parameters: {},
      }),
      account: STAGING_ACCOUNT,
    };

    const run = harness.run(event, 'token-unused');
    await run.result;
    await run.finished();

    expect(run.statesEntered()).toEqual([STATE.evaluate, STATE.route, STATE.execute, STATE.publish]);
    expect(harness.published).toEqual([
      expect.objectContaining({
        DetailType: 'Action Executed',
        Detail: expect.objectContaining({
          requestId: 'wf-auto',
          outcome: 'executed',
          approvers: ['policy:auto-approve'],
        }),
      }),
    ]);
    expect(deps.notifier.posted).toEqual([]);
    expect(harness.sessions).toEqual([
      expect.objectContaining({
        requestId: 'wf-auto',
        roleArn: expect.stringContaining('role/action-approvals/'),
      }),
    ]);
    expect(await auditTypes('wf-auto')).toEqual([
      'requested',
      'policy-evaluated',
      'approved',
      'credentials-issued',
      'executed',
    ]);
  });

  it('expire: the approval task’s TTL timeout raises States.Timeout into Expire, "Action Expired" is published', async () => {
    // Prepare: time is faked so the TTL can pass; Date stays real for the SDK's request signing.
    jest.useFakeTimers({
      doNotFake: ['Date', 'nextTick', 'setImmediate', 'queueMicrotask', 'performance', 'hrtime'],
      advanceTimers: true,
    });
    const token = 'token-expire';
    const run = harness.run(actionRequested({ requestId: 'wf-expire', ttlSeconds: 120 }), token);
    await awaitingVotes(token);

    // Act: one second short of the TTL the task still waits; at the TTL it times out.
    await jest.advanceTimersByTimeAsync(119_000);
    const waitingBeforeTtl = !run.statesEntered().includes(STATE.expire);
    deps.clock.advance(120);
    await jest.advanceTimersByTimeAsync(1_000);
    await run.result;
    await run.finished();

    // Assess
    expect(waitingBeforeTtl).toBe(true);
    expect(run.events).toContainEqual(
      expect.objectContaining({
        type: 'StateCaught',
        state: expect.objectContaining({ name: STATE.requestApproval }),
        catch: { catcher: expect.objectContaining({ ErrorEquals: ['States.Timeout'] }) },
      }),
    );
    expect(run.statesEntered()).toEqual([
      STATE.evaluate,
      STATE.route,
      STATE.requestApproval,
      STATE.expire,
      STATE.publish,
    ]);
    expect(harness.published).toEqual([
      expect.objectContaining({
        DetailType: 'Action Expired',
        Detail: expect.objectContaining({ requestId: 'wf-expire', outcome: 'expired' }),
      }),
    ]);
    expect(harness.sessions).toEqual([]);
    expect(await auditTypes('wf-expire')).toEqual([
      'requested',
      'policy-evaluated',
      'approval-requested',
      'expired',
    ]);
    // A vote that arrives after the expiry changes nothing.
    await expect(vote('wf-expire', 'alice@example.com', 'approve')).resolves.toMatchObject({
      kind: 'refused',
      code: 'not-awaiting-approval',
    });
  });

  it('malformed request: Evaluate rejects it and "Action Rejected" is published, no crash', async () => {
    const event = {
      ...actionRequested({ requestId: 'wf-malformed' }),
      detail: { requestId: 'wf-malformed', action: 'export everything' },
    };

    const run = harness.run(event, 'token-unused');
    await run.result;
    await run.finished();

    expect(run.statesEntered()).toEqual([STATE.evaluate, STATE.route, STATE.publish]);
    expect(harness.published).toEqual([
      expect.objectContaining({
        DetailType: 'Action Rejected',
        Detail: expect.objectContaining({
          requestId: 'wf-malformed',
          outcome: 'rejected',
          reasons: expect.any(Array),
        }),
      }),
    ]);
    expect(await auditTypes('wf-malformed')).toEqual(['rejected']);
  });

  it('policy deny: a forbidden operation is denied without reviewers', async () => {
    const run = harness.run(
      actionRequested({
        requestId: 'wf-forbidden',
        operation: 'iam:CreateAccessKey',
        resource: 'arn:aws:iam::111122223333:user/ci',
        parameters: {},
      }),
      'token-unused',
    );
    await run.result;

    expect(run.statesEntered()).toEqual([STATE.evaluate, STATE.route, STATE.publish]);
    expect(harness.published).toEqual([
      expect.objectContaining({
        DetailType: 'Action Denied',
        Detail: expect.objectContaining({ requestId: 'wf-forbidden', outcome: 'denied' }),
      }),
    ]);
  });

  it('duplicate event: the second execution ends at Duplicate and publishes nothing', async () => {
    const event = {
      ...actionRequested({
        requestId: 'wf-duplicate',
        operation: 's3:GetObject',
        resource: 'arn:aws:s3:::staging-reports/q4.csv',
        parameters: {},
      }),
      account: STAGING_ACCOUNT,
    };
    await harness.run(event, 'token-1').result;
    const published = harness.published.length;

    const second = harness.run(event, 'token-2');
    await second.result;
    await second.finished();

    expect(second.statesEntered()).toEqual([STATE.evaluate, STATE.route, STATE.duplicate]);
    expect(harness.published).toHaveLength(published);
    expect(harness.sessions).toHaveLength(1);
  });

  it('failure: a task that keeps failing is caught, "Action Failed" is published and the execution fails', async () => {
    // Prepare: a deployment whose Requests table does not exist.
    const broken = new WorkflowHarness(workflow, testDeps({ ...tables, requestsTable: 'no-such-table' }));

    const run = broken.run(actionRequested({ requestId: 'wf-broken' }), 'token-unused');
    const outcome = await run.result.then(
      () => 'succeeded',
      (error: unknown) => error,
    );
    await run.finished();

    expect(outcome).toBeInstanceOf(ExecutionError);
    expect(run.events).toContainEqual(
      expect.objectContaining({ type: 'ExecutionFailed', Error: WORKFLOW_FAILED_ERROR }),
    );
    expect(run.statesEntered()).toEqual([
      STATE.evaluate,
      STATE.recordFailure,
      STATE.tellAgent,
      STATE.publishFailure,
      STATE.failed,
    ]);
    expect(broken.published).toEqual([
      expect.objectContaining({
        Source: 'action-approvals',
        DetailType: 'Action Failed',
        Detail: expect.objectContaining({
          requestId: 'failed-evt-wf-broken',
          eventId: 'evt-wf-broken',
          outcome: 'failed',
          agentId: 'reporting-bot',
          reason: 'the workflow failed: ResourceNotFoundException',
        }),
      }),
    ]);
    // The request was never claimed, so its terminal record starts a chain of the event's own.
    expect(await deps.decide.audit.read('wf-broken')).toEqual([]);
    expect(await deps.decide.audit.read('failed-evt-wf-broken')).toEqual([
      expect.objectContaining({ seq: 0, type: 'failed', actor: { kind: 'agent', id: 'reporting-bot' } }),
    ]);
  });

  describe('Attack class 4: a failure touches only its own request', () => {
    it('an event reusing another agent’s request id that makes Evaluate fail changes nothing of that request', async () => {
      const token = 'token-class4-victim';
      const victimRun = harness.run(actionRequested({ requestId: 'wf-class4' }), token);
      await awaitingVotes(token);
      const before = await deps.decide.audit.read('wf-class4');
      const breaking = new WorkflowHarness(workflow, {
        ...deps,
        evaluate: {
          ...deps.evaluate,
          iam: {
            describeAction: () => Promise.reject(new Error('made to fail by the attacker')),
          },
        },
      });

      const attack = breaking.run(
        { ...actionRequested({ requestId: 'wf-class4' }, 'deploy-bot'), id: 'evt-class4-attack' },
        'token-class4-attack',
      );
      await attack.result.catch(() => undefined);
      await attack.finished();

      expect(attack.statesEntered()).toContain(STATE.recordFailure);
      expect((await deps.decide.requests.get('wf-class4'))?.state).toBe('awaiting-approval');
      expect(await deps.decide.audit.read('wf-class4')).toEqual(before);
      expect(breaking.published).toEqual([
        expect.objectContaining({
          DetailType: 'Action Failed',
          Detail: expect.objectContaining({ requestId: 'failed-evt-class4-attack', agentId: 'deploy-bot' }),
        }),
      ]);
      await vote('wf-class4', 'alice@example.com', 'deny');
      await victimRun.result.catch(() => undefined);
      await victimRun.finished();
    });
  });
});
