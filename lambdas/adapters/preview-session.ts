import { previewKindOf, previewReadPolicy, unavailablePreview, type ChangePreview } from '../core/preview';
import type { ActionRequest } from '../core/types';
import type { ChangePreviewer, Clock, PreviewRequester, SessionCredentials } from '../app/ports';
import type { AwsPreviewReader } from './preview-reader';
import type { StsCredentialIssuer } from './sts';

/**
 * How long a preview session's policy lets it read, at most: a preview is a handful of calls made
 * at once. STS issues nothing shorter than 15 minutes, so the policy, not the session, ends it.
 */
export const PREVIEW_SESSION_SECONDS = 120;

/** The preview role of each account whose resources can be previewed. */
export interface PreviewRoles {
  /** The role in this system's own account: previews of resources in any other account use it too. */
  readonly home: string;
  /** `{ "<account id>": "<preview role ARN in that account>" }` for each workload account. */
  readonly targetAccounts?: Readonly<Record<string, string>>;
}

export interface SessionChangePreviewerDeps {
  readonly sessions: Pick<StsCredentialIssuer, 'assumeForPreview'>;
  readonly reader: Pick<AwsPreviewReader, 'read'>;
  readonly roles: PreviewRoles;
  readonly clock: Clock;
}

/**
 * Reads a preview with a session minted for it alone: the preview role of the resource's account,
 * narrowed by a session policy to the read calls of the preview's kind on the request's own
 * resources, for a couple of minutes. Whatever fails (the role, the policy, the reads) becomes an
 * unavailable preview that says why.
 */
export class SessionChangePreviewer implements ChangePreviewer {
  constructor(private readonly deps: SessionChangePreviewerDeps) {}

  async preview(
    action: ActionRequest['action'],
    notAfter: string,
    requester: PreviewRequester,
  ): Promise<ChangePreview | undefined> {
    if (!previewKindOf(action.operation)) return undefined;
    const until = Math.min(
      Date.parse(notAfter),
      this.deps.clock.now().getTime() + PREVIEW_SESSION_SECONDS * 1000,
    );
    const policy = previewReadPolicy(
      action.operation,
      action.resource,
      action.parameters,
      new Date(until).toISOString(),
    );
    if (!policy) return unavailablePreview('the request does not name what the preview must read');
    let credentials: SessionCredentials;
    try {
      credentials = await this.deps.sessions.assumeForPreview({
        roleArn: this.roleFor(action.resource),
        requestId: requester.requestId,
        agentId: requester.agentId,
        sessionPolicy: policy,
      });
    } catch (error) {
      const name = error instanceof Error ? error.name : 'Error';
      const message = error instanceof Error ? error.message : String(error);
      return unavailablePreview(`no read-only session could be minted (${name}: ${message})`);
    }
    return this.deps.reader.read(
      { operation: action.operation, resource: action.resource, parameters: action.parameters },
      credentials,
    );
  }

  /** The preview role of the account the resource's ARN names, as the execute step picks its role. */
  private roleFor(resource: string): string {
    const account = resource.split(':')[4] ?? '';
    return (account && this.deps.roles.targetAccounts?.[account]) || this.deps.roles.home;
  }
}
