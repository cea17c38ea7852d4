import { canonicalJson } from './canonical';
import { shortened, visiblyEscaped } from './text';

/** The changes a reviewer can see before → after, by the action that makes them. */
export const PREVIEW_KINDS = {
  'lambda:UpdateFunctionConfiguration': 'lambda-configuration',
  'iam:AttachRolePolicy': 'iam-policy-attachment',
  'iam:DetachRolePolicy': 'iam-policy-attachment',
  'ec2:AuthorizeSecurityGroupIngress': 'security-group-rules',
  'ec2:AuthorizeSecurityGroupEgress': 'security-group-rules',
  'ec2:RevokeSecurityGroupIngress': 'security-group-rules',
  'ec2:RevokeSecurityGroupEgress': 'security-group-rules',
  'ecs:UpdateService': 'ecs-service',
  'cloudformation:ExecuteChangeSet': 'cloudformation-change-set',
} as const satisfies Readonly<Record<string, string>>;
export type PreviewKind = (typeof PREVIEW_KINDS)[keyof typeof PREVIEW_KINDS];

/** One thing that changes. Every string is display-ready (escaped, bounded), never markup. */
export interface PreviewLine {
  readonly subject: string;
  readonly before: string;
  readonly after: string;
}

/** What the card shows of the change; read from AWS, so untrusted text like the parameters. */
export type ChangePreview =
  | {
      readonly status: 'available';
      readonly kind: PreviewKind;
      readonly lines: readonly PreviewLine[];
      /** What a reviewer should weigh beyond the lines (the internet opened, a resource replaced). */
      readonly notes: readonly string[];
    }
  | { readonly status: 'unavailable'; readonly reason: string };

/** Bounds that keep a preview inside every card, whatever the state it was read from. */
export const PREVIEW_LIMITS = { lines: 20, notes: 5, textLength: 160 } as const;

/** The heading each surface shows above a preview of this kind. */
export const PREVIEW_TITLES: Readonly<Record<PreviewKind, string>> = {
  'lambda-configuration': 'Function configuration',
  'iam-policy-attachment': 'Policy attachment',
  'security-group-rules': 'Security group rules',
  'ecs-service': 'ECS service',
  'cloudformation-change-set': 'Stack change set',
};

export function previewKindOf(operation: string): PreviewKind | undefined {
  return Object.hasOwn(PREVIEW_KINDS, operation)
    ? PREVIEW_KINDS[operation as keyof typeof PREVIEW_KINDS]
    : undefined;
}

export function unavailablePreview(reason: string): ChangePreview {
  return { status: 'unavailable', reason: clean(reason) };
}

const clean = (text: string): string => shortened(visiblyEscaped(text), PREVIEW_LIMITS.textLength);

/** A value as one line of compact JSON (strings unquoted), bounded. */
function shown(value: unknown): string {
  if (value === undefined || value === null) return '(not set)';
  if (typeof value === 'string') return clean(value);
  return clean(canonicalJson(value));
}

function preview(kind: PreviewKind, lines: readonly PreviewLine[], notes: readonly string[]): ChangePreview {
  const bounded = lines.slice(0, PREVIEW_LIMITS.lines).map((line) => ({
    subject: clean(line.subject),
    before: clean(line.before),
    after: clean(line.after),
  }));
  const hidden = lines.length - bounded.length;
  const allNotes = [
    ...(lines.length === 0 ? ['nothing changes: the requested values are the current ones'] : []),
    ...notes,
    ...(hidden > 0 ? [`… and ${hidden} more changes not shown`] : []),
  ];
  return {
    status: 'available',
    kind,
    lines: bounded,
    notes: allNotes.slice(0, PREVIEW_LIMITS.notes).map(clean),
  };
}

const same = (a: unknown, b: unknown): boolean =>
  a !== undefined && b !== undefined && canonicalJson(a) === canonicalJson(b);

// ─── Lambda configuration ───────────────────────────────────────────────────

/**
 * The configuration fields a request changes, current → requested. Environment variables are
 * named, never shown: their values are often secrets, and the variables a request leaves out
 * are removed.
 */
export function lambdaConfigurationPreview(
  current: Readonly<Record<string, unknown>>,
  parameters: Readonly<Record<string, unknown>>,
): ChangePreview {
  const lines: PreviewLine[] = [];
  for (const [key, requested] of Object.entries(parameters).sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (key === 'FunctionName' || key === 'RevisionId') continue;
    if (key === 'Environment') {
      lines.push(...environmentLines(variablesOf(current['Environment']), variablesOf(requested)));
      continue;
    }
    if (!same(current[key], requested))
      lines.push({ subject: key, before: shown(current[key]), after: shown(requested) });
  }
  return preview('lambda-configuration', lines, []);
}

