import { createHash } from 'node:crypto';
import { Aws, Fn, Names, Stack, Token } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/** What a service accepts as a name: its length limit and its character set. */
export interface NameRule {
  /** What the name is, for errors: `Step Functions state machine name`. */
  readonly what: string;
  /** The service's documented maximum length. */
  readonly maxLength: number;
  /** Characters the service refuses; each becomes the separator. @default /[^A-Za-z0-9_-]/g */
  readonly disallowed?: RegExp;
  /** @default '-' */
  readonly separator?: string;
  /** Services whose names are lowercase (Glue). @default false */
  readonly lowercase?: boolean;
}

/** The length of the stack id's UUID, which differs for every creation of a stack. */
const STACK_UUID_LENGTH = 36;

/**
 * A hash of the stack's name and the construct's path: the same for one construct in one stack
 * on every synth, different for two copies of the stack (in one app or one account).
 */
function stackHash(scope: IConstruct, length: number): string {
  const { stackName } = Stack.of(scope);
  const stackPart = Token.isUnresolved(stackName) ? '' : stackName;
  return createHash('sha256').update(`${stackPart}/${scope.node.path}`).digest('hex').slice(0, length);
}

/**
 * A physical name derived from the stack: `<stack name><sep><construct id><sep><hash>`, the
 * readable part shortened to fit the service's limit (the hash keeps shortened names apart).
 *
 * `perStackInstance` appends the UUID of the stack's id, new each time the stack is created:
 * for resources that are retained when the stack is deleted, whose name would otherwise block
 * creating the stack again.
 */
export function physicalName(
  scope: IConstruct,
  rule: NameRule,
  options: { readonly perStackInstance?: boolean } = {},
): string {
  const separator = rule.separator ?? '-';
  const disallowed = rule.disallowed ?? /[^A-Za-z0-9_-]/g;
  const { stackName } = Stack.of(scope);
  const stackPart = Token.isUnresolved(stackName) ? Names.uniqueId(scope) : stackName;
  const raw = `${stackPart}${separator}${scope.node.id}`;
  const readable = (rule.lowercase ? raw.toLowerCase() : raw).replace(disallowed, separator);
  const hash = stackHash(scope, 8);
  const suffixLength =
    hash.length + separator.length + (options.perStackInstance ? STACK_UUID_LENGTH + 1 : 0);
  const name = `${readable.slice(0, Math.max(0, rule.maxLength - suffixLength))}${separator}${hash}`;
  checkNameLength(name.length + (options.perStackInstance ? STACK_UUID_LENGTH + 1 : 0), name, rule);
  return options.perStackInstance ? `${name}${separator}${Fn.select(2, Fn.split('/', Aws.STACK_ID))}` : name;
}

/**
 * A policy statement id unique to this stack and construct: `<name>-<hash>`. Statement ids that
 * CloudFormation takes as physical ids (an EventBridge bus policy's) must differ between two
 * copies of the stack in one account and region.
 */
export function statementId(scope: IConstruct, name: string): string {
  const id = `${name}-${stackHash(scope, 12)}`;
  checkNameLength(id.length, id, { what: 'EventBridge bus policy statement id', maxLength: 64 });
  return id;
}

/** Refuses at synth a name its service would refuse at deploy time, quoting the limit. */
export function checkNameLength(length: number, name: string, rule: NameRule): void {
  if (length > rule.maxLength)
    throw new Error(
      `${rule.what} "${name}" would be ${length} characters; the service allows at most ${rule.maxLength}`,
    );
}
