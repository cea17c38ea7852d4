import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DirectoryConfig } from '../../lambdas/core/directory';
import { ActionApprovals, type ActionApprovalsProps } from '../../lib/action-approvals';

export const ACCOUNT = '111122223333';
export const REGION = 'eu-west-1';

/** The feature flags of cdk.json, so tests synthesize what `cdk synth` synthesizes. */
export const FEATURE_FLAGS: Readonly<Record<string, unknown>> = (() => {
  const cdkJson = JSON.parse(readFileSync(join(__dirname, '..', '..', 'cdk.json'), 'utf8')) as {
    context: Record<string, unknown>;
  };
  return Object.fromEntries(Object.entries(cdkJson.context).filter(([key]) => key.startsWith('@aws-cdk/')));
})();

export const TEST_DIRECTORY: DirectoryConfig = {
  agents: { 'reporting-bot': { owners: ['owner@example.com'] } },
  reviewers: [
    {
      id: 'alice@example.com',
      groups: ['security'],
      slackUserId: 'UALICE',
      iamPrincipalArns: [`arn:aws:iam::${ACCOUNT}:user/alice`],
    },
    { id: 'bob@example.com', groups: ['security', 'operators'], teamsAadObjectId: 'aad-bob' },
  ],
  environments: {
    accounts: { [ACCOUNT]: 'production' },
    buckets: { 'reports-bucket': 'production' },
    default: 'production',
  },
};

export const SLACK = {
  channelId: 'C0123ABCD',
  botTokenSecret: 'action-approvals/slack-bot-token',
  signingSecret: 'action-approvals/slack-signing-secret',
} as const;
export const TEAMS = {
  appId: '00000000-0000-4000-8000-000000000001',
  appPasswordSecret: `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:action-approvals/teams-app-password-AbCdEf`,
  serviceUrl: 'https://smba.trafficmanager.net/emea/',
  conversationId: '19:approvals@thread.tacv2',
  tenantId: '11111111-2222-4333-8444-555555555555',
} as const;

/**
 * A stack to deploy into. Bundling is skipped (the template does not depend on the bundle's
 * contents, only on its hash, which snapshots mask); test/lib/bundling.test.ts bundles for real.
 */
export function testStack(options: { env?: boolean; bundle?: boolean } = {}): Stack {
  const app = new App({
    context: { ...FEATURE_FLAGS, ...(options.bundle ? {} : { 'aws:cdk:bundling-stacks': [] }) },
  });
  return new Stack(app, 'Test', options.env === false ? {} : { env: { account: ACCOUNT, region: REGION } });
}

export function deployActionApprovals(
  stack: Stack,
  props: Partial<ActionApprovalsProps> = {},
  id = 'Approvals',
): ActionApprovals {
  return new ActionApprovals(stack, id, { directory: TEST_DIRECTORY, ...props });
}

/** A template whose asset hashes are replaced, so source edits elsewhere do not churn snapshots. */
export function stableTemplate(stack: Stack): unknown {
  const json = JSON.stringify(Template.fromStack(stack).toJSON());
  return JSON.parse(
    json.replace(/[0-9a-f]{64}(\.zip)?/g, (_match, zip: string | undefined) => `<asset hash>${zip ?? ''}`),
  );
}

/** CloudFormation template types, as far as the tests read them. */
export interface CfnResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
  readonly Metadata?: Record<string, unknown>;
  readonly DependsOn?: string | string[];
}

export function resourcesOfType(template: Template, type: string): Record<string, CfnResource> {
  return template.findResources(type) as Record<string, CfnResource>;
}

/** The logical id of a construct's CloudFormation resource, e.g. of `fn.function`. */
export function logicalIdOf(stack: Stack, resource: { node: { defaultChild?: unknown } }): string {
  const child = resource.node.defaultChild as { logicalId: string } | undefined;
  if (!child) throw new Error('construct has no default CloudFormation resource');
  return stack.resolve(child.logicalId) as string;
}

/**
 * Resolves a CloudFormation value to a string, replacing references with placeholders:
 * `Ref AWS::Partition` → `aws`, `GetAtt X.Arn` → a concrete ARN of X's resource type.
 */
export function resolveWithPlaceholders(value: unknown, template: Template): string {
  const resources = template.toJSON().Resources as Record<string, CfnResource>;
  const visit = (node: unknown): string => {
    if (typeof node === 'string') return node;
    if (typeof node !== 'object' || node === null) throw new Error(`cannot resolve ${JSON.stringify(node)}`);
    const fn = node as Record<string, unknown>;
    if (Array.isArray(fn['Fn::Join'])) {
      const [separator, parts] = fn['Fn::Join'] as [string, unknown[]];
      return parts.map(visit).join(separator);
    }
    if (typeof fn.Ref === 'string') return pseudoOrRef(fn.Ref, resources);
    if (Array.isArray(fn['Fn::GetAtt'])) {
      const [logicalId, attribute] = fn['Fn::GetAtt'] as [string, string];
      return placeholderAttribute(logicalId, attribute, resources);
    }
    throw new Error(`cannot resolve ${JSON.stringify(node)}`);
  };
  return visit(value);
}

/** A policy document (or any JSON) with every CloudFormation reference resolved as above. */
export function resolveDocument(value: unknown, template: Template): unknown {
  if (Array.isArray(value)) return value.map((item) => resolveDocument(item, template));
  if (typeof value !== 'object' || value === null) return value;
  const keys = Object.keys(value);
  if (keys.length === 1 && (keys[0] === 'Ref' || keys[0].startsWith('Fn::')))
    return resolveWithPlaceholders(value, template);
  return Object.fromEntries(
    Object.entries(value).map(([key, item]) => [key, resolveDocument(item, template)]),
  );
}

function pseudoOrRef(ref: string, resources: Record<string, CfnResource>): string {
  const pseudo: Record<string, string> = {
    'AWS::Partition': 'aws',
    'AWS::Region': REGION,
    'AWS::AccountId': ACCOUNT,
    'AWS::URLSuffix': 'amazonaws.com',
  };
  if (pseudo[ref]) return pseudo[ref];
  if (!resources[ref]) throw new Error(`Ref to unknown resource ${ref}`);
  return `${ref}-name`;
}

function placeholderAttribute(
  logicalId: string,
  attribute: string,
  resources: Record<string, CfnResource>,
): string {
  const resource = resources[logicalId];
  if (!resource) throw new Error(`GetAtt of unknown resource ${logicalId}`);
  if (attribute !== 'Arn') return `${logicalId}-${attribute}`;
  switch (resource.Type) {
    case 'AWS::Lambda::Function':
      return `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${logicalId}`;
    case 'AWS::Events::EventBus':
      return `arn:aws:events:${REGION}:${ACCOUNT}:event-bus/${logicalId}`;
    case 'AWS::IAM::Role':
      return `arn:aws:iam::${ACCOUNT}:role/action-approvals/${logicalId}`;
    case 'AWS::KMS::Key':
      return `arn:aws:kms:${REGION}:${ACCOUNT}:key/${logicalId}`;
    case 'AWS::DynamoDB::Table':
      return `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${logicalId}`;
    case 'AWS::SQS::Queue':
      return `arn:aws:sqs:${REGION}:${ACCOUNT}:${logicalId}`;
    case 'AWS::S3::Bucket':
      return `arn:aws:s3:::${logicalId.toLowerCase()}`;
    default:
      throw new Error(`no placeholder ARN for ${resource.Type}`);
  }
}
