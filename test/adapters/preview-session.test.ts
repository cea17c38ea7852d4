import { SessionChangePreviewer, type PreviewRoles } from '../../lambdas/adapters/preview-session';
import type { AssumeForPreviewInput } from '../../lambdas/adapters/sts';
import type { SessionCredentials } from '../../lambdas/app/ports';
import type { ChangePreview } from '../../lambdas/core/preview';
import { ManualClock } from '../support/fixtures';

const CREDENTIALS: SessionCredentials = {
  accessKeyId: 'ASIAPREVIEW',
  secretAccessKey: 'preview-secret',
  sessionToken: 'preview-token',
  expiration: new Date('2026-11-24T10:15:00.000Z'),
};
const READ: ChangePreview = { status: 'available', kind: 'ecs-service', lines: [], notes: [] };
const ROLES: PreviewRoles = {
  home: 'arn:aws:iam::111122223333:role/action-approvals/Approvals-PreviewRole',
  targetAccounts: {
    '444455556666': 'arn:aws:iam::444455556666:role/action-approvals/action-approvals-preview',
  },
};
const REQUESTER = { requestId: 'req-1', agentId: 'deploy-bot' };

/** A previewer whose STS and reader are stand-ins that remember what they were asked. */
function previewer() {
  const sessions: AssumeForPreviewInput[] = [];
  const reads: unknown[] = [];
  const subject = new SessionChangePreviewer({
    sessions: {
      assumeForPreview: async (input) => {
        sessions.push(input);
        return CREDENTIALS;
      },
    },
    reader: {
      read: async (target, credentials) => {
        reads.push({ target, credentials });
        return READ;
      },
    },
    roles: ROLES,
    clock: new ManualClock(new Date('2026-11-24T10:00:00.000Z')),
  });
  return { subject, sessions, reads };
}

const service = (account: string) => ({
  operation: 'ecs:UpdateService',
  resource: `arn:aws:ecs:eu-west-1:${account}:service/prod/checkout`,
  parameters: { desiredCount: 6 },
});

describe('Class: SessionChangePreviewer', () => {
  it('reads with the session it minted, in the resource’s workload account', async () => {
    const { subject, sessions, reads } = previewer();

    const preview = await subject.preview(service('444455556666'), '2026-11-24T10:15:00.000Z', REQUESTER);

    expect(preview).toBe(READ);
    expect(sessions.map((session) => session.roleArn)).toEqual([ROLES.targetAccounts!['444455556666']]);
    expect(reads).toEqual([{ target: service('444455556666'), credentials: CREDENTIALS }]);
  });

  it('uses this account’s preview role for an account that is not a workload account', async () => {
    const { subject, sessions } = previewer();

    await subject.preview(service('999988887777'), '2026-11-24T10:15:00.000Z', REQUESTER);

    expect(sessions[0]).toMatchObject({ roleArn: ROLES.home, requestId: 'req-1', agentId: 'deploy-bot' });
  });

  it('ends the session’s reads two minutes from now, or at the approval’s end when that is sooner', async () => {
    const { subject, sessions } = previewer();

    await subject.preview(service('111122223333'), '2026-11-24T10:15:00.000Z', REQUESTER);
    await subject.preview(service('111122223333'), '2026-11-24T10:01:00.000Z', REQUESTER);

    expect(sessions.map((session) => session.sessionPolicy.Statement[0].Condition)).toEqual([
      { DateLessThan: { 'aws:CurrentTime': '2026-11-24T10:02:00.000Z' } },
      { DateLessThan: { 'aws:CurrentTime': '2026-11-24T10:01:00.000Z' } },
    ]);
  });

  it('mints nothing and says so when the request does not name what the preview must read', async () => {
    const { subject, sessions } = previewer();

    const preview = await subject.preview(
      { operation: 'iam:AttachRolePolicy', resource: 'arn:aws:iam::111122223333:role/app', parameters: {} },
      '2026-11-24T10:15:00.000Z',
      REQUESTER,
    );

    expect(sessions).toEqual([]);
    expect(preview).toEqual({
      status: 'unavailable',
      reason: 'the request does not name what the preview must read',
    });
  });

  it('has nothing to say about an action without a preview', async () => {
    const { subject, sessions } = previewer();

    await expect(
      subject.preview(
        { ...service('111122223333'), operation: 'ecs:DeleteService' },
        '2026-11-24T10:15:00.000Z',
        REQUESTER,
      ),
    ).resolves.toBeUndefined();
    expect(sessions).toEqual([]);
  });
});
