import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PolicySources } from '../core/policy';

/**
 * The shipped defaults in the repository's `policies/` folder. A bundled Lambda has no such
 * folder above it: the bundling step copies the files next to the handler, which passes its own.
 */
export const DEFAULT_POLICY_DIR = join(__dirname, '..', '..', 'policies');

/** Reads `default.cedar` and `schema.cedarschema` from `dir`; the policy text stays the one source of truth. */
export function loadPolicySources(dir: string = DEFAULT_POLICY_DIR): PolicySources {
  return {
    policies: readFileSync(join(dir, 'default.cedar'), 'utf8'),
    schema: readFileSync(join(dir, 'schema.cedarschema'), 'utf8'),
  };
}
