import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import fc from 'fast-check';
import {
  approversTagValue,
  roleSessionName,
  SessionInputError,
  sessionTagValue,
  StsCredentialIssuer,
} from '../../lambdas/adapters/sts';
import type { AssumeForActionInput } from '../../lambdas/app/ports';
import { previewReadPolicy } from '../../lambdas/core/preview';
import {
  buildSessionPolicy,
  serializeSessionPolicy,
  type SessionPolicyDocument,
} from '../../lambdas/core/session-policy';

const sts = mockClient(STSClient);

const ROLE = 'arn:aws:iam::111122223333:role/action-approvals-lambda-config';
const EXPIRATION = new Date('2026-11-24T10:15:00.000Z');
// The shape AssumeRole's documentation gives for RoleSessionName and SourceIdentity.
const STS_NAME = /^[\w+=,.@-]{2,64}$/;
const TAG_VALUE = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]{0,256}$/u;

const sessionPolicy: SessionPolicyDocument = (() => {
  const built = buildSessionPolicy({
    operation: 'lambda:UpdateFunctionConfiguration',
    resource: 'arn:aws:lambda:eu-west-1:111122223333:function:billing',
    notAfter: '2026-11-24T10:10:00.000Z',
  });
  if (!built.ok) throw new Error(built.error.message);
  return built.value;
})();

function session(overrides: Partial<AssumeForActionInput> = {}): AssumeForActionInput {
  return {
    roleArn: ROLE,
    requestId: 'req-2026-11-24-0001',
    agentId: 'deploy-bot',
    approvers: ['alice@example.com', 'arn:aws:iam::111122223333:user/bob'],
    sessionPolicy,
    ...overrides,
  };
}

describe('Class: StsCredentialIssuer', () => {
  const issuer = new StsCredentialIssuer(new STSClient({ region: 'eu-west-1' }));

  beforeEach(() => {
    sts.reset();
    sts.on(AssumeRoleCommand).resolves({
      Credentials: {
        AccessKeyId: 'ASIAEXAMPLE',
        SecretAccessKey: 'secret-key',
        SessionToken: 'session-token',
        Expiration: EXPIRATION,
      },
    });
  });

  describe('Method: assumeForAction', () => {
    it('assumes the execution role with the session policy, 900 s, the agent as source identity and the request tags', async () => {
      // Act
      await issuer.assumeForAction(session());

      // Assess
      expect(sts).toHaveReceivedCommandTimes(AssumeRoleCommand, 1);
      const request = sts.commandCalls(AssumeRoleCommand)[0].args[0].input;
      expect(request.RoleArn).toBe(ROLE);
      expect(request.RoleSessionName).toBe('req-2026-11-24-0001');
      expect(request.Policy).toBe(serializeSessionPolicy(sessionPolicy));
      expect(request.DurationSeconds).toBe(900);
      expect(request.SourceIdentity).toBe('deploy-bot');
      expect(request.Tags).toEqual([
        { Key: 'RequestId', Value: 'req-2026-11-24-0001' },
        { Key: 'Approvers', Value: 'alice@example.com arn:aws:iam::111122223333:user/bob' },
      ]);
      expect(Object.keys(request).sort()).toEqual([
        'DurationSeconds',
        'Policy',
        'RoleArn',
        'RoleSessionName',
        'SourceIdentity',
        'Tags',
      ]);
    });

    it('returns the session credentials', async () => {
      await expect(issuer.assumeForAction(session())).resolves.toEqual({
        accessKeyId: 'ASIAEXAMPLE',
        secretAccessKey: 'secret-key',
        sessionToken: 'session-token',
        expiration: EXPIRATION,
      });
    });

    it.each([['x'], ['agent with spaces'], ['a'.repeat(65)]])(
      'refuses agent id %j as a source identity and calls nothing',
      async (agentId) => {
        await expect(issuer.assumeForAction(session({ agentId }))).rejects.toThrow(SessionInputError);
        expect(sts).not.toHaveReceivedAnyCommand();
      },
    );

    it('throws when STS answers without credentials', async () => {
      sts.on(AssumeRoleCommand).resolves({});

      await expect(issuer.assumeForAction(session())).rejects.toThrow(
        'STS answered AssumeRole without credentials',
      );
    });

    it('lets STS errors through', async () => {
      sts
        .on(AssumeRoleCommand)
        .rejects(
          Object.assign(new Error('packed policy too large'), { name: 'PackedPolicyTooLargeException' }),
        );

      await expect(issuer.assumeForAction(session())).rejects.toMatchObject({
        name: 'PackedPolicyTooLargeException',
      });
    });
  });
});

