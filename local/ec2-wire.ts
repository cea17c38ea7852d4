import type { IpPermission, SecurityGroupRule, SecurityGroupView } from './stand-ins';

/**
 * EC2's query protocol as far as the security group stand-in speaks it: form fields in, XML out
 * (lists as `<item>`s, lowerCamelCase names), read back by the real SDK.
 */

/** A decoded form field: a string, a list (`Name.N`), or a structure (`Name.Field`). */
export type FormValue = string | FormValue[] | { [field: string]: FormValue };

/** Turns `IpPermissions.1.IpRanges.1.CidrIp=…` fields into nested lists and structures. */
export function decodeEc2Form(form: URLSearchParams): Record<string, FormValue> {
  const root: Record<string, FormValue> = {};
  for (const [key, value] of form) {
    if (key === 'Action' || key === 'Version') continue;
    let node: Record<string, FormValue> | FormValue[] = root;
    const path = key.split('.');
    path.forEach((segment, index) => {
      const slot: string | number = /^\d+$/.test(segment) ? Number(segment) - 1 : segment;
      const last = index === path.length - 1;
      const container = node as Record<string | number, FormValue>;
      if (last) {
        container[slot] = value;
        return;
      }
      const nextIsIndex = /^\d+$/.test(path[index + 1] ?? '');
      const existing = container[slot];
      const child = existing !== undefined && typeof existing !== 'string' ? existing : nextIsIndex ? [] : {};
      container[slot] = child;
      node = child as Record<string, FormValue> | FormValue[];
    });
  }
  return root;
}

const asList = (value: FormValue | undefined): FormValue[] => (Array.isArray(value) ? value : []);
const asText = (value: FormValue | undefined): string | undefined =>
  typeof value === 'string' ? value : undefined;
const asFields = (value: FormValue | undefined): Record<string, FormValue> =>
  value !== undefined && typeof value === 'object' && !Array.isArray(value) ? value : {};

/** A list of strings (`GroupId.1`, `GroupId.2`). */
export function textList(value: FormValue | undefined): string[] {
  return asList(value).flatMap((item) => (typeof item === 'string' ? [item] : []));
}

/** The `IpPermissions` of an Authorize/Revoke call; the wire names the group pairs `Groups`. */
export function ipPermissionsOf(fields: Record<string, FormValue>): IpPermission[] {
  return asList(fields.IpPermissions).map((item) => {
    const permission = asFields(item);
    const port = (name: string) => {
      const text = asText(permission[name]);
      return text === undefined ? {} : { [name]: Number(text) };
    };
    const described = (entry: Record<string, FormValue>) => {
      const description = asText(entry.Description);
      return description === undefined ? {} : { Description: description };
    };
    return {
      IpProtocol: asText(permission.IpProtocol) ?? '-1',
      ...port('FromPort'),
      ...port('ToPort'),
      IpRanges: asList(permission.IpRanges).map((range) => ({
        CidrIp: asText(asFields(range).CidrIp) ?? '',
        ...described(asFields(range)),
      })),
      Ipv6Ranges: asList(permission.Ipv6Ranges).map((range) => ({
        CidrIpv6: asText(asFields(range).CidrIpv6) ?? '',
        ...described(asFields(range)),
      })),
      UserIdGroupPairs: asList(permission.Groups).map((pair) => ({
        GroupId: asText(asFields(pair).GroupId) ?? '',
        ...described(asFields(pair)),
      })),
    };
  });
}

/** The `group-id` filter's values of a Describe call. */
export function filterValues(fields: Record<string, FormValue>, name: string): string[] {
  return asList(fields.Filter)
    .map(asFields)
    .filter((filter) => asText(filter.Name) === name)
    .flatMap((filter) => textList(filter.Value));
}

/** An XML value: text, a list of `<item>`s, or named children. Undefined children are left out. */
type XmlValue =
  string | number | boolean | readonly XmlValue[] | { readonly [name: string]: XmlValue | undefined };

const escapeXml = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function xml(name: string, value: XmlValue): string {
  if (Array.isArray(value)) return `<${name}>${value.map((item) => xml('item', item)).join('')}</${name}>`;
  if (typeof value === 'object') {
    const children = Object.entries(value as Record<string, XmlValue | undefined>)
      .filter((entry): entry is [string, XmlValue] => entry[1] !== undefined)
      .map(([child, content]) => xml(child, content))
      .join('');
    return `<${name}>${children}</${name}>`;
  }
  return `<${name}>${escapeXml(String(value))}</${name}>`;
}

/** An EC2 answer: `<{Action}Response>` with the request id and the fields. */
export function ec2Response(
  action: string,
  requestId: string,
  fields: Readonly<Record<string, XmlValue>>,
): string {
  const body = Object.entries(fields)
    .map(([name, value]) => xml(name, value))
    .join('');
  return `<?xml version="1.0" encoding="UTF-8"?><${action}Response xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>${requestId}</requestId>${body}</${action}Response>`;
}

/** An EC2 error, as the SDK reads it into an exception named by `code`. */
export function ec2Error(code: string, message: string, requestId: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>${escapeXml(code)}</Code><Message>${escapeXml(message)}</Message></Error></Errors><RequestID>${requestId}</RequestID></Response>`;
}

export function permissionXml(permission: IpPermission): XmlValue {
  return {
    ipProtocol: permission.IpProtocol ?? '-1',
    fromPort: permission.FromPort,
    toPort: permission.ToPort,
    groups: (permission.UserIdGroupPairs ?? []).map((pair) => ({
      groupId: pair.GroupId ?? '',
      description: pair.Description,
    })),
    ipRanges: (permission.IpRanges ?? []).map((range) => ({
      cidrIp: range.CidrIp ?? '',
      description: range.Description,
    })),
    ipv6Ranges: (permission.Ipv6Ranges ?? []).map((range) => ({
      cidrIpv6: range.CidrIpv6 ?? '',
      description: range.Description,
    })),
  };
}

export function groupXml(group: SecurityGroupView): XmlValue {
  return {
    groupId: group.GroupId,
    groupName: group.GroupName,
    groupDescription: group.Description,
    vpcId: group.VpcId,
    ownerId: group.OwnerId,
    ipPermissions: group.IpPermissions.map(permissionXml),
    ipPermissionsEgress: group.IpPermissionsEgress.map(permissionXml),
  };
}

export function ruleXml(
  rule: SecurityGroupRule & { readonly groupId: string; readonly account: string },
): XmlValue {
  return {
    securityGroupRuleId: rule.ruleId,
    groupId: rule.groupId,
    groupOwnerId: rule.account,
    isEgress: rule.isEgress,
    ipProtocol: rule.ipProtocol,
    fromPort: rule.fromPort,
    toPort: rule.toPort,
    cidrIpv4: rule.cidrIpv4,
    cidrIpv6: rule.cidrIpv6,
    referencedGroupInfo: rule.referencedGroupId ? { groupId: rule.referencedGroupId } : undefined,
    description: rule.description,
  };
}
