import { App, type Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import {
  ActionApprovalsTarget,
  ActionApprovalsTargetStack,
  TARGET_ROLE_CLASSES,
  targetRoleArn,
  targetRoleName,
} from '../../lib/action-approvals-target';
import { PREVIEW_READ_ACTIONS } from '../../lambdas/core/preview';
import { PREVIEW_ROLE_NAME, targetPreviewRoleArn } from '../../lib/preview-roles';
import { deployActionApprovals, FEATURE_FLAGS, testStack } from './deploy';

const EXECUTE_ROLE = 'arn:aws:iam::111122223333:role/action-approvals/Approvals-ExecuteRole';

function memberStack(props: Partial<ConstructorParameters<typeof ActionApprovalsTarget>[2]> = {}): Stack {
  const app = new App({ context: { ...FEATURE_FLAGS } });
  // No env: a StackSet template is the same for every account it is deployed to.
  return new ActionApprovalsTargetStack(app, 'Member', {
    executeRoleArn: EXECUTE_ROLE,
    settings: { 'data-read': { resources: ['arn:aws:s3:::reports-bucket/*'] } },
    ...props,
  });
}

function unacknowledgedFindings(scope: IConstruct): string[] {
  return new AwsSolutionsChecks(scope)
    .validateScope(scope)
    .violations.flatMap((violation) =>
      violation.violatingResources.map((resource) => `${violation.ruleName} ${resource.constructPath ?? ''}`),
    );
}

describe('Construct: ActionApprovalsTarget', () => {
  const template = Template.fromStack(memberStack());

  it('creates one execution role per class, under fixed names the central account can compute', () => {
    for (const roleClass of TARGET_ROLE_CLASSES) {
      template.hasResourceProperties('AWS::IAM::Role', {
        RoleName: targetRoleName(roleClass),
        Path: '/action-approvals/',
      });
    }
    expect(Object.keys(template.findResources('AWS::IAM::Role'))).toHaveLength(TARGET_ROLE_CLASSES.length);
    expect(targetRoleArn('444455556666', 'generic-change')).toBe(
      'arn:aws:iam::444455556666:role/action-approvals/action-approvals-generic-change',
    );
  });

  it('trusts only the central execute role, which must set a source identity and only the request tags', () => {
    template.allResourcesProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: [
          {
            Action: 'sts:AssumeRole',
            Effect: 'Allow',
            Principal: { AWS: EXECUTE_ROLE },
            Condition: { StringLike: { 'sts:SourceIdentity': '?*' } },
          },
          {
            Sid: 'SourceIdentityIsTheAgent',
            Action: 'sts:SetSourceIdentity',
            Effect: 'Allow',
            Principal: { AWS: EXECUTE_ROLE },
            Condition: { StringLike: { 'sts:SourceIdentity': '?*' } },
          },
          {
            Sid: 'OnlyRequestTags',
            Action: 'sts:TagSession',
            Effect: 'Allow',
            Principal: { AWS: EXECUTE_ROLE },
            Condition: { 'ForAllValues:StringEquals': { 'aws:TagKeys': ['RequestId', 'Approvers'] } },
          },
        ],
      },
    });
  });

  it('caps every role with the one boundary, which denies changing these roles', () => {
    const boundaries = template.findResources('AWS::IAM::ManagedPolicy');
    expect(Object.keys(boundaries)).toHaveLength(1);
    const [boundaryId] = Object.keys(boundaries);
    template.allResourcesProperties('AWS::IAM::Role', { PermissionsBoundary: { Ref: boundaryId } });
    template.hasResourceProperties('AWS::IAM::ManagedPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Sid: 'NeverThisSystemsRoles',
            Effect: 'Deny',
            Action: 'iam:*',
            Resource: {
              'Fn::Join': [
                '',
                [
                  'arn:',
                  { Ref: 'AWS::Partition' },
                  ':iam::',
                  { Ref: 'AWS::AccountId' },
                  ':role/action-approvals/*',
                ],
              ],
            },
          }),
        ]),
      },
    });
  });

  it('gives the generic read role no write that a reading verb names', () => {
    template.hasResourceProperties('AWS::IAM::Role', {
      RoleName: 'action-approvals-generic-read',
      Policies: [
        {
          PolicyDocument: {
            Statement: Match.arrayWith([
              {
                Sid: 'NoWritesNamedAsReads',
                Effect: 'Deny',
                Action: 'states:GetActivityTask',
                Resource: '*',
              },
            ]),
          },
        },
      ],
    });
  });

  it('is a template without assets, lookups or parameters, so it deploys as a StackSet', () => {
    const json = template.toJSON() as { Parameters?: Record<string, unknown> };
    expect(json.Parameters ?? {}).toEqual({});
    expect(JSON.stringify(json)).not.toMatch(
      /AssetParameters|cdk-bootstrap|BootstrapVersion|Fn::ImportValue/,
    );
  });

  it('creates no data-read role when no bucket is named for it', () => {
    const without = Template.fromStack(memberStack({ settings: {} }));
    expect(Object.keys(without.findResources('AWS::IAM::Role'))).toHaveLength(TARGET_ROLE_CLASSES.length - 1);
  });

  it('creates only the classes it is asked for', () => {
    const only = Template.fromStack(
      memberStack({
        settings: {
          'data-read': { resources: ['arn:aws:s3:::reports-bucket/*'] },
          'generic-change': { enabled: false },
          'iam-admin': { enabled: false },
        },
      }),
    );
    expect(Object.keys(only.findResources('AWS::IAM::Role'))).toHaveLength(TARGET_ROLE_CLASSES.length - 2);
  });

  it('passes cdk-nag with every finding acknowledged on its construct', () => {
    expect(unacknowledgedFindings(memberStack())).toEqual([]);
  });

  it('acknowledges only findings that occur, each on the construct it names', () => {
    const stack = memberStack();
    const pack = new AwsSolutionsChecks(stack);
    Object.defineProperty(pack, 'isAcknowledged', { value: () => false });
    const all = pack.validateScope(stack).violations.flatMap((violation) =>
      violation.violatingResources.map((resource) => ({
        rule: violation.ruleName,
        path: resource.constructPath ?? '',
      })),
    );
    const recorded = stack.node.findAll().flatMap((construct) =>
      construct.node.metadata
        .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
        .flatMap((entry) =>
          Object.keys(entry.data as Record<string, string>).map((key) => ({
            path: construct.node.path,
            id: key.replace(/^[A-Za-z]+::/, ''),
          })),
        ),
    );
    expect(recorded.length).toBeGreaterThan(0);
    const unmatched = recorded.filter(
      (ack) => !all.some((finding) => finding.rule === ack.id && finding.path.startsWith(ack.path)),
    );
    expect(unmatched).toEqual([]);
  });

  it('fits the boundary in a managed policy', () => {
    const [boundary] = Object.values(template.findResources('AWS::IAM::ManagedPolicy')) as {
      Properties: { PolicyDocument: unknown };
    }[];
    // IAM counts a managed policy's characters without whitespace: at most 6,144.
    expect(JSON.stringify(boundary!.Properties.PolicyDocument).length).toBeLessThan(6_144);
  });
});

