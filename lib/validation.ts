import { Stack, type Duration } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { EXECUTION_ROLE_CLASSES } from './role-ceilings';
import { Directory } from '../lambdas/core/directory';
import { loadPolicySources } from '../lambdas/adapters/policy-files';
import { PolicyEngine } from '../lambdas/core/policy';
import { POLICY_SOURCE_DIR } from './handler-function';
import { DEFAULTS, MAX_DIRECTORY_BYTES, type ActionApprovalsProps } from './props';

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const SECRET_NAME = /^[A-Za-z0-9/_+=.@-]{1,512}$/;
const SECRET_ARN = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$/;

/** A secret's ARN for IAM: an ARN as given, or a name with the six random characters Secrets Manager appends. */
export function secretArn(scope: Construct, secret: string): string {
  if (SECRET_ARN.test(secret)) return secret;
  const { partition, region, account } = Stack.of(scope);
  return `arn:${partition}:secretsmanager:${region}:${account}:secret:${secret}-??????`;
}

/** Checks the props and throws one error listing every problem. */
export function validateProps(props: ActionApprovalsProps): void {
  const problems: string[] = [];
  const directory = Directory.parse(props.directory);
  if (!directory.ok) problems.push(`directory: ${directory.error}`);
  const directoryBytes = Buffer.byteLength(JSON.stringify(props.directory ?? null), 'utf8');
  if (directoryBytes > MAX_DIRECTORY_BYTES) {
    problems.push(
      `directory is ${directoryBytes} bytes as JSON; it travels in DIRECTORY_JSON and Lambda allows 4 KB of environment variables per function, so it must stay under ${MAX_DIRECTORY_BYTES} bytes`,
    );
  }
  if (props.eventBus && props.eventBusName !== undefined) {
    problems.push(
      'eventBus and eventBusName are mutually exclusive: pass an existing bus, or a name for a new one',
    );
  }
  if (props.eventBusName !== undefined && !/^[A-Za-z0-9._-]{1,256}$/.test(props.eventBusName))
    problems.push(
      `eventBusName "${props.eventBusName}" must be 1 to 256 of the characters A-Z a-z 0-9 . _ - (EventBridge's limit)`,
    );
  for (const agentAccount of props.agentAccounts ?? []) {
    if (!/^\d{12}$/.test(agentAccount))
      problems.push(`agentAccounts: "${agentAccount}" is not a 12-digit account id`);
  }
  if (props.slack) {
    if (!/^[CG][A-Z0-9]{6,20}$/.test(props.slack.channelId))
      problems.push(`slack.channelId must be a channel id like C0123ABCD, not "${props.slack.channelId}"`);
    checkSecret('slack.botTokenSecret', props.slack.botTokenSecret, problems);
    checkSecret('slack.signingSecret', props.slack.signingSecret, problems);
  }
  if (props.teams) {
    if (!GUID.test(props.teams.appId))
      problems.push(`teams.appId must be the bot's Microsoft App ID (a GUID), not "${props.teams.appId}"`);
    if (props.teams.tenantId !== undefined && !GUID.test(props.teams.tenantId))
      problems.push(
        `teams.tenantId must be a Microsoft Entra tenant id (a GUID), not "${props.teams.tenantId}"`,
      );
    checkSecret('teams.appPasswordSecret', props.teams.appPasswordSecret, problems);
    if (!/^https:\/\/[^\s/]+(\/\S*)?$/.test(props.teams.serviceUrl))
      problems.push(`teams.serviceUrl must be an https URL, not "${props.teams.serviceUrl}"`);
    if (props.teams.conversationId.trim() === '') problems.push('teams.conversationId must not be empty');
  }
  for (const [roleClass, settings] of Object.entries(props.executionRoles ?? {})) {
    if (!(EXECUTION_ROLE_CLASSES as readonly string[]).includes(roleClass))
      problems.push(
        `executionRoles: "${roleClass}" is not an execution role class (${EXECUTION_ROLE_CLASSES.join(', ')})`,
      );
    if (settings?.resources && settings.resources.length === 0)
      problems.push(
        `executionRoles.${roleClass}.resources must not be empty: disable the class with enabled: false instead`,
      );
  }
  for (const account of props.targetAccounts ?? []) {
    if (!/^\d{12}$/.test(account))
      problems.push(`targetAccounts: "${account}" is not a 12-digit AWS account id`);
  }
  const maxTtl = props.maxApprovalTtl;
  if (maxTtl && !maxTtl.isUnresolved() && (maxTtl.toSeconds() < 60 || maxTtl.toSeconds() > 365 * 86_400)) {
    problems.push(`maxApprovalTtl must be from 1 minute to 365 days, not ${maxTtl.toHumanString()}`);
  } else {
    checkPolicyTtls(maxTtl ?? DEFAULTS.maxApprovalTtl, problems);
  }
  const callbackThreshold = props.unauthenticatedCallbackThreshold;
  if (callbackThreshold !== undefined && !(Number.isInteger(callbackThreshold) && callbackThreshold >= 1))
    problems.push(
      `unauthenticatedCallbackThreshold must be a whole number of at least 1, not ${callbackThreshold}`,
    );
  checkWholeDays('archiveRetention', props.archiveRetention, 36_500, problems);
  checkWholeDays('archiveColdStorageAfter', props.archiveColdStorageAfter, 36_500, problems);
  checkWholeDays('exportRetention', props.exportRetention, 36_500, problems);
  if (props.apiThrottle) {
    const { rateLimit, burstLimit } = props.apiThrottle;
    if (!(rateLimit > 0) || !Number.isInteger(burstLimit) || burstLimit < 1) {
      problems.push(
        `apiThrottle needs a positive rateLimit and a whole burstLimit of at least 1, not ${rateLimit}/${burstLimit}`,
      );
    }
  }
  if (problems.length > 0) throw new Error(`ActionApprovals: invalid props:\n  - ${problems.join('\n  - ')}`);
}

