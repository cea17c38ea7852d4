import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import { z } from 'zod';
import { ROLE_CLASS } from '../lambdas/core/catalog';
import type { DirectoryConfig } from '../lambdas/core/directory';
import type { ActionApprovalsProps } from './action-approvals';

/** The cdk.json context key holding the deployment's settings. */
export const CONTEXT_KEY = 'action-approvals';

const RETENTION_DAYS = new Set(
  Object.values(logs.RetentionDays).filter((value): value is number => typeof value === 'number'),
);

/**
 * The settings a newcomer edits in cdk.json (JSON only, so durations are numbers with their unit
 * in the name). The construct checks the directory and the values; this schema checks the shape.
 */
const contextSchema = z.strictObject({
  /** The CloudFormation stack name. */
  stackName: z
    .string()
    .regex(/^[A-Za-z][A-Za-z0-9-]{0,127}$/)
    .default('ActionApprovals'),
  directory: z
    .unknown()
    .refine((value) => value !== undefined, 'directory is required: the agents, reviewers and environments'),
  eventBusName: z.string().min(1).optional(),
  agentAccounts: z.array(z.string()).optional(),
  slack: z
    .strictObject({ channelId: z.string(), botTokenSecret: z.string(), signingSecret: z.string() })
    .nullish(),
  teams: z
    .strictObject({
      appId: z.string(),
      appPasswordSecret: z.string(),
      serviceUrl: z.string(),
      conversationId: z.string(),
      tenantId: z.string().optional(),
    })
    .nullish(),
  executionRoles: z
    .partialRecord(
      z.enum(ROLE_CLASS),
      z.strictObject({ enabled: z.boolean().optional(), resources: z.array(z.string()).optional() }),
    )
    .optional(),
  revokeSessionsIssuedBefore: z.iso.datetime({ offset: true }).optional(),
  maxApprovalTtlHours: z.number().positive().optional(),
  archiveRetentionDays: z.number().int().positive().optional(),
  exportRetentionDays: z.number().int().positive().optional(),
  /** An EventBridge Scheduler expression: `rate(1 day)`, `cron(0 3 * * ? *)`. */
  exportSchedule: z
    .string()
    .regex(/^(rate|cron)\(.+\)$/, 'exportSchedule must be rate(…) or cron(…)')
    .optional(),
  apiThrottle: z.strictObject({ rateLimit: z.number(), burstLimit: z.number() }).optional(),
  archiveLagMinutes: z.number().positive().optional(),
  logRetentionDays: z
    .number()
    .refine(
      (days) => RETENTION_DAYS.has(days),
      `logRetentionDays must be one CloudWatch Logs offers: ${[...RETENTION_DAYS].join(', ')}`,
    )
    .optional(),
  removalPolicy: z.enum(['retain', 'destroy']).default('retain'),
  /** Subscribed by e-mail to the alarms topic (the address must confirm the subscription). */
  alarmEmail: z.email().nullish(),
});

/** What the bundled stack deploys. */
export interface DeploymentSettings {
  readonly stackName: string;
  readonly alarmEmail?: string;
  readonly props: ActionApprovalsProps;
}

/** Reads the `action-approvals` context of cdk.json into the construct's props, or throws one error naming every problem. */
export function settingsFromContext(context: unknown): DeploymentSettings {
  const parsed = contextSchema.safeParse(context ?? {});
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`,
    );
    throw new Error(`cdk.json context "${CONTEXT_KEY}" is invalid:\n  - ${problems.join('\n  - ')}`);
  }
  const c = parsed.data;
  const props: ActionApprovalsProps = {
    directory: c.directory as DirectoryConfig,
    ...(c.eventBusName ? { eventBusName: c.eventBusName } : {}),
    ...(c.agentAccounts ? { agentAccounts: c.agentAccounts } : {}),
    ...(c.slack ? { slack: c.slack } : {}),
    ...(c.teams ? { teams: c.teams } : {}),
    ...(c.executionRoles ? { executionRoles: c.executionRoles } : {}),
    ...(c.revokeSessionsIssuedBefore
      ? { revokeSessionsIssuedBefore: new Date(c.revokeSessionsIssuedBefore) }
      : {}),
    ...(c.maxApprovalTtlHours
      ? { maxApprovalTtl: Duration.minutes(Math.round(c.maxApprovalTtlHours * 60)) }
      : {}),
    ...(c.archiveRetentionDays ? { archiveRetention: Duration.days(c.archiveRetentionDays) } : {}),
    ...(c.exportRetentionDays ? { exportRetention: Duration.days(c.exportRetentionDays) } : {}),
    ...(c.exportSchedule
      ? { exportSchedule: scheduler.ScheduleExpression.expression(c.exportSchedule) }
      : {}),
    ...(c.apiThrottle ? { apiThrottle: c.apiThrottle } : {}),
    ...(c.archiveLagMinutes ? { archiveLagThreshold: Duration.minutes(c.archiveLagMinutes) } : {}),
    ...(c.logRetentionDays ? { logRetention: c.logRetentionDays as logs.RetentionDays } : {}),
    removalPolicy: c.removalPolicy === 'destroy' ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
  };
  return { stackName: c.stackName, ...(c.alarmEmail ? { alarmEmail: c.alarmEmail } : {}), props };
}
