import { STSClient } from '@aws-sdk/client-sts';
import * as z from 'zod';
import { jsonSetting, parseSettings, roleArnSetting } from './settings';
import { IamDataReference } from '../adapters/iam-reference';
import { loadPolicySources } from '../adapters/policy-files';
import { AwsPreviewReader } from '../adapters/preview-reader';
import { SessionChangePreviewer, type PreviewRoles } from '../adapters/preview-session';
import { StsCredentialIssuer } from '../adapters/sts';
import { evaluateRequest, parseEvaluateInput, type EvaluateDeps } from '../app/evaluate';
import type { ChangePreviewer } from '../app/ports';
import { PolicyEngine } from '../core/policy';
import {
  awsRuntime,
  builtOnFirstUse,
  clientConfig,
  instrumented,
  type Environment,
  type Runtime,
} from './runtime';

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

const previewSettingsSchema = z.object({
  /** The preview role of this account (lib/preview-roles.ts); unset, cards show no preview. */
  PREVIEW_ROLE_ARN: roleArnSetting.optional(),
  /** `{ "<account id>": "<preview role ARN>" }`: the workload accounts' preview roles. */
  PREVIEW_TARGET_ACCOUNTS_JSON: jsonSetting
    .pipe(z.record(z.string().regex(/^\d{12}$/, 'must be an account id'), roleArnSetting))
    .optional(),
  /** Set by Lambda; the region of IAM and of an ARN that names none. */
  AWS_REGION: z.string().min(1).optional(),
});

/**
 * The preview roles the construct set, or undefined when it set none (the local runtime). A
 * setting that is present but wrong is a deployment error and fails every request closed.
 */
export function readPreviewSettings(
  environment: Environment,
): { readonly roles: PreviewRoles; readonly region: string } | undefined {
  const { PREVIEW_ROLE_ARN, PREVIEW_TARGET_ACCOUNTS_JSON, AWS_REGION } = parseSettings(
    previewSettingsSchema,
    environment,
  );
  if (!PREVIEW_ROLE_ARN) return undefined;
  if (!AWS_REGION) throw new Error('invalid settings: AWS_REGION must be set to read previews');
  return {
    roles: {
      home: PREVIEW_ROLE_ARN,
      ...(PREVIEW_TARGET_ACCOUNTS_JSON ? { targetAccounts: PREVIEW_TARGET_ACCOUNTS_JSON } : {}),
    },
    region: AWS_REGION,
  };
}

/** Reads previews with a read-only session of the resource's account, when preview roles are set. */
function previewerOf(rt: Runtime): ChangePreviewer | undefined {
  const settings = readPreviewSettings(rt.environment);
  if (!settings) return undefined;
  return new SessionChangePreviewer({
    sessions: new StsCredentialIssuer(new STSClient(clientConfig(rt.environment, 'STS'))),
    reader: new AwsPreviewReader({ defaultRegion: settings.region }),
    roles: settings.roles,
    clock: rt.clock,
  });
}

/** Task state "Evaluate": parse, claim, decide by policy. */
export function createHandler(deps: EvaluateDeps) {
  return instrumented(async (input: unknown) => {
    const { event, executionId } = parseEvaluateInput(input);
    return evaluateRequest(event, deps, executionId);
  });
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
  const previewer = previewerOf(rt);
  return {
    ...rt.requestPath(),
    iam: new IamDataReference(),
    policy: loaded.value,
    ...(previewer ? { previewer } : {}),
    ...(maxApprovalTtlSeconds === undefined ? {} : { maxApprovalTtlSeconds }),
  };
}

export const handler = builtOnFirstUse(async () => createHandler(evaluateDeps(awsRuntime())));