function checkSecret(name: string, value: string, problems: string[]): void {
  // The value is not quoted back: a mistake here is most likely the secret itself.
  if (!SECRET_NAME.test(value) && !SECRET_ARN.test(value))
    problems.push(`${name} must be the name or ARN of a Secrets Manager secret, never the secret's value`);
}

function checkWholeDays(
  name: string,
  value: Duration | undefined,
  maxDays: number,
  problems: string[],
): void {
  if (!value || value.isUnresolved()) return;
  const days = value.toDays({ integral: false });
  if (!Number.isInteger(days) || days < 1 || days > maxDays)
    problems.push(
      `${name} must be a whole number of days from 1 to ${maxDays}, not ${value.toHumanString()}`,
    );
}

/** The longest wait the bundled policies grant, read once per process (Cedar's parser is not free). */
let bundledLongestTtl: ReturnType<typeof readLongestTtl> | undefined;

function readLongestTtl(): { policyId: string; ttlSeconds: number } | { error: string } | undefined {
  const engine = PolicyEngine.load({ ...loadPolicySources(POLICY_SOURCE_DIR), decisionCacheSize: 0 });
  return engine.ok ? engine.value.longestTtl() : { error: engine.error.message };
}

/**
 * A policy `@ttl` longer than `maxApprovalTtl` would let an approval wait past the workflow's
 * own limit: the execution would time out at the top level, where no Catch applies, and the
 * request would never get a terminal record.
 */
function checkPolicyTtls(maxTtl: Duration, problems: string[]): void {
  if (maxTtl.isUnresolved()) return;
  bundledLongestTtl ??= readLongestTtl();
  const longest = bundledLongestTtl;
  if (longest === undefined) return;
  if ('error' in longest) {
    problems.push(`the bundled policies (${POLICY_SOURCE_DIR}) cannot be loaded: ${longest.error}`);
    return;
  }
  if (longest.ttlSeconds > maxTtl.toSeconds())
    problems.push(
      `policy "${longest.policyId}" lets an approval wait ${longest.ttlSeconds} seconds (its @ttl), longer than maxApprovalTtl (${maxTtl.toHumanString()}, ${maxTtl.toSeconds()} seconds): raise maxApprovalTtl or shorten the @ttl`,
    );
}