describe('Class: StsCredentialIssuer › Method: assumeForPreview', () => {
  const issuer = new StsCredentialIssuer(new STSClient({ region: 'eu-west-1' }));
  const PREVIEW_ROLE = 'arn:aws:iam::111122223333:role/action-approvals/Approvals-PreviewRole';
  const FUNCTION = 'arn:aws:lambda:eu-west-1:111122223333:function:billing';
  const readPolicy = previewReadPolicy(
    'lambda:UpdateFunctionConfiguration',
    FUNCTION,
    { MemorySize: 512 },
    '2026-11-24T10:02:00.000Z',
  )!;

  beforeEach(() => {
    sts.reset();
    sts.on(AssumeRoleCommand).resolves({
      Credentials: {
        AccessKeyId: 'ASIAPREVIEW',
        SecretAccessKey: 'preview-secret',
        SessionToken: 'preview-token',
        Expiration: EXPIRATION,
      },
    });
  });

  it('assumes the preview role with the read policy, the agent as source identity and the request tag only', async () => {
    await issuer.assumeForPreview({
      roleArn: PREVIEW_ROLE,
      requestId: 'req-2026-11-24-0001',
      agentId: 'deploy-bot',
      sessionPolicy: readPolicy,
    });

    expect(sts).toHaveReceivedCommandTimes(AssumeRoleCommand, 1);
    expect(sts.commandCalls(AssumeRoleCommand)[0].args[0].input).toEqual({
      RoleArn: PREVIEW_ROLE,
      RoleSessionName: 'req-2026-11-24-0001',
      Policy: JSON.stringify(readPolicy),
      DurationSeconds: 900,
      SourceIdentity: 'deploy-bot',
      Tags: [{ Key: 'RequestId', Value: 'req-2026-11-24-0001' }],
    });
  });

  it('refuses an agent id that cannot be a source identity, and calls nothing', async () => {
    await expect(
      issuer.assumeForPreview({
        roleArn: PREVIEW_ROLE,
        requestId: 'req-1',
        agentId: 'agent with spaces',
        sessionPolicy: readPolicy,
      }),
    ).rejects.toThrow(SessionInputError);
    expect(sts).not.toHaveReceivedAnyCommand();
  });
});

describe('Function: roleSessionName', () => {
  it('is the request id when STS accepts it as it is', () => {
    expect(roleSessionName('req-1')).toBe('req-1');
  });

  it('keeps a readable prefix and adds a hash when the request id is too long', () => {
    const long = `${'a'.repeat(60)}-tail-1`;

    const name = roleSessionName(long);

    expect(name).toHaveLength(64);
    expect(name.startsWith('a'.repeat(47))).toBe(true);
    expect(roleSessionName(`${'a'.repeat(60)}-tail-2`)).not.toBe(name);
  });

  it('is always a valid session name, and distinct for distinct ids', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 120 }), fc.string({ maxLength: 120 }), (a, b) => {
        expect(roleSessionName(a)).toMatch(STS_NAME);
        if (a !== b) expect(roleSessionName(a)).not.toBe(roleSessionName(b));
      }),
      { numRuns: 500 },
    );
  });
});

describe('Function: sessionTagValue', () => {
  it('replaces characters STS refuses and stays within 256 characters', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 400 }), (text) => {
        expect(sessionTagValue(text)).toMatch(TAG_VALUE);
      }),
      { numRuns: 500 },
    );
  });

  it('keeps e-mail addresses and ARNs as they are', () => {
    expect(sessionTagValue('arn:aws:iam::111122223333:user/alice+ops@example.com')).toBe(
      'arn:aws:iam::111122223333:user/alice+ops@example.com',
    );
  });
});

describe('Function: approversTagValue', () => {
  it('joins the approvers with spaces', () => {
    expect(approversTagValue(['alice@example.com', 'policy:auto-approve'])).toBe(
      'alice@example.com policy:auto-approve',
    );
  });

  it('keeps whole identities and counts the ones that do not fit', () => {
    const approvers = Array.from(
      { length: 10 },
      (_, index) => `reviewer-${index}-${'x'.repeat(30)}@example.com`,
    );

    const value = approversTagValue(approvers);

    expect(value.length).toBeLessThanOrEqual(256);
    expect(value).toBe(`${approvers.slice(0, 4).join(' ')} +6`);
  });

  it('is always a valid tag value', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ maxLength: 300 }), { minLength: 1, maxLength: 12 }), (approvers) => {
        expect(approversTagValue(approvers)).toMatch(TAG_VALUE);
      }),
      { numRuns: 300 },
    );
  });
});
