import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import type { RequestedCompanion } from './types';

/**
 * RFC 8785 (JCS) canonical JSON: one byte sequence per value, whatever the key order or
 * number spelling, so a hash over it identifies the value and nothing else.
 *
 * @throws TypeError when the value has no JSON form (undefined, a function, a symbol).
 */
export function canonicalJson(value: unknown): string {
  const text = canonicalize(value);
  if (text === undefined) {
    throw new TypeError('value has no JSON representation');
  }
  return text;
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/**
 * The hash an approval binds to: any change to the parameters, or to the companion permissions the
 * agent listed, is a different action. Without companions it is the hash of the parameters alone,
 * as it always was; with them, of the pair `[parameters, companions]`, whose canonical form starts
 * with `[` where an object's starts with `{`, so no parameters can pass for a pair.
 */
export function parametersHash(
  parameters: Readonly<Record<string, unknown>>,
  companions?: readonly RequestedCompanion[],
): string {
  if (companions === undefined || companions.length === 0) return sha256Hex(canonicalJson(parameters));
  return sha256Hex(canonicalJson([parameters, companions]));
}
