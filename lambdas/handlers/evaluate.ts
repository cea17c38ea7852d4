import { IamDataReference } from '../adapters/iam-reference';
import { loadPolicySources } from '../adapters/policy-files';
import { evaluateRequest, type EvaluateDeps } from '../app/evaluate';
import { PolicyEngine } from '../core/policy';
import { awsRuntime, builtOnFirstUse, instrumented, type Runtime } from './runtime';

/**
 * The deployment's approval bound, set by the construct. Unset (the local runtime, whose workflow
 * has no overall timeout) means no bound; a value that is not a positive whole number is a
 * deployment error and fails every request closed.
 */
export function maxApprovalTtlFrom(setting: string | undefined): number | undefined {
  if (setting === undefined) return undefined;
  if (!/^[1-9]\d*$/.test(setting)) {
    throw new Error(`MAX_APPROVAL_TTL_SECONDS must be a positive whole number of seconds, not "${setting}"`);
  }
  return Number(setting);
}

/** Task state "Evaluate": parse, claim, decide by policy. */
export function createHandler(deps: EvaluateDeps) {
  return instrumented(async (event: unknown) => evaluateRequest(event, deps));
}

/**
 * Only this function pays for Cedar's WebAssembly and IAM's service reference: they are loaded
 * here, once per instance, not in the runtime every handler shares.
 */
export function evaluateDeps(rt: Runtime): EvaluateDeps {
  // A policy set that does not load is a deployment error: fail every request closed, loudly.
  const loaded = PolicyEngine.load(loadPolicySources(rt.settings.POLICY_DIR));
  if (!loaded.ok) throw loaded.error;
  const maxApprovalTtlSeconds = maxApprovalTtlFrom(rt.environment.MAX_APPROVAL_TTL_SECONDS);
  return {
    ...rt.requestPath(),
    iam: new IamDataReference(),
    policy: loaded.value,
    ...(maxApprovalTtlSeconds === undefined ? {} : { maxApprovalTtlSeconds }),
  };
}

export const handler = builtOnFirstUse(async () => createHandler(evaluateDeps(awsRuntime())));
