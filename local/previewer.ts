import { AwsPreviewReader } from '../lambdas/adapters/preview-reader';
import type { ChangePreviewer } from '../lambdas/app/ports';
import {
  previewKindOf,
  previewReadPolicy,
  unavailablePreview,
  type ChangePreview,
} from '../lambdas/core/preview';
import type { ActionRequest } from '../lambdas/core/types';
import type { LocalSts } from './local-sts';

/**
 * The change preview in local mode: a read-only session minted by the local STS with the preview's
 * own session policy (the read calls its kind needs, until the approval's expiry), and the same
 * reader as in AWS, pointed at the gateway, where the stand-ins answer and the IAM policy
 * simulator authorizes each read against that session.
 */
export class LocalChangePreviewer implements ChangePreviewer {
  private readonly reader: AwsPreviewReader;

  constructor(
    private readonly sts: LocalSts,
    gatewayUrl: string,
    region: string,
    /** The read role in the account of the resource, as the execute step picks its roles. */
    private readonly readRoleFor: (resource: string) => string,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.reader = new AwsPreviewReader({ defaultRegion: region, endpoint: gatewayUrl });
  }

  async preview(action: ActionRequest['action'], notAfter: string): Promise<ChangePreview | undefined> {
    if (!previewKindOf(action.operation)) return undefined;
    const policy = previewReadPolicy(action.operation, action.resource, action.parameters, notAfter);
    if (!policy) return unavailablePreview('the request does not name what the preview must read');
    const session = this.sts.assumeRole(
      new URLSearchParams({
        RoleArn: this.readRoleFor(action.resource),
        RoleSessionName: 'action-approvals-preview',
        DurationSeconds: '900',
        Policy: JSON.stringify(policy),
      }),
      this.now(),
    );
    return this.reader.read(
      { operation: action.operation, resource: action.resource, parameters: action.parameters },
      session,
    );
  }
}
