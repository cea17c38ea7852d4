import { parametersHash } from '../../lambdas/core/canonical';
import type { RequestRecord } from '../../lambdas/core/lifecycle';
import { requestView } from '../../local/console/views';
import { PREVIEWS } from '../support/previews';

const SERVICE = 'arn:aws:ecs:eu-west-1:111122223333:service/prod/checkout';

function aRecord(extra: Partial<RequestRecord> = {}): RequestRecord {
  const parameters = { service: 'checkout', desiredCount: 6 };
  return {
    requestId: 'req-1',
    agentId: 'deploy-bot',
    state: 'awaiting-approval',
    version: 0,
    request: {
      requestId: 'req-1',
      agentId: 'deploy-bot',
      action: { operation: 'ecs:UpdateService', resource: SERVICE, parameters },
      parametersHash: parametersHash(parameters),
      justification: 'Traffic peak.',
      context: {},
      requestedAt: '2026-11-24T10:00:00Z',
    },
    policy: { outcome: 'require-approval', reason: 'needs review', policyIds: ['p'] },
    createdAt: '2026-11-24T10:00:00Z',
    expiresAt: '2026-11-24T10:15:00Z',
    ...extra,
  };
}

describe('Function: requestView', () => {
  it.each(PREVIEWS)('carries the %s preview with its heading for the console to show', (_name, preview) => {
    const view = requestView(aRecord({ preview }));

    expect(view.preview).toEqual(preview);
    expect(view.previewTitle).toEqual(
      {
        'lambda-configuration': 'Function configuration',
        'iam-policy-attachment': 'Policy attachment',
        'security-group-rules': 'Security group rules',
        'ecs-service': 'ECS service',
        'cloudformation-change-set': 'Stack change set',
      }[preview.status === 'available' ? preview.kind : 'ecs-service'],
    );
  });

  it('carries an unavailable preview with its reason and no heading', () => {
    const view = requestView(aRecord({ preview: { status: 'unavailable', reason: 'AccessDenied' } }));

    expect(view.preview).toEqual({ status: 'unavailable', reason: 'AccessDenied' });
    expect(view).not.toHaveProperty('previewTitle');
  });

  it('carries the unscoped-resource warning', () => {
    expect(requestView(aRecord({ unscopedResource: true })).scopeWarning).toMatch(
      /^IAM cannot limit this action to one resource/,
    );
  });
});
