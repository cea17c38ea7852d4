import { Duration, Stack, type RemovalPolicy } from 'aws-cdk-lib';
import type * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import { TARGET_ROLE_CLASSES, targetRoleArn } from './action-approvals-target';
import { targetPreviewRoleArn } from './preview-roles';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import type { ExecutionRoleClass } from './role-ceilings';
import type { ApprovalTables } from './approval-tables';
import type { ExecutionRoles } from './execution-roles';
import { BUNDLED_POLICY_DIR, HandlerFunction, type HandlerFunctionProps } from './handler-function';
import type { ActionApprovalsProps } from './props';
import { secretArn } from './validation';

/** A handler's settings, less what every handler of the system shares. */
export type HandlerSettings = Omit<
  HandlerFunctionProps,
  'logRetention' | 'removalPolicy' | 'evaluatesPolicy'
>;

export interface ApprovalFunctionsProps {
  readonly tables: ApprovalTables;
  readonly eventBus: events.IEventBus;
  readonly directory: ActionApprovalsProps['directory'];
  readonly slack: ActionApprovalsProps['slack'];
  readonly teams: ActionApprovalsProps['teams'];
  readonly logRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
  /** Evaluate clamps a policy `@ttl` longer than this, which the workflow's timeout is built on. */
  readonly maxApprovalTtl: Duration;
}

/**
 * The workflow's functions (evaluate, request approval, expire, execute, record failure), the
 * settings every handler reads, and their grants on the tables and chat secrets. A part of
 * `ActionApprovals` that creates its functions in the construct's own scope (their ids, and so
 * their logical ids, are the ones deployed).
 */
export class ApprovalFunctions {
  /** Evaluate: parse, claim the request id, decide by policy. */
  public readonly evaluate: HandlerFunction;
  /** RequestApproval: store the task token, post the cards. */
  public readonly requestApproval: HandlerFunction;
  /** Expire: end a request nobody decided in time. */
  public readonly expire: HandlerFunction;
  /** Execute: mint the session, run the approved action, sign the receipt. */
  public readonly execute: HandlerFunction;
  /** RecordFailure: end a request whose workflow broke as failed. */
  public readonly fail: HandlerFunction;
  /** What every runtime handler reads (lambdas/handlers/runtime.ts). */
  public readonly runtimeEnvironment: Readonly<Record<string, string>>;
  /** Where the functions that post or update cards find their channels. */
  public readonly chatEnvironment: Readonly<Record<string, string>>;

  constructor(
    private readonly scope: Construct,
    private readonly props: ApprovalFunctionsProps,
  ) {
    const { tables, slack, teams } = props;
    this.runtimeEnvironment = {
      REQUESTS_TABLE_NAME: tables.requests.tableName,
      AUDIT_TABLE_NAME: tables.auditLog.tableName,
      EVENT_BUS_NAME: props.eventBus.eventBusName,
      DIRECTORY_JSON: JSON.stringify(props.directory),
      POLICY_DIR: BUNDLED_POLICY_DIR,
    };
    this.chatEnvironment = {
      ...(slack
        ? { SLACK_CHANNEL_ID: slack.channelId, SLACK_BOT_TOKEN_SECRET_ID: slack.botTokenSecret }
        : {}),
      ...(teams
        ? {
            TEAMS_APP_ID: teams.appId,
            TEAMS_APP_PASSWORD_SECRET_ID: teams.appPasswordSecret,
            TEAMS_SERVICE_URL: teams.serviceUrl,
            TEAMS_CONVERSATION_ID: teams.conversationId,
            ...(teams.tenantId
              ? {
                  TEAMS_TOKEN_URL: `https://login.microsoftonline.com/${teams.tenantId}/oauth2/v2.0/token`,
                  // Votes from any other tenant never count.
                  TEAMS_TENANT_ID: teams.tenantId,
                }
              : {}),
          }
        : {}),
    };
    const notifyingEnvironment = { ...this.runtimeEnvironment, ...this.chatEnvironment };

    this.evaluate = this.handler('Evaluate', {
      handler: 'evaluate',
      description: 'action-approvals: parse, claim and evaluate a requested action',
      environment: {
        ...this.runtimeEnvironment,
        MAX_APPROVAL_TTL_SECONDS: String(props.maxApprovalTtl.toSeconds()),
      },
      // Compiling Cedar's WebAssembly and reading IAM's reference are CPU-bound: memory buys CPU.
      memorySize: 1024,
    });
    this.requestApproval = this.handler('RequestApproval', {
      handler: 'request-approval',
      description: 'action-approvals: store the task token, post the approval cards',
      environment: notifyingEnvironment,
    });
    this.expire = this.handler('Expire', {
      handler: 'expire',
      description: 'action-approvals: end a request nobody decided in time',
      environment: notifyingEnvironment,
    });
    this.execute = this.handler('Execute', {
      handler: 'execute',
      description: 'action-approvals: mint the scoped session, run the approved action, sign the receipt',
      environment: this.runtimeEnvironment,
      timeout: Duration.minutes(1),
    });
    this.fail = this.handler('RecordFailure', {
      handler: 'fail',
      description: 'action-approvals: end a request whose workflow broke as failed',
      environment: this.runtimeEnvironment,
    });

    // Evaluate only claims (a conditional put); everything after it reads and rewrites the request.
    tables.grantItems(this.evaluate, tables.requests, ['PutItem']);
    for (const fn of [this.requestApproval, this.expire, this.execute, this.fail])
      tables.grantItems(fn, tables.requests, ['GetItem', 'PutItem']);
    // Audit records are only ever put (inside the request's transaction or starting a chain).
    for (const fn of this.workflowFunctions()) tables.grantItems(fn, tables.auditLog, ['PutItem']);
    for (const fn of [this.requestApproval, this.expire]) this.grantChatSecrets(fn);
  }

