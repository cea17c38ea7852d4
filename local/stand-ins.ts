import { randomBytes } from 'node:crypto';
import { TargetError } from './target-error';

/**
 * Small, honest stand-ins for services local mode cannot run: they keep state in memory and answer
 * the calls a change preview and an approved change make, so both can be followed end to end. A
 * call one of them answers is reported as `simulated`, never `executed`: nothing in AWS changed.
 * A call they refuse throws TargetError, as the real service would answer it.
 */

/** What a reviewer reads about who answered: carried in the outcome, the audit record and the console. */
export const STAND_INS = {
  securityGroups: 'the in-memory EC2 security groups of local mode',
  ecsServices: 'the in-memory ECS services of local mode',
  recorder: 'the local recorder (the call was authorized and recorded; nothing ran)',
} as const;

// ─── EC2 security groups ────────────────────────────────────────────────────

/** One rule of a security group, as DescribeSecurityGroupRules shows it. */
export interface SecurityGroupRule {
  readonly ruleId: string;
  readonly isEgress: boolean;
  readonly ipProtocol: string;
  readonly fromPort?: number;
  readonly toPort?: number;
  readonly cidrIpv4?: string;
  readonly cidrIpv6?: string;
  readonly referencedGroupId?: string;
  readonly description?: string;
}

export interface SecurityGroupSeed {
  readonly groupId: string;
  readonly groupName: string;
  readonly description: string;
  readonly vpcId: string;
  readonly account: string;
  readonly region: string;
}

interface SecurityGroup extends SecurityGroupSeed {
  rules: SecurityGroupRule[];
}

/** An `IpPermission` as the SDK and the EC2 wire name its fields. */
export interface IpPermission {
  readonly IpProtocol?: string;
  readonly FromPort?: number;
  readonly ToPort?: number;
  readonly IpRanges?: readonly { readonly CidrIp?: string; readonly Description?: string }[];
  readonly Ipv6Ranges?: readonly { readonly CidrIpv6?: string; readonly Description?: string }[];
  readonly UserIdGroupPairs?: readonly { readonly GroupId?: string; readonly Description?: string }[];
}

/** The rule's identity: two rules that allow the same traffic are one rule. */
const ruleKey = (rule: Omit<SecurityGroupRule, 'ruleId' | 'description'>): string =>
  JSON.stringify([
    rule.isEgress,
    rule.ipProtocol,
    rule.fromPort ?? null,
    rule.toPort ?? null,
    rule.cidrIpv4 ?? null,
    rule.cidrIpv6 ?? null,
    rule.referencedGroupId ?? null,
  ]);

/** Security groups kept in memory: authorize and revoke rules, describe groups and rules. */
export class SecurityGroupStandIn {
  private readonly groups = new Map<string, SecurityGroup>();

  add(seed: SecurityGroupSeed, rules: readonly Omit<SecurityGroupRule, 'ruleId'>[] = []): void {
    this.groups.set(seed.groupId, {
      ...seed,
      rules: rules.map((rule) => ({ ...rule, ruleId: newRuleId() })),
    });
  }

  /** The group's ARN, the resource IAM authorizes a rule change on. */
  arnOf(groupId: string): string {
    const group = this.groupOf(groupId);
    return `arn:aws:ec2:${group.region}:${group.account}:security-group/${group.groupId}`;
  }

  authorize(groupId: string, egress: boolean, permissions: readonly IpPermission[]): SecurityGroupRule[] {
    const group = this.groupOf(groupId);
    const added = rulesOf(egress, permissions);
    const existing = new Set(group.rules.map(ruleKey));
    const duplicate = added.find((rule) => existing.has(ruleKey(rule)));
    if (duplicate) {
      throw new TargetError(
        400,
        'InvalidPermission.Duplicate',
        `the specified rule ${describeRule(duplicate)} already exists in ${groupId}`,
      );
    }
    const created = added.map((rule) => ({ ...rule, ruleId: newRuleId() }));
    group.rules.push(...created);
    return created;
  }

  /** Revokes by permissions or by rule ids; a rule that does not exist is refused, as EC2 does. */
  revoke(
    groupId: string,
    egress: boolean,
    by: { readonly permissions?: readonly IpPermission[]; readonly ruleIds?: readonly string[] },
  ): SecurityGroupRule[] {
    const group = this.groupOf(groupId);
    const keys = new Set(rulesOf(egress, by.permissions ?? []).map(ruleKey));
    const ids = new Set(by.ruleIds ?? []);
    const removed = group.rules.filter(
      (rule) => rule.isEgress === egress && (keys.has(ruleKey(rule)) || ids.has(rule.ruleId)),
    );
    if (removed.length === 0 || removed.length < keys.size + ids.size) {
      throw new TargetError(
        400,
        'InvalidPermission.NotFound',
        `the specified rule does not exist in ${groupId}`,
      );
    }
    group.rules = group.rules.filter((rule) => !removed.includes(rule));
    return removed;
  }

