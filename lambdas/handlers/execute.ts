import { KMSClient } from '@aws-sdk/client-kms';
import { STSClient } from '@aws-sdk/client-sts';
import * as z from 'zod';
import { jsonSetting, parseSettings, roleArnSetting } from './settings';
import { SdkActionExecutor } from '../adapters/executors';
import { KmsSigner } from '../adapters/kms-signer';
import { logger } from '../adapters/logger';
import { IamDataReference } from '../adapters/iam-reference';
import { SdkCommandExecutor } from '../adapters/sdk-command-executor';
import { StsCredentialIssuer } from '../adapters/sts';
import { executeApproved, parseExecuteInput, type ExecuteDeps } from '../app/execute';
import { ROLE_CLASS } from '../core/catalog';
import { GENERIC_ROLE_CLASS } from '../core/generic-roles';
import { awsRuntime, builtOnFirstUse, instrumented, type Environment, type Runtime } from './runtime';

const roleArns = z.partialRecord(
  z.enum([...Object.values(ROLE_CLASS), ...Object.values(GENERIC_ROLE_CLASS)]),
  roleArnSetting,
);

const executeSettingsSchema = z.object({
  /** `{ "<role class>": "<execution role ARN>" }`; a class left out cannot run. */
  EXECUTION_ROLES_JSON: jsonSetting.pipe(roleArns),
  /**
   * `{ "<account id>": { "<role class>": "<role ARN in that account>" } }`: the workload accounts
   * whose resources run with their own execution roles (lib/action-approvals-target.ts).
   */
  TARGET_ACCOUNTS_JSON: jsonSetting
    .pipe(z.record(z.string().regex(/^\d{12}$/, 'must be an account id'), roleArns))
    .optional(),
  /** The KMS key (ARN or alias ARN) that signs approval receipts. */
  RECEIPT_KEY_ID: z.string().min(1),
  /** Set by Lambda; the region of calls whose ARN names none (S3 objects, IAM). */
  AWS_REGION: z.string().min(1),
  /** Local mode only: the gateway that authorizes each action call against its session policy. */
  ACTION_ENDPOINT_URL: z.url().optional(),
});

export interface ExecuteSettings {
  readonly executionRoles: ExecuteDeps['executionRoles'];
  readonly targetAccounts?: ExecuteDeps['targetAccounts'];
  readonly receiptKeyId: string;
  readonly region: string;
  readonly actionEndpoint?: string;
}

export function readExecuteSettings(environment: Environment): ExecuteSettings {
  const { EXECUTION_ROLES_JSON, TARGET_ACCOUNTS_JSON, RECEIPT_KEY_ID, AWS_REGION, ACTION_ENDPOINT_URL } =
    parseSettings(executeSettingsSchema, environment);
  return {
    executionRoles: EXECUTION_ROLES_JSON,
    ...(TARGET_ACCOUNTS_JSON ? { targetAccounts: TARGET_ACCOUNTS_JSON } : {}),
    receiptKeyId: RECEIPT_KEY_ID,
    region: AWS_REGION,
    ...(ACTION_ENDPOINT_URL ? { actionEndpoint: ACTION_ENDPOINT_URL } : {}),
  };
}

/** Task state "MintAndExecute": re-check, mint a scoped session, run the one action, record it. */
export function createHandler(deps: ExecuteDeps) {
  return instrumented(async (event: unknown) => {
    const input = parseExecuteInput(event);
    logger.setCorrelationId(input.requestId);
    return executeApproved(input, deps);
  });
}

export function executeDeps(rt: Runtime): ExecuteDeps {
  const settings = readExecuteSettings(rt.environment);
  return {
    ...rt.requestPath(),
    logger,
    credentials: new StsCredentialIssuer(rt.client(STSClient, 'STS')),
    executor: new SdkActionExecutor({
      defaultRegion: settings.region,
      ...(settings.actionEndpoint ? { endpoint: settings.actionEndpoint } : {}),
    }),
    signer: new KmsSigner(rt.client(KMSClient, 'KMS'), settings.receiptKeyId),
    executionRoles: settings.executionRoles,
    ...(settings.targetAccounts ? { targetAccounts: settings.targetAccounts } : {}),
    // Clients of the generic path load on first use, one package per service.
    generic: {
      // Only the local gateway (ACTION_ENDPOINT_URL) answers from stand-ins; AWS never does.
      executor: new SdkCommandExecutor({
        defaultRegion: settings.region,
        ...(settings.actionEndpoint ? { endpoint: settings.actionEndpoint, acceptStandInAnswers: true } : {}),
      }),
      iam: new IamDataReference(),
    },
  };
}

export const handler = builtOnFirstUse(async () => createHandler(executeDeps(awsRuntime())));
