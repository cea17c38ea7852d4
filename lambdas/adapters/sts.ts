import { AssumeRoleCommand, type STSClient } from '@aws-sdk/client-sts';
import { createHash } from 'node:crypto';
import type { PreviewReadPolicy } from '../core/preview';
import { serializeSessionPolicy } from '../core/session-policy';
import {
  ActionApprovalsError,
  type AssumeForActionInput,
  type CredentialIssuer,
  type SessionCredentials,
} from '../app/ports';

/** The shortest session STS issues; the session policy's expiry, not this, ends its usefulness. */
export const SESSION_DURATION_SECONDS = 900;

/** What was asked of STS could never be accepted by it; nothing was sent. */
export class SessionInputError extends ActionApprovalsError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'SessionInputError';
  }
}

// AssumeRole's documented constraints: RoleSessionName and SourceIdentity are 2-64 characters of
// [\w+=,.@-] (and a SourceIdentity may not start with `aws:`, which the character set already
// rules out); a session tag value is at most 256 characters of [\p{L}\p{Z}\p{N}_.:/=+\-@].
const NAME_CHARACTERS = /^[\w+=,.@-]{2,64}$/;
const NOT_A_NAME_CHARACTER = /[^\w+=,.@-]/g;
const NOT_A_TAG_CHARACTER = /[^\p{L}\p{Z}\p{N}_.:/=+\-@]/gu;
const NAME_MAX = 64;
const TAG_VALUE_MAX = 256;

/**
 * The RoleSessionName for a request: the request id itself when STS accepts it, so CloudTrail
 * shows it verbatim; otherwise a readable prefix and a hash of the full id, so two requests never
 * share a session name.
 */
export function roleSessionName(requestId: string): string {
  if (NAME_CHARACTERS.test(requestId)) return requestId;
  const digest = createHash('sha256').update(requestId, 'utf8').digest('hex').slice(0, 16);
  const readable = requestId.replace(NOT_A_NAME_CHARACTER, '_').slice(0, NAME_MAX - digest.length - 1);
  return `${readable}.${digest}`;
}

/**
 * A session tag value made of `text`: characters STS refuses become `_`, and it is cut to STS's
 * 256-character limit.
 */
export function sessionTagValue(text: string): string {
  return text.replace(NOT_A_TAG_CHARACTER, '_').slice(0, TAG_VALUE_MAX);
}

/**
 * The `Approvers` tag value: the identities separated by spaces. When they do not all fit, whole
 * identities are kept and the rest are counted (`+2`), so the tag never shows a cut-off identity.
 */
export function approversTagValue(approvers: readonly string[]): string {
  const names = approvers.map((approver) => sessionTagValue(approver.replace(/\s/g, '_')));
  let value = names.join(' ');
  for (let kept = names.length - 1; value.length > TAG_VALUE_MAX && kept > 0; kept -= 1) {
    value = `${names.slice(0, kept).join(' ')} +${names.length - kept}`;
  }
  // Only a single identity longer than the limit is still too long here.
  return value.slice(0, TAG_VALUE_MAX);
}

/** What a read-only preview session is minted with: no approvers yet, a read policy. */
export interface AssumeForPreviewInput {
  /** The preview role of the resource's account. */
  readonly roleArn: string;
  readonly requestId: string;
  readonly agentId: string;
  readonly sessionPolicy: PreviewReadPolicy;
}

/** Mints the session for one approved action with STS AssumeRole. */
export class StsCredentialIssuer implements CredentialIssuer {
  constructor(private readonly client: STSClient) {}

  /**
   * @throws SessionInputError when the agent id cannot be a SourceIdentity (it is not rewritten:
   *   a trust policy may match `sts:SourceIdentity` against it).
   */
  async assumeForAction(input: AssumeForActionInput): Promise<SessionCredentials> {
    return this.assume(input, serializeSessionPolicy(input.sessionPolicy), [
      { Key: 'RequestId', Value: sessionTagValue(input.requestId) },
      { Key: 'Approvers', Value: approversTagValue(input.approvers) },
    ]);
  }

  /**
   * The read-only session a preview is read with, named like an execution session (the agent as
   * source identity, the request as a tag) so CloudTrail attributes its reads the same way.
   * @throws SessionInputError as `assumeForAction`
   */
  async assumeForPreview(input: AssumeForPreviewInput): Promise<SessionCredentials> {
    return this.assume(input, JSON.stringify(input.sessionPolicy), [
      { Key: 'RequestId', Value: sessionTagValue(input.requestId) },
    ]);
  }

  private async assume(
    input: { readonly roleArn: string; readonly requestId: string; readonly agentId: string },
    policy: string,
    tags: readonly { readonly Key: string; readonly Value: string }[],
  ): Promise<SessionCredentials> {
    if (!NAME_CHARACTERS.test(input.agentId)) {
      throw new SessionInputError(
        `agent id ${JSON.stringify(input.agentId)} cannot be an STS SourceIdentity (2-64 of [\\w+=,.@-])`,
      );
    }
    const { Credentials } = await this.client.send(
      new AssumeRoleCommand({
        RoleArn: input.roleArn,
        RoleSessionName: roleSessionName(input.requestId),
        Policy: policy,
        DurationSeconds: SESSION_DURATION_SECONDS,
        SourceIdentity: input.agentId,
        Tags: tags.map((tag) => ({ ...tag })),
      }),
    );
    if (
      !Credentials?.AccessKeyId ||
      !Credentials.SecretAccessKey ||
      !Credentials.SessionToken ||
      !Credentials.Expiration
    ) {
      throw new ActionApprovalsError('STS answered AssumeRole without credentials');
    }
    return {
      accessKeyId: Credentials.AccessKeyId,
      secretAccessKey: Credentials.SecretAccessKey,
      sessionToken: Credentials.SessionToken,
      expiration: Credentials.Expiration,
    };
  }
}