  /**
   * The groups as DescribeSecurityGroups answers, in the SDK's field names; every group of
   * `account` when none are named.
   */
  describeGroups(groupIds: readonly string[], account?: string): SecurityGroupView[] {
    const ids = groupIds.length > 0 ? groupIds : this.idsIn(account);
    return ids.map((id) => {
      const group = this.groupOf(id);
      return {
        GroupId: group.groupId,
        GroupName: group.groupName,
        Description: group.description,
        VpcId: group.vpcId,
        OwnerId: group.account,
        IpPermissions: permissionsOf(group.rules.filter((rule) => !rule.isEgress)),
        IpPermissionsEgress: permissionsOf(group.rules.filter((rule) => rule.isEgress)),
      };
    });
  }

  /** The rules of the named groups (every group when none are named), narrowed to `ruleIds` if given. */
  describeRules(
    groupIds: readonly string[],
    ruleIds: readonly string[],
    account?: string,
  ): (SecurityGroupRule & { readonly groupId: string; readonly account: string })[] {
    const ids = groupIds.length > 0 ? groupIds : this.idsIn(account);
    return ids
      .flatMap((id) => {
        const group = this.groupOf(id);
        return group.rules.map((rule) => ({ ...rule, groupId: group.groupId, account: group.account }));
      })
      .filter((rule) => ruleIds.length === 0 || ruleIds.includes(rule.ruleId));
  }

  private idsIn(account: string | undefined): string[] {
    return [...this.groups.values()]
      .filter((group) => account === undefined || group.account === account)
      .map((group) => group.groupId);
  }

  private groupOf(groupId: string): SecurityGroup {
    const group = this.groups.get(groupId);
    if (!group) {
      throw new TargetError(400, 'InvalidGroup.NotFound', `The security group '${groupId}' does not exist`);
    }
    return group;
  }
}

export interface SecurityGroupView {
  readonly GroupId: string;
  readonly GroupName: string;
  readonly Description: string;
  readonly VpcId: string;
  readonly OwnerId: string;
  readonly IpPermissions: IpPermission[];
  readonly IpPermissionsEgress: IpPermission[];
}

function newRuleId(): string {
  return `sgr-${randomBytes(8).toString('hex').slice(0, 17)}`;
}

/** One rule per range or group pair, as EC2 splits a permission into rules. */
function rulesOf(egress: boolean, permissions: readonly IpPermission[]): Omit<SecurityGroupRule, 'ruleId'>[] {
  return permissions.flatMap((permission) => {
    const base = {
      isEgress: egress,
      ipProtocol: String(permission.IpProtocol ?? '-1'),
      ...(permission.FromPort === undefined ? {} : { fromPort: Number(permission.FromPort) }),
      ...(permission.ToPort === undefined ? {} : { toPort: Number(permission.ToPort) }),
    };
    const described = (description: string | undefined) => (description ? { description } : {});
    return [
      ...(permission.IpRanges ?? []).map((range) => ({
        ...base,
        cidrIpv4: String(range.CidrIp ?? ''),
        ...described(range.Description),
      })),
      ...(permission.Ipv6Ranges ?? []).map((range) => ({
        ...base,
        cidrIpv6: String(range.CidrIpv6 ?? ''),
        ...described(range.Description),
      })),
      ...(permission.UserIdGroupPairs ?? []).map((pair) => ({
        ...base,
        referencedGroupId: String(pair.GroupId ?? ''),
        ...described(pair.Description),
      })),
    ];
  });
}

/** Rules grouped back into permissions by protocol and ports, as DescribeSecurityGroups shows them. */
function permissionsOf(rules: readonly SecurityGroupRule[]): IpPermission[] {
  const byPorts = new Map<string, SecurityGroupRule[]>();
  for (const rule of rules) {
    const key = JSON.stringify([rule.ipProtocol, rule.fromPort ?? null, rule.toPort ?? null]);
    byPorts.set(key, [...(byPorts.get(key) ?? []), rule]);
  }
  return [...byPorts.values()].map((group) => {
    const [first] = group as [SecurityGroupRule];
    const described = (rule: SecurityGroupRule) =>
      rule.description ? { Description: rule.description } : {};
    return {
      IpProtocol: first.ipProtocol,
      ...(first.fromPort === undefined ? {} : { FromPort: first.fromPort }),
      ...(first.toPort === undefined ? {} : { ToPort: first.toPort }),
      IpRanges: group.flatMap((rule) =>
        rule.cidrIpv4 ? [{ CidrIp: rule.cidrIpv4, ...described(rule) }] : [],
      ),
      Ipv6Ranges: group.flatMap((rule) =>
        rule.cidrIpv6 ? [{ CidrIpv6: rule.cidrIpv6, ...described(rule) }] : [],
      ),
      UserIdGroupPairs: group.flatMap((rule) =>
        rule.referencedGroupId ? [{ GroupId: rule.referencedGroupId, ...described(rule) }] : [],
      ),
    };
  });
}

