import { IamDataReference } from '../adapters/iam-reference';
import { loadPolicySources } from '../adapters/policy-files';
import { evaluateRequest, type EvaluateDeps } from '../app/evaluate';
import { PolicyEngine } from '../core/policy';
import { awsRuntime, builtOnFirstUse, instrumented, type Runtime } from './runtime';

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
  return { ...rt.requestPath(), iam: new IamDataReference(), policy: loaded.value };
}

export const handler = builtOnFirstUse(async () => createHandler(evaluateDeps(awsRuntime())));