  /** A handler of the system in the construct's scope, with its log settings. */
  public handler(handlerId: string, settings: HandlerSettings): HandlerFunction {
    return new HandlerFunction(this.scope, handlerId, {
      evaluatesPolicy: settings.handler === 'evaluate',
      logRetention: this.props.logRetention,
      removalPolicy: this.props.removalPolicy,
      ...settings,
    });
  }

  /** The functions the workflow invokes. */
  public workflowFunctions(): HandlerFunction[] {
    return [this.evaluate, this.requestApproval, this.expire, this.execute, this.fail];
  }

  /** Lets `fn` read the secrets it posts and updates cards with: the Slack bot token, the Teams app password. */
  public grantChatSecrets(fn: HandlerFunction): void {
    grantSecret(fn, this.props.slack?.botTokenSecret);
    grantSecret(fn, this.props.teams?.appPasswordSecret);
  }

  /** The functions behind the workflow's Task states. */
  public workflowTasks() {
    return {
      evaluate: this.evaluate.function,
      requestApproval: this.requestApproval.function,
      expire: this.expire.function,
      execute: this.execute.function,
      fail: this.fail.function,
    };
  }

  /**
   * Lets the execute function assume the execution roles (naming the agent and the request) and
   * sign receipts, and the evaluate function assume the preview roles, in this account and each
   * workload account; tells each which role to take for which class and account.
   */
  public allowSessions(
    executionRoles: ExecutionRoles,
    receiptKey: kms.IKey,
    targetAccounts: readonly string[] = [],
  ): void {
    this.allowPreview(executionRoles.previewRole, targetAccounts);
    const { execute } = this;
    if (targetAccounts.length > 0) {
      const { partition } = Stack.of(this.scope);
      const workload = Object.fromEntries(
        targetAccounts.map((account) => [
          account,
          Object.fromEntries(
            TARGET_ROLE_CLASSES.map((roleClass) => [roleClass, targetRoleArn(account, roleClass, partition)]),
          ),
        ]),
      );
      execute.function.addEnvironment('TARGET_ACCOUNTS_JSON', Stack.of(this.scope).toJsonString(workload));
      execute.role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: 'AssumeWorkloadExecutionRoles',
          actions: ['sts:AssumeRole', 'sts:SetSourceIdentity', 'sts:TagSession'],
          resources: targetAccounts.flatMap((account) =>
            TARGET_ROLE_CLASSES.map((roleClass) => targetRoleArn(account, roleClass, partition)),
          ),
        }),
      );
    }
    const roles = Object.entries(executionRoles.roles) as [ExecutionRoleClass, iam.Role][];
    execute.function.addEnvironment(
      'EXECUTION_ROLES_JSON',
      Stack.of(this.scope).toJsonString(Object.fromEntries(roles.map(([cls, role]) => [cls, role.roleArn]))),
    );
    execute.function.addEnvironment('RECEIPT_KEY_ID', receiptKey.keyArn);
    if (roles.length > 0) {
      execute.role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: 'AssumeExecutionRoles',
          actions: ['sts:AssumeRole', 'sts:SetSourceIdentity', 'sts:TagSession'],
          resources: roles.map(([, role]) => role.roleArn),
        }),
      );
    }
    execute.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'SignReceipts',
        actions: ['kms:Sign'],
        resources: [receiptKey.keyArn],
        conditions: { StringEquals: { 'kms:SigningAlgorithm': 'ECDSA_SHA_256' } },
      }),
    );
  }

  /**
   * Lets the evaluate function assume the preview roles, this account's and each workload
   * account's, and no other role, and tells it which role reads which account's resources.
   */
  private allowPreview(previewRole: iam.IRole, targetAccounts: readonly string[] = []): void {
    const { evaluate } = this;
    const stack = Stack.of(this.scope);
    const workload = Object.fromEntries(
      targetAccounts.map((account) => [account, targetPreviewRoleArn(account, stack.partition)]),
    );
    evaluate.function.addEnvironment('PREVIEW_ROLE_ARN', previewRole.roleArn);
    if (targetAccounts.length > 0)
      evaluate.function.addEnvironment('PREVIEW_TARGET_ACCOUNTS_JSON', stack.toJsonString(workload));
    evaluate.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'AssumePreviewRoles',
        actions: ['sts:AssumeRole', 'sts:SetSourceIdentity', 'sts:TagSession'],
        resources: [previewRole.roleArn, ...Object.values(workload)],
      }),
    );
  }
}

/** Lets `fn` read one Secrets Manager secret, named or by ARN; nothing when there is none. */
export function grantSecret(fn: HandlerFunction, secret: string | undefined): void {
  if (!secret) return;
  fn.role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      actions: ['secretsmanager:GetSecretValue'],
      resources: [secretArn(fn, secret)],
    }),
  );
}
