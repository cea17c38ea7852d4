import { Stack, Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/** One cdk-nag finding accepted on one construct, with the reason it is accepted there. */
export interface Acknowledgement {
  /** The finding: a rule id, or `RuleId[FindingId]` for rules that report several findings. */
  readonly id: string;
  /** Why the finding is right for this construct; specific enough to be checked by a reviewer. */
  readonly reason: string;
}

/** Acknowledges findings on `scope` and its children only, never on the whole stack. */
export function acknowledge(scope: IConstruct, acknowledgements: readonly Acknowledgement[]): void {
  for (const acknowledgement of acknowledgements) Validations.of(scope).acknowledge(acknowledgement);
}

/**
 * The id cdk-nag gives an `AwsSolutions-IAM5` finding about a resource built from tokens, e.g.
 * `AwsSolutions-IAM5[Resource::<TableABC123.Arn>/index/*]`. Computed from the same template
 * fragment cdk-nag reads, so the acknowledgement follows the logical id wherever the construct is.
 */
export function wildcardResource(scope: IConstruct, resource: string): string {
  return `AwsSolutions-IAM5[Resource::${flatten(Stack.of(scope).resolve(resource))}]`;
}

// The notation of cdk-nag's flattenCfnReference: Ref → <Id>, GetAtt → <Id.Attr>, Join concatenated.
function flatten(node: unknown): string {
  if (node === undefined) return '';
  if (typeof node === 'string') return node.replace(/\$\{/g, '<').replace(/\}/g, '>');
  if (typeof node === 'object' && node !== null) {
    const fn = node as Record<string, unknown>;
    if (Array.isArray(fn['Fn::Join'])) {
      const [delimiter, items] = fn['Fn::Join'] as [string, unknown[]];
      return items.map(flatten).join(delimiter);
    }
    if (fn['Fn::Sub'] !== undefined) return flatten(fn['Fn::Sub']);
    if (Array.isArray(fn['Fn::GetAtt'])) {
      const [resource, attribute] = fn['Fn::GetAtt'] as [unknown, unknown];
      return `<${flatten(resource)}.${flatten(attribute)}>`;
    }
    if (fn['Fn::ImportValue'] !== undefined) return flatten(fn['Fn::ImportValue']);
    if (fn.Ref !== undefined) return `<${flatten(fn.Ref)}>`;
  }
  return JSON.stringify(node);
}