describe('Construct: ActionApprovalsTarget › preview role', () => {
  const EVALUATE_ROLE = 'arn:aws:iam::111122223333:role/action-approvals/Approvals-EvaluateRole';
  const withPreview = Template.fromStack(memberStack({ evaluateRoleArn: EVALUATE_ROLE }));
  const roles = withPreview.findResources('AWS::IAM::Role') as Record<
    string,
    { Properties: { RoleName: string; AssumeRolePolicyDocument: unknown; PermissionsBoundary: unknown } }
  >;
  const previewRole = Object.values(roles).find((role) => role.Properties.RoleName === PREVIEW_ROLE_NAME);

  it('is created under the name the central account computes, when the evaluate role is given', () => {
    expect(previewRole).toBeDefined();
    expect(targetPreviewRoleArn('444455556666')).toBe(
      'arn:aws:iam::444455556666:role/action-approvals/action-approvals-preview',
    );
    expect(Object.keys(roles)).toHaveLength(TARGET_ROLE_CLASSES.length + 1);
  });

  it('is not created without the evaluate role', () => {
    expect(
      Object.values(Template.fromStack(memberStack()).findResources('AWS::IAM::Role')).map(
        (role) => (role as { Properties: { RoleName: string } }).Properties.RoleName,
      ),
    ).not.toContain(PREVIEW_ROLE_NAME);
  });

  it('trusts only the central evaluate role, which must set a source identity and only the RequestId tag', () => {
    expect(previewRole?.Properties.AssumeRolePolicyDocument).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Action: 'sts:AssumeRole',
          Effect: 'Allow',
          Principal: { AWS: EVALUATE_ROLE },
          Condition: { StringLike: { 'sts:SourceIdentity': '?*' } },
        },
        {
          Sid: 'SourceIdentityIsTheAgent',
          Action: 'sts:SetSourceIdentity',
          Effect: 'Allow',
          Principal: { AWS: EVALUATE_ROLE },
          Condition: { StringLike: { 'sts:SourceIdentity': '?*' } },
        },
        {
          Sid: 'OnlyRequestTags',
          Action: 'sts:TagSession',
          Effect: 'Allow',
          Principal: { AWS: EVALUATE_ROLE },
          Condition: { 'ForAllValues:StringEquals': { 'aws:TagKeys': ['RequestId'] } },
        },
      ],
    });
  });

  it('leaves every execution role trusted by the execute role alone', () => {
    const others = Object.values(roles).filter((role) => role !== previewRole);
    for (const role of others)
      expect(JSON.stringify(role.Properties.AssumeRolePolicyDocument)).not.toContain(EVALUATE_ROLE);
    expect(JSON.stringify(previewRole?.Properties.AssumeRolePolicyDocument)).not.toContain(EXECUTE_ROLE);
  });

  it('carries the one boundary, which allows its reads', () => {
    const [boundaryId] = Object.keys(withPreview.findResources('AWS::IAM::ManagedPolicy'));
    expect(previewRole?.Properties.PermissionsBoundary).toEqual({ Ref: boundaryId });
    const narrow = Template.fromStack(
      memberStack({
        evaluateRoleArn: EVALUATE_ROLE,
        settings: { 'generic-change': { enabled: false }, 'generic-read': { enabled: false } },
      }),
    );
    const [boundary] = Object.values(narrow.findResources('AWS::IAM::ManagedPolicy')) as {
      Properties: { PolicyDocument: { Statement: { Sid: string; Action: string[] }[] } };
    }[];
    const allowed = boundary.Properties.PolicyDocument.Statement.find((s) => s.Sid === 'ApprovableActions');
    expect(allowed?.Action).toEqual(expect.arrayContaining(Object.values(PREVIEW_READ_ACTIONS).flat()));
  });

  it('passes cdk-nag with every finding acknowledged on its construct', () => {
    expect(unacknowledgedFindings(memberStack({ evaluateRoleArn: EVALUATE_ROLE }))).toEqual([]);
  });

  it.each([
    [{ executeRoleArn: 'central-execute' }, /executeRoleArn "central-execute" is not an IAM role ARN/],
    [{ evaluateRoleArn: 'arn:aws:iam::111122223333:user/eve' }, /evaluateRoleArn .* is not an IAM role ARN/],
    [{ evaluateRoleArn: EXECUTE_ROLE }, /evaluateRoleArn and executeRoleArn must be different roles/],
  ])('refuses trusted roles that are not two distinct role ARNs (%p)', (props, message) => {
    expect(() => memberStack(props)).toThrow(message);
  });
});

