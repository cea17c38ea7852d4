import { randomBytes } from 'node:crypto';
import type { PolicyDocument } from './iam-simulator';

/** A session minted by the local STS stand-in, kept so calls made with it can be authorized. */
export interface MintedSession {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken: string;
  readonly expiration: Date;
  readonly roleArn: string;
  readonly sessionName: string;
  readonly sourceIdentity?: string;
  readonly sessionPolicy?: PolicyDocument;
  readonly tags: Readonly<Record<string, string>>;
}

export class StsRequestError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'StsRequestError';
  }
}

const MIN_DURATION_SECONDS = 900;

/**
 * Mints credentials locally the way STS AssumeRole does, with the same input checks that matter
 * here (duration, session name, policy size), and remembers each session's policy: the local
 * gateway authorizes every call made with these keys against it.
 */
export class LocalSts {
  private readonly sessions = new Map<string, MintedSession>();

  assumeRole(form: URLSearchParams, now: Date): MintedSession {
    const roleArn = form.get('RoleArn') ?? '';
    const sessionName = form.get('RoleSessionName') ?? '';
    if (!/^arn:aws[a-z-]*:iam::\d{12}:role\/.+$/.test(roleArn))
      throw new StsRequestError('ValidationError', 'RoleArn must be a role ARN');
    if (!/^[\w+=,.@-]{2,64}$/.test(sessionName))
      throw new StsRequestError('ValidationError', 'RoleSessionName is invalid');
    const duration = Number(form.get('DurationSeconds') ?? 3600);
    if (!Number.isInteger(duration) || duration < MIN_DURATION_SECONDS || duration > 43_200) {
      throw new StsRequestError('ValidationError', 'DurationSeconds must be between 900 and 43200');
    }
    const policyText = form.get('Policy');
    if (policyText && policyText.length > 2048) {
      throw new StsRequestError('PackedPolicyTooLarge', 'Policy exceeds the 2048 character limit');
    }
    const tags: Record<string, string> = {};
    for (let i = 1; form.has(`Tags.member.${i}.Key`); i += 1) {
      tags[form.get(`Tags.member.${i}.Key`) ?? ''] = form.get(`Tags.member.${i}.Value`) ?? '';
    }
    const session: MintedSession = {
      accessKeyId: `ASIA${randomBytes(8).toString('hex').toUpperCase()}`,
      secretAccessKey: randomBytes(30).toString('base64'),
      sessionToken: randomBytes(64).toString('base64'),
      expiration: new Date(now.getTime() + duration * 1000),
      roleArn,
      sessionName,
      ...(form.get('SourceIdentity') ? { sourceIdentity: form.get('SourceIdentity') as string } : {}),
      ...(policyText ? { sessionPolicy: JSON.parse(policyText) as PolicyDocument } : {}),
      tags,
    };
    this.sessions.set(session.accessKeyId, session);
    return session;
  }

  session(accessKeyId: string): MintedSession | undefined {
    return this.sessions.get(accessKeyId);
  }
}

const escapeXml = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** The AssumeRole answer in STS's Query-protocol XML. */
export function assumeRoleResponse(session: MintedSession, requestId: string): string {
  const [, account] = /::(\d{12}):/.exec(session.roleArn) ?? [];
  const roleName = session.roleArn.split('/').at(-1) ?? '';
  return `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleResult>
    <Credentials>
      <AccessKeyId>${session.accessKeyId}</AccessKeyId>
      <SecretAccessKey>${escapeXml(session.secretAccessKey)}</SecretAccessKey>
      <SessionToken>${escapeXml(session.sessionToken)}</SessionToken>
      <Expiration>${session.expiration.toISOString()}</Expiration>
    </Credentials>
    <AssumedRoleUser>
      <AssumedRoleId>AROALOCAL:${escapeXml(session.sessionName)}</AssumedRoleId>
      <Arn>arn:aws:sts::${account}:assumed-role/${escapeXml(roleName)}/${escapeXml(session.sessionName)}</Arn>
    </AssumedRoleUser>
    ${session.sourceIdentity ? `<SourceIdentity>${escapeXml(session.sourceIdentity)}</SourceIdentity>` : ''}
  </AssumeRoleResult>
  <ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata>
</AssumeRoleResponse>`;
}

export function stsErrorResponse(error: StsRequestError, requestId: string): string {
  return `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <Error><Type>Sender</Type><Code>${error.code}</Code><Message>${escapeXml(error.message)}</Message></Error>
  <RequestId>${requestId}</RequestId>
</ErrorResponse>`;
}