function variablesOf(environment: unknown): Readonly<Record<string, unknown>> {
  const variables = (environment as { Variables?: unknown } | undefined)?.Variables;
  return typeof variables === 'object' && variables !== null ? (variables as Record<string, unknown>) : {};
}

function environmentLines(
  before: Readonly<Record<string, unknown>>,
  after: Readonly<Record<string, unknown>>,
): PreviewLine[] {
  const names = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
  return names.flatMap((name) => {
    const had = Object.hasOwn(before, name);
    const has = Object.hasOwn(after, name);
    if (had && has && before[name] === after[name]) return [];
    const subject = `environment variable ${name}`;
    if (!had) return [{ subject, before: '(not set)', after: 'set (value hidden)' }];
    if (!has) return [{ subject, before: 'set (value hidden)', after: '(removed)' }];
    return [{ subject, before: 'set (value hidden)', after: 'changed (value hidden)' }];
  });
}

// ─── IAM policy attachment ──────────────────────────────────────────────────

/** What one managed policy's document grants, by service, as IAM's access levels. */
export interface PolicyGrants {
  /** e.g. `[{ service: 's3', accessLevels: ['List', 'Read'] }]`; `*` for statements on every service. */
  readonly services: readonly { readonly service: string; readonly accessLevels: readonly string[] }[];
  /** What the summary cannot say in access levels: `NotAction`, conditions, resources other than `*`. */
  readonly caveats: readonly string[];
}

export interface PolicyAttachmentState {
  readonly change: 'attach' | 'detach';
  /** The role's name. */
  readonly principal: string;
  readonly policyArn: string;
  /** The policies attached to the role now (ARNs). */
  readonly attached: readonly string[];
  readonly grants: PolicyGrants;
}

const policyName = (arn: string): string => arn.slice(arn.lastIndexOf('/') + 1) || arn;

/** The role's attached policies before → after, and what the policy grants, service by service. */
export function policyAttachmentPreview(state: PolicyAttachmentState): ChangePreview {
  const name = policyName(state.policyArn);
  const isAttached = state.attached.includes(state.policyArn);
  const after =
    state.change === 'attach'
      ? isAttached
        ? state.attached
        : [...state.attached, state.policyArn]
      : state.attached.filter((arn) => arn !== state.policyArn);
  const list = (arns: readonly string[]) => (arns.length > 0 ? arns.map(policyName).join(', ') : '(none)');
  const lines: PreviewLine[] = [];
  if (after.length !== state.attached.length) {
    lines.push({
      subject: `policies attached to ${state.principal}`,
      before: list(state.attached),
      after: list(after),
    });
  }
  const changes = after.length !== state.attached.length;
  for (const { service, accessLevels } of changes ? state.grants.services : []) {
    const subject = `${name} grants on ${service === '*' ? 'every service' : service}`;
    const levels = accessLevels.join(', ');
    lines.push(
      state.change === 'attach'
        ? { subject, before: '(not attached)', after: levels }
        : { subject, before: levels, after: '(detached)' },
    );
  }
  const notes = [...state.grants.caveats];
  if (state.grants.services.some(({ accessLevels }) => accessLevels.includes('Permissions management'))) {
    notes.unshift(`${name} grants permissions management: whoever holds it can change permissions`);
  }
  if (state.change === 'attach' && isAttached) notes.unshift(`${name} is already attached`);
  if (state.change === 'detach' && !isAttached) notes.unshift(`${name} is not attached`);
  return preview(
    'iam-policy-attachment',
    isAttached === (state.change === 'attach') && lines.length === 0 ? [] : lines,
    notes,
  );
}

// ─── EC2 security group rules ───────────────────────────────────────────────

/** One rule: protocol, ports, one peer. */
interface SecurityGroupRule {
  readonly protocol: string;
  readonly ports: string;
  readonly peer: string;
}

interface IpPermission {
  readonly IpProtocol?: unknown;
  readonly FromPort?: unknown;
  readonly ToPort?: unknown;
  readonly IpRanges?: readonly { readonly CidrIp?: unknown }[];
  readonly Ipv6Ranges?: readonly { readonly CidrIpv6?: unknown }[];
  readonly UserIdGroupPairs?: readonly { readonly GroupId?: unknown; readonly UserId?: unknown }[];
  readonly PrefixListIds?: readonly { readonly PrefixListId?: unknown }[];
}

const asArray = <T>(value: unknown): readonly T[] => (Array.isArray(value) ? (value as T[]) : []);

