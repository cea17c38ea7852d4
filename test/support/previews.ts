import type { ChangePreview } from '../../lambdas/core/preview';

/** One preview of each kind the cards show, as the preview builders make them. */
export const PREVIEWS: readonly (readonly [string, ChangePreview])[] = [
  [
    'Lambda configuration',
    {
      status: 'available',
      kind: 'lambda-configuration',
      lines: [
        { subject: 'MemorySize', before: '128', after: '512' },
        {
          subject: 'environment variable API_KEY',
          before: 'set (value hidden)',
          after: 'changed (value hidden)',
        },
      ],
      notes: [],
    },
  ],
  [
    'IAM policy attachment',
    {
      status: 'available',
      kind: 'iam-policy-attachment',
      lines: [
        { subject: 'policies attached to app', before: '(none)', after: 'IAMFullAccess' },
        {
          subject: 'IAMFullAccess grants on iam',
          before: '(not attached)',
          after: 'List, Permissions management',
        },
      ],
      notes: ['IAMFullAccess grants permissions management: whoever holds it can change permissions'],
    },
  ],
  [
    'EC2 security group rule',
    {
      status: 'available',
      kind: 'security-group-rules',
      lines: [{ subject: 'ingress tcp port 443 from 0.0.0.0/0', before: 'not allowed', after: 'allowed' }],
      notes: ['opens sg-0abc to the whole internet: tcp port 443'],
    },
  ],
  [
    'ECS service',
    {
      status: 'available',
      kind: 'ecs-service',
      lines: [
        { subject: 'desiredCount', before: '2', after: '6' },
        { subject: 'taskDefinition', before: 'checkout:7', after: 'checkout:8' },
      ],
      notes: [],
    },
  ],
  [
    'CloudFormation change set',
    {
      status: 'available',
      kind: 'cloudformation-change-set',
      lines: [{ subject: 'Db (AWS::RDS::DBInstance)', before: 'present', after: 'modified, replaced' }],
      notes: ['1 resource(s) replaced: their data and physical ids may not survive'],
    },
  ],
];