describe('Construct: ActionApprovals, with workload accounts', () => {
  const WORKLOAD = '444455556666';

  it('lets the execute function assume each class role in each workload account, and tells it their ARNs', () => {
    const stack = testStack();
    deployActionApprovals(stack, { targetAccounts: [WORKLOAD] });
    const template = Template.fromStack(stack);

    const statements = Object.values(template.findResources('AWS::IAM::Policy')).flatMap(
      (policy) =>
        (policy as { Properties: { PolicyDocument: { Statement: { Sid?: string }[] } } }).Properties
          .PolicyDocument.Statement,
    );
    const assume = statements.find((statement) => statement.Sid === 'AssumeWorkloadExecutionRoles') as
      { Action: string[]; Resource: unknown[] } | undefined;
    expect(assume?.Action).toEqual(['sts:AssumeRole', 'sts:SetSourceIdentity', 'sts:TagSession']);
    expect(assume?.Resource).toHaveLength(TARGET_ROLE_CLASSES.length);
    expect(JSON.stringify(template.toJSON())).toContain('TARGET_ACCOUNTS_JSON');
  });

  it('refuses a target account that is not an account id', () => {
    expect(() => deployActionApprovals(testStack(), { targetAccounts: ['prod'] })).toThrow(
      /targetAccounts: "prod" is not a 12-digit AWS account id/,
    );
  });
});
