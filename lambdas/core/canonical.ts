import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';

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

/** The hash an approval binds to: any change to the parameters is a different action. */
export function parametersHash(parameters: Readonly<Record<string, unknown>>): string {
  return sha256Hex(canonicalJson(parameters));
}