/** The rules `IpPermissions` (as EC2 takes and returns them) hold, one per peer. */
export function securityGroupRules(permissions: unknown): SecurityGroupRule[] {
  return asArray<IpPermission>(permissions).flatMap((permission) => {
    const protocol = String(permission.IpProtocol ?? 'all');
    const allTraffic = protocol === '-1' || protocol === 'all';
    const from = permission.FromPort;
    const to = permission.ToPort;
    const ports =
      allTraffic || from === undefined || from === -1
        ? 'all ports'
        : from === to || to === undefined
          ? `port ${String(from)}`
          : `ports ${String(from)}-${String(to)}`;
    const peers = [
      ...asArray<{ CidrIp?: unknown }>(permission.IpRanges).map((range) => String(range.CidrIp)),
      ...asArray<{ CidrIpv6?: unknown }>(permission.Ipv6Ranges).map((range) => String(range.CidrIpv6)),
      ...asArray<{ GroupId?: unknown }>(permission.UserIdGroupPairs).map(
        (pair) => `group ${String(pair.GroupId)}`,
      ),
      ...asArray<{ PrefixListId?: unknown }>(permission.PrefixListIds).map(
        (list) => `prefix list ${String(list.PrefixListId)}`,
      ),
    ];
    return peers.map((peer) => ({ protocol: allTraffic ? 'all traffic' : protocol, ports, peer }));
  });
}

const ruleKey = (rule: SecurityGroupRule): string => `${rule.protocol} ${rule.ports} ${rule.peer}`;
const WORLD = new Set(['0.0.0.0/0', '::/0']);

export interface SecurityGroupState {
  readonly groupId: string;
  readonly direction: 'ingress' | 'egress';
  readonly change: 'authorize' | 'revoke';
  /** The group's current `IpPermissions` (ingress) or `IpPermissionsEgress`, as EC2 returns them. */
  readonly current: unknown;
  /** The request's `IpPermissions`. */
  readonly requested: unknown;
}

/** Each rule the request adds or removes, present → absent or the reverse; opening to the internet is called out. */
export function securityGroupPreview(state: SecurityGroupState): ChangePreview {
  const present = new Set(securityGroupRules(state.current).map(ruleKey));
  const requested = securityGroupRules(state.requested);
  const from = state.direction === 'ingress' ? 'from' : 'to';
  const lines = requested.flatMap((rule): PreviewLine[] => {
    const exists = present.has(ruleKey(rule));
    if (state.change === 'authorize' && exists) return [];
    if (state.change === 'revoke' && !exists) return [];
    const subject = `${state.direction} ${rule.protocol} ${rule.ports} ${from} ${rule.peer}`;
    return [
      state.change === 'authorize'
        ? { subject, before: 'not allowed', after: 'allowed' }
        : { subject, before: 'allowed', after: 'removed' },
    ];
  });
  const opened = requested.filter((rule) => state.change === 'authorize' && WORLD.has(rule.peer));
  const notes = [
    ...(opened.length > 0 && state.direction === 'ingress'
      ? [
          `opens ${state.groupId} to the whole internet: ${opened.map((rule) => `${rule.protocol} ${rule.ports}`).join(', ')}`,
        ]
      : []),
    ...(requested.length === 0 ? ['the request names no rule this preview can read'] : []),
  ];
  return preview('security-group-rules', lines, notes);
}

// ─── ECS service ────────────────────────────────────────────────────────────

/** The service's desired count, task definition, and any other field the request sets. */
export function ecsServicePreview(
  current: Readonly<Record<string, unknown>>,
  parameters: Readonly<Record<string, unknown>>,
): ChangePreview {
  const lines: PreviewLine[] = [];
  const notes: string[] = [];
  for (const [key, requested] of Object.entries(parameters).sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (key === 'cluster' || key === 'service') continue;
    if (key === 'forceNewDeployment') {
      if (requested === true) notes.push('forces a new deployment: every task is replaced');
      continue;
    }
    if (!same(current[key], requested))
      lines.push({ subject: key, before: shown(current[key]), after: shown(requested) });
  }
  const before = current['desiredCount'];
  const after = parameters['desiredCount'];
  if (typeof before === 'number' && typeof after === 'number' && after === 0 && before > 0) {
    notes.push('scales the service to zero: it stops serving');
  }
  return preview('ecs-service', lines, notes);
}

// ─── CloudFormation change set ──────────────────────────────────────────────

interface ResourceChange {
  readonly Action?: unknown;
  readonly LogicalResourceId?: unknown;
  readonly ResourceType?: unknown;
  readonly Replacement?: unknown;
}

/** A change set as `DescribeChangeSet` returns it. */
export interface ChangeSetState {
  readonly StackName?: unknown;
  readonly Status?: unknown;
  readonly ExecutionStatus?: unknown;
  readonly Changes?: unknown;
}

const BEFORE_BY_ACTION: Readonly<Record<string, string>> = {
  Add: '(absent)',
  Modify: 'present',
  Remove: 'present',
  Import: 'outside the stack',
  Dynamic: 'present',
};
const AFTER_BY_ACTION: Readonly<Record<string, string>> = {
  Add: 'added',
  Modify: 'modified',
  Remove: 'removed',
  Import: 'imported',
  Dynamic: 'decided at deploy time',
};
const REPLACEMENT: Readonly<Record<string, string>> = { True: ', replaced', Conditional: ', maybe replaced' };

