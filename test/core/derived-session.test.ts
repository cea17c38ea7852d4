import fc from 'fast-check';
import { IamDataReference } from '../../lambdas/adapters/iam-reference';
import {
  companionRefusals,
  deriveSession,
  DerivedSessionRefusal,
  scopeRefusal,
  type DerivedSession,
  type DerivedSessionInput,
} from '../../lambdas/core/derived-session';
import type { IamActionInfo } from '../../lambdas/core/types';
import { ALLOW_EVERYTHING, isAllowed } from '../../local/iam-simulator';

const iam = new IamDataReference();
const NOT_AFTER = '2030-01-01T12:00:00Z';
const BEFORE_EXPIRY = new Date('2030-01-01T11:00:00Z');
const AFTER_EXPIRY = new Date('2030-01-01T12:00:01Z');
const SERVICE = 'arn:aws:ecs:eu-west-1:111122223333:service/prod/checkout';
const OTHER_SERVICE = 'arn:aws:ecs:eu-west-1:111122223333:service/prod/payments';
const TASK_ROLE = 'arn:aws:iam::111122223333:role/checkout-task';

async function infoOf(action: string): Promise<IamActionInfo> {
  const info = await iam.describeAction(action);
  if (!info) throw new Error(`${action} is not in IAM's reference`);
  return info;
}

function sessionOf(input: DerivedSessionInput): DerivedSession {
  const derived = deriveSession(input);
  if (!derived.ok)
    throw new Error(`expected a session, got ${derived.error.reason}: ${derived.error.message}`);
  return derived.value;
}

function ask(session: DerivedSession, action: string, resource: string, currentTime = BEFORE_EXPIRY) {
  return isAllowed({
    identityPolicy: ALLOW_EVERYTHING,
    sessionPolicy: session.policy,
    action,
    resource,
    currentTime,
    account: '111122223333',
  });
}

