import { IamDataReference } from '../adapters/iam-reference';
import { loadPolicySources } from '../adapters/policy-files';
import { evaluateRequest, type EvaluateDeps } from '../app/evaluate';
import { PolicyEngine } from '../core/policy';
import { runtime } from './runtime';

let deps: EvaluateDeps | undefined;

// Only this function pays for Cedar's WebAssembly and IAM's service reference: they are loaded
// here, once per instance, not in the runtime every handler shares.
function evaluationDeps(): EvaluateDeps {
  if (!deps) {
    const rt = runtime();
    // A policy set that does not load is a deployment error: fail every request closed, loudly.
    const loaded = PolicyEngine.load(loadPolicySources(rt.settings.POLICY_DIR));
    if (!loaded.ok) throw loaded.error;
    deps = { ...rt.requestPath(), iam: new IamDataReference(), policy: loaded.value };
  }
  return deps;
}

/** Task state "Evaluate": parse, claim, decide by policy. */
export const handler = async (event: unknown) => evaluateRequest(event, evaluationDeps());
