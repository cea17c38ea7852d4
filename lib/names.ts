import { createHash } from 'node:crypto';
import { Names, Stack, Token } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/** What a service accepts as a name: its length limit and, where it has one, its character set. */
export interface NameRule {
  /** The service's documented maximum, quoted in the error when a name is longer. */
  readonly maxLength: number;
  /** What the name is, for the error: `SQS queue name`. */
  readonly what: string;
  /** The characters the service allows; others become `-`. @default /[^A-Za-z0-9_-]/g */
  readonly disallowed?: RegExp;
}

/**
 * A hash of the stack's name and the construct's path: the same for one construct in one stack
 * on every synth, different for two copies of the stack in one account and region.
 */
function stackHash(scope: IConstruct, length: number): string {
  const { stackName } = Stack.of(scope);
  const stackPart = Token.isUnresolved(stackName) ? '' : stackName;
  return createHash('sha256').update(`${stackPart}/${scope.node.path}`).digest('hex').slice(0, length);
}

/**
 * A physical name for a resource that needs one: the stack's name, the construct's id and a hash
 * of both with the construct's path, within the service's limit. Two stacks never share one.
 */
export function physicalName(scope: IConstruct, rule: NameRule): string {
  const disallowed = rule.disallowed ?? /[^A-Za-z0-9_-]/g;
  const { stackName } = Stack.of(scope);
  const readable =
    `${Token.isUnresolved(stackName) ? Names.uniqueId(scope) : stackName}-${scope.node.id}`.replace(
      disallowed,
      '-',
    );
  const hash = stackHash(scope, 8);
  return `${readable.slice(0, Math.max(0, rule.maxLength - hash.length - 1))}-${hash}`;
}

/**
 * A policy statement id unique to this stack and construct: `<name>-<hash>`. Statement ids that
 * CloudFormation takes as physical ids (an EventBridge bus policy's) must differ between two
 * copies of the stack in one account and region.
 */
export function statementId(scope: IConstruct, name: string): string {
  return `${name}-${stackHash(scope, 12)}`;
}

/** Refuses, at synth, a name its service would refuse at deploy time. */
export function checkName(name: string, rule: NameRule): void {
  if (!Token.isUnresolved(name) && name.length > rule.maxLength)
    throw new Error(
      `${rule.what} "${name}" is ${name.length} characters; the service allows at most ${rule.maxLength}`,
    );
}