describe('Function: deriveSession', () => {
  it('allows the approved action on the approved resource and denies a sibling resource and another action', async () => {
    // Prepare
    const session = sessionOf({
      action: await infoOf('ecs:UpdateService'),
      resource: SERVICE,
      notAfter: NOT_AFTER,
      allowUnscopedResource: false,
      companions: [],
    });

    // Act + Assess
    await expect(ask(session, 'ecs:UpdateService', SERVICE)).resolves.toBe(true);
    await expect(ask(session, 'ecs:UpdateService', OTHER_SERVICE)).resolves.toBe(false);
    await expect(ask(session, 'ecs:DeleteService', SERVICE)).resolves.toBe(false);
  });

  it("stops allowing the call at the approval's expiry", async () => {
    // Prepare
    const session = sessionOf({
      action: await infoOf('ecs:UpdateService'),
      resource: SERVICE,
      notAfter: NOT_AFTER,
      allowUnscopedResource: false,
      companions: [],
    });

    // Act + Assess
    await expect(ask(session, 'ecs:UpdateService', SERVICE, AFTER_EXPIRY)).resolves.toBe(false);
  });

  it('grants a listed companion on its own resource and nothing beside it', async () => {
    // Prepare
    const session = sessionOf({
      action: await infoOf('ecs:UpdateService'),
      resource: SERVICE,
      notAfter: NOT_AFTER,
      allowUnscopedResource: false,
      companions: [
        { companion: { action: 'iam:PassRole', resource: TASK_ROLE }, info: await infoOf('iam:PassRole') },
      ],
    });

    // Act + Assess
    await expect(ask(session, 'iam:PassRole', TASK_ROLE)).resolves.toBe(true);
    await expect(ask(session, 'iam:PassRole', 'arn:aws:iam::111122223333:role/admin')).resolves.toBe(false);
    await expect(ask(session, 'iam:UpdateAssumeRolePolicy', TASK_ROLE)).resolves.toBe(false);
  });

  it('refuses an action IAM cannot scope when no policy allowed it', async () => {
    // Act
    const derived = deriveSession({
      action: await infoOf('ec2:DescribeInstances'),
      resource: 'arn:aws:ec2:eu-west-1:111122223333:instance/i-0abc',
      notAfter: NOT_AFTER,
      allowUnscopedResource: false,
      companions: [],
    });

    // Assess
    expect(!derived.ok && derived.error.reason).toBe(DerivedSessionRefusal.UnscopedAction);
  });

  it('allows an action IAM cannot scope on any resource when a policy allowed it, marking the session unscoped', async () => {
    // Prepare
    const session = sessionOf({
      action: await infoOf('ec2:DescribeInstances'),
      resource: 'arn:aws:ec2:eu-west-1:111122223333:instance/i-0abc',
      notAfter: NOT_AFTER,
      allowUnscopedResource: true,
      companions: [],
    });

    // Act + Assess
    expect(session.unscoped).toBe(true);
    expect(session.policy.Statement[0].Resource).toBe('*');
    await expect(ask(session, 'ec2:DescribeInstances', '*')).resolves.toBe(true);
    await expect(
      ask(session, 'ec2:TerminateInstances', 'arn:aws:ec2:eu-west-1:111122223333:instance/i-1'),
    ).resolves.toBe(false);
  });

  it('refuses a resource of a type the action does not accept', async () => {
    // Act
    const derived = deriveSession({
      action: await infoOf('ecs:UpdateService'),
      resource: 'arn:aws:ecs:eu-west-1:111122223333:cluster/prod',
      notAfter: NOT_AFTER,
      allowUnscopedResource: false,
      companions: [],
    });

    // Assess
    expect(!derived.ok && derived.error.reason).toBe(DerivedSessionRefusal.ResourceTypeMismatch);
  });

  it('refuses a companion whose action is not in IAM', async () => {
    // Act
    const derived = deriveSession({
      action: await infoOf('ecs:UpdateService'),
      resource: SERVICE,
      notAfter: NOT_AFTER,
      allowUnscopedResource: false,
      companions: [{ companion: { action: 'iam:PassRoles', resource: TASK_ROLE }, info: undefined }],
    });

    // Assess
    expect(derived).toEqual({
      ok: false,
      error: {
        reason: DerivedSessionRefusal.UnknownCompanion,
        message: 'companion 1 (iam:PassRoles): not an IAM action',
      },
    });
  });

  it('never grants more than the approved action on the approved resource, whatever the sibling asked for', async () => {
    const action = await infoOf('ecs:UpdateService');
    const session = sessionOf({
      action,
      resource: SERVICE,
      notAfter: NOT_AFTER,
      allowUnscopedResource: false,
      companions: [],
    });
    await fc.assert(
      fc.asyncProperty(
        fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/),
        fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/),
        async (cluster, name) => {
          const sibling = `arn:aws:ecs:eu-west-1:111122223333:service/${cluster}/${name}`;
          fc.pre(sibling !== SERVICE);
          expect(await ask(session, 'ecs:UpdateService', sibling)).toBe(false);
        },
      ),
      { numRuns: 40 },
    );
  });
});

describe('Function: scopeRefusal', () => {
  it('accepts a resource of a type the action accepts', async () => {
    expect(scopeRefusal(await infoOf('ecs:UpdateService'), SERVICE, false)).toBeUndefined();
  });
});

describe('Function: companionRefusals', () => {
  it('refuses a companion IAM cannot scope to one resource', async () => {
    expect(
      companionRefusals([
        {
          companion: {
            action: 'ec2:DescribeInstances',
            resource: 'arn:aws:ec2:eu-west-1:111122223333:instance/i-1',
          },
          info: await infoOf('ec2:DescribeInstances'),
        },
      ]),
    ).toEqual([
      'companion 1 (ec2:DescribeInstances): IAM cannot limit ec2:DescribeInstances to one resource',
    ]);
  });

  it('refuses a companion resource of a type its action does not accept', async () => {
    expect(
      companionRefusals([
        { companion: { action: 'iam:PassRole', resource: SERVICE }, info: await infoOf('iam:PassRole') },
      ]),
    ).toEqual([`companion 1 (iam:PassRole): "${SERVICE}" is not a resource type that iam:PassRole accepts`]);
  });
});