function describeRule(rule: Omit<SecurityGroupRule, 'ruleId'>): string {
  const peer = rule.cidrIpv4 ?? rule.cidrIpv6 ?? rule.referencedGroupId ?? '?';
  return `${rule.ipProtocol} ${rule.fromPort ?? '*'}-${rule.toPort ?? '*'} ${rule.isEgress ? 'to' : 'from'} ${peer}`;
}

// ─── ECS services ───────────────────────────────────────────────────────────

export interface EcsServiceSeed {
  readonly cluster: string;
  readonly serviceName: string;
  readonly taskDefinition: string;
  readonly desiredCount: number;
  readonly account: string;
  readonly region: string;
}

/** A service as DescribeServices answers, in the SDK's field names. */
export interface EcsServiceView {
  readonly serviceArn: string;
  readonly serviceName: string;
  readonly clusterArn: string;
  readonly status: 'ACTIVE';
  readonly launchType: 'FARGATE';
  readonly desiredCount: number;
  readonly runningCount: number;
  readonly pendingCount: number;
  readonly taskDefinition: string;
}

/**
 * ECS services kept in memory. An update takes effect at once (running = desired): there are no
 * tasks to start, which the outcome says by being `simulated`.
 */
export class EcsServiceStandIn {
  private readonly services = new Map<string, EcsServiceView>();

  add(seed: EcsServiceSeed): void {
    const clusterArn = `arn:aws:ecs:${seed.region}:${seed.account}:cluster/${seed.cluster}`;
    const serviceArn = `arn:aws:ecs:${seed.region}:${seed.account}:service/${seed.cluster}/${seed.serviceName}`;
    this.services.set(serviceArn, {
      serviceArn,
      serviceName: seed.serviceName,
      clusterArn,
      status: 'ACTIVE',
      launchType: 'FARGATE',
      desiredCount: seed.desiredCount,
      runningCount: seed.desiredCount,
      pendingCount: 0,
      taskDefinition: seed.taskDefinition,
    });
  }

  /**
   * The ARN of the service a call names (by ARN, or by name within `cluster`, `default` when
   * unnamed) in the caller's account and region: the resource IAM authorizes the call on.
   */
  arnOf(service: string, cluster: string | undefined, account: string, region: string): string {
    if (service.startsWith('arn:')) return service;
    const clusterName = (cluster ?? 'default').split('/').at(-1) ?? 'default';
    return `arn:aws:ecs:${region}:${account}:service/${clusterName}/${service}`;
  }

  update(
    serviceArn: string,
    changes: { readonly desiredCount?: number; readonly taskDefinition?: string },
  ): EcsServiceView {
    const current = this.services.get(serviceArn);
    if (!current) throw new TargetError(400, 'ServiceNotFoundException', `Service not found: ${serviceArn}`);
    const desiredCount = changes.desiredCount ?? current.desiredCount;
    const updated = {
      ...current,
      desiredCount,
      runningCount: desiredCount,
      ...(changes.taskDefinition === undefined ? {} : { taskDefinition: changes.taskDefinition }),
    };
    this.services.set(serviceArn, updated);
    return updated;
  }

  describe(serviceArns: readonly string[]): {
    readonly services: EcsServiceView[];
    readonly failures: { readonly arn: string; readonly reason: 'MISSING' }[];
  } {
    const found = serviceArns.flatMap((arn) => this.services.get(arn) ?? []);
    const failures = serviceArns
      .filter((arn) => !this.services.has(arn))
      .map((arn) => ({ arn, reason: 'MISSING' as const }));
    return { services: found, failures };
  }
}

// ─── The recorder ───────────────────────────────────────────────────────────

/** A call no stand-in models: authorized by the simulator, then only written down. */
export interface RecordedCall {
  readonly at: string;
  readonly action: string;
  readonly resource: string;
  readonly roleArn: string;
  readonly sessionName: string;
  /** What was sent: the JSON body, or the form's fields, or nothing for a call without a body. */
  readonly request: string;
}

export class CallRecorder {
  private readonly recorded: RecordedCall[] = [];

  record(call: RecordedCall): void {
    this.recorded.push(call);
  }

  calls(): readonly RecordedCall[] {
    return this.recorded;
  }
}