/** Each resource the change set adds, modifies, replaces or removes. */
export function changeSetPreview(changeSet: ChangeSetState): ChangePreview {
  const changes = asArray<{ ResourceChange?: ResourceChange }>(changeSet.Changes);
  const notes: string[] = [];
  const lines = changes.map(({ ResourceChange: change = {} }): PreviewLine => {
    const action = String(change.Action ?? 'Unknown');
    const after = `${AFTER_BY_ACTION[action] ?? action}${REPLACEMENT[String(change.Replacement)] ?? ''}`;
    return {
      subject: `${String(change.LogicalResourceId ?? '?')} (${String(change.ResourceType ?? '?')})`,
      before: BEFORE_BY_ACTION[action] ?? '?',
      after,
    };
  });
  const replaced = changes.filter(({ ResourceChange: change }) => change?.Replacement === 'True').length;
  const removed = changes.filter(({ ResourceChange: change }) => change?.Action === 'Remove').length;
  if (replaced > 0)
    notes.push(`${replaced} resource(s) replaced: their data and physical ids may not survive`);
  if (removed > 0) notes.push(`${removed} resource(s) removed`);
  if (changeSet.ExecutionStatus !== undefined && changeSet.ExecutionStatus !== 'AVAILABLE') {
    notes.push(
      `the change set is ${String(changeSet.ExecutionStatus)}, not AVAILABLE: executing it will fail`,
    );
  }
  return preview('cloudformation-change-set', lines, notes);
}

// ─── The read-only session a preview is read with ───────────────────────────

/** One statement of a preview's session policy. */
export interface PreviewReadStatement {
  readonly Sid: string;
  readonly Effect: 'Allow';
  readonly Action: readonly string[];
  readonly Resource: readonly string[];
  readonly Condition: { readonly DateLessThan: { readonly 'aws:CurrentTime': string } };
}

export interface PreviewReadPolicy {
  readonly Version: '2012-10-17';
  readonly Statement: readonly PreviewReadStatement[];
}

/**
 * The session policy a preview of the request is read with: the read calls its kind needs, on
 * the request's own resources where IAM can scope them, until `notAfter` (ISO 8601). Undefined
 * when the request has no preview or does not name what the preview must read.
 */
export function previewReadPolicy(
  operation: string,
  resource: string,
  parameters: Readonly<Record<string, unknown>>,
  notAfter: string,
): PreviewReadPolicy | undefined {
  const kind = previewKindOf(operation);
  if (!kind) return undefined;
  const reads = readsOf(kind, resource, parameters);
  if (!reads) return undefined;
  const Condition = { DateLessThan: { 'aws:CurrentTime': notAfter } };
  return {
    Version: '2012-10-17',
    Statement: reads.map(([actions, resources], index) => ({
      Sid: `PreviewRead${index + 1}`,
      Effect: 'Allow',
      Action: actions,
      Resource: resources,
      Condition,
    })),
  };
}

/**
 * Every call a preview of each kind reads with: the preview role's ceiling is their union, and a
 * preview's session policy allows a kind's calls alone. All are IAM Read or List actions.
 */
export const PREVIEW_READ_ACTIONS = {
  'lambda-configuration': ['lambda:GetFunctionConfiguration'],
  'iam-policy-attachment': ['iam:ListAttachedRolePolicies', 'iam:GetPolicy', 'iam:GetPolicyVersion'],
  'security-group-rules': ['ec2:DescribeSecurityGroups'],
  'ecs-service': ['ecs:DescribeServices'],
  'cloudformation-change-set': ['cloudformation:DescribeChangeSet'],
} as const satisfies Readonly<Record<PreviewKind, readonly string[]>>;

type Reads = readonly (readonly [readonly string[], readonly string[]])[];

function readsOf(
  kind: PreviewKind,
  resource: string,
  parameters: Readonly<Record<string, unknown>>,
): Reads | undefined {
  const actions = PREVIEW_READ_ACTIONS[kind];
  switch (kind) {
    case 'iam-policy-attachment': {
      const policyArn = parameters['PolicyArn'];
      if (typeof policyArn !== 'string' || !policyArn.startsWith('arn:')) return undefined;
      const [listPolicies, ...readPolicy] = PREVIEW_READ_ACTIONS[kind];
      return [
        [[listPolicies], [resource]],
        [readPolicy, [policyArn]],
      ];
    }
    case 'security-group-rules':
      // DescribeSecurityGroups has no resource-level permission: IAM only allows it on `*`.
      return [[actions, ['*']]];
    default:
      return [[actions, [resource]]];
  }
}
