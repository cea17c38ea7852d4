import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SQSClient } from '@aws-sdk/client-sqs';
import { CreateTableCommand, DynamoDBClient, ResourceInUseException } from '@aws-sdk/client-dynamodb';
import { join } from 'node:path';
import {
  auditLogTableDefinition,
  idempotencyTableDefinition,
  requestsTableDefinition,
} from '../lambdas/adapters/tables';
import { paginateScan } from '@aws-sdk/lib-dynamodb';
import { InMemoryTables } from '../lambdas/adapters/in-memory-store';
import { ActionApprovalsClient } from '../client';
import { castBallot, type BallotResult } from '../lambdas/app/decide';
import type { VoteDecision } from '../lambdas/core/approval';
import { verifyChain, type AuditRecord, type ChainVerification } from '../lambdas/core/audit';
import type { RequestRecord } from '../lambdas/core/lifecycle';
import { OUTCOME_SOURCE } from '../lambdas/core/outcome';
import { decisionPath } from '../lambdas/handlers/decision-wiring';
import { Runtime, type ClientObserver } from '../lambdas/handlers/runtime';
import { logger } from '../lambdas/adapters/logger';
import * as evaluate from '../lambdas/handlers/evaluate';
import * as execute from '../lambdas/handlers/execute';
import * as expire from '../lambdas/handlers/expire';
import * as fail from '../lambdas/handlers/fail';
import * as requestApproval from '../lambdas/handlers/request-approval';
import * as status from '../lambdas/handlers/status';
import type { HttpResponse } from '../lambdas/app/ports';
import type { APIGatewayProxyEventV2WithIAMAuthorizer } from 'aws-lambda';
import type { DirectoryConfig } from '../lambdas/core/directory';
import { synthesizeWorkflowDefinition } from './definition';
import {
  javaIsInstalled,
  launchDynamoDbLocal,
  LOCAL_CREDENTIALS,
  LOCAL_REGION,
  type DynamoDbLocal,
} from './dynamodb-local';
import { DynamoDbLocalTables, InMemoryExportableTables, type ExportableTables } from './exportable-tables';
import { LocalEventBus, type BusEvent } from './event-bus';
import { InMemoryCache } from './in-memory-cache';
import { LocalGateway } from './gateway';
import { LocalKms } from './local-kms';
import { LocalSts } from './local-sts';
import { LocalQueues } from './queues';
import { targetRoleArn, TARGET_ROLE_CLASSES, type TargetRoleClass } from '../lib/action-approvals-target';
import { LocalChangePreviewer } from './previewer';
import { SAMPLE_ACCOUNTS, SAMPLE_WORKLOAD_ACCOUNTS, sampleDirectory, seedSampleStandIns } from './samples';
import { LocalTargets } from './targets';
import { TaskTokens } from './task-tokens';
import { LocalWorkflow, type ExecutionSummary, type StateChange, type WorkflowHandlers } from './workflow';

export const BUS_NAME = 'action-approvals';
export const TABLES = {
  requests: 'action-approvals-requests',
  audit: 'action-approvals-audit-log',
  idempotency: 'action-approvals-idempotency',
} as const;

/** The queue an agent's outcome events are delivered to; the construct creates one per agent. */
export const outcomeQueueName = (agentId: string) => `action-approvals-outcomes-${agentId}`;

/**
 * Where the local runtime keeps its tables: DynamoDB Local (needs Java), or this process's memory,
 * in the in-memory tables held to the same contract as the DynamoDB adapters.
 */
export type LocalStorage = 'dynamodb-local' | 'in-memory';

type LocalStore = { readonly dynamodb: DynamoDbLocal } | { readonly memory: InMemoryTables };

export interface LocalRuntimeOptions {
  /** @default 'dynamodb-local' when Java is installed, 'in-memory' otherwise */
  readonly storage?: LocalStorage;
  /** Keep DynamoDB Local's data and the action targets' files under this folder between runs. */
  readonly dataDir?: string;
  /**
   * Mint sessions with AWS STS and run approved actions against AWS, with the caller's
   * credentials and `EXECUTION_ROLES_JSON`; everything else stays local. @default false
   */
  readonly useAws?: boolean;
  /** Keep DynamoDB Local's tables on disk (in `dataDir`) instead of in memory. */
  readonly persist?: boolean;
  readonly directory?: DirectoryConfig;
  /** The Cedar policies to decide with. @default - the shipped `policies/` */
  readonly policyDir?: string;
  /**
   * Ends every approval wait after this many seconds instead of the request's TTL (which is at
   * least 60 s), so tests can watch requests expire. @default - each request's TTL
   */
  readonly approvalTimeoutSeconds?: number;
  /**
   * The handlers' log level: their JSON lines are for CloudWatch, and here the activity reports
   * tell the story. @default 'WARN'
   */
  readonly handlerLogLevel?: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR' | 'SILENT';
  /** Called with each state change, for the terminal and the console. */
  readonly onActivity?: (activity: Activity) => void;
  /**
   * Fault injection: called with every AWS client the handlers build, before its first call, so
   * a test can add middleware to its stack (throttling, outages). @default - nothing is injected
   */
  readonly onClient?: ClientObserver;
  /**
   * Fault injection: what the workflow's Task states invoke in place of the handlers, given the
   * handlers (a Lambda invocation whose answer is lost, a task delivered twice).
   * @default - the handlers themselves
   */
  readonly invokeHandlers?: (handlers: WorkflowHandlers) => WorkflowHandlers;
}

export type Activity =
  | ({ readonly kind: 'state' } & Omit<StateChange, 'error'> & { readonly error?: string })
  | { readonly kind: 'outcome'; readonly event: BusEvent }
  | { readonly kind: 'execution'; readonly summary: ExecutionSummary };

/**
 * action-approvals on one machine: DynamoDB Local holding the real tables (or, without Java, the
 * in-memory tables behind the same ports), the state machine
 * synthesized from the CDK construct run by an ASL interpreter with its Task states bound to the
 * real handler modules, and one loopback gateway speaking the AWS protocols the handlers and
 * agents call (EventBridge, Step Functions callbacks, STS, KMS, SQS, and the action targets).
 */
export class LocalRuntime {
  private constructor(
    readonly gateway: LocalGateway,
    readonly bus: LocalEventBus,
    readonly workflow: LocalWorkflow,
    readonly targets: LocalTargets,
    /** Where the tables an approved export reads live, the sample `orders` table among them. */
    readonly tables: ExportableTables,
    private readonly store: LocalStore,
    readonly directory: DirectoryConfig,
    /** The handlers' runtime: the clients and stores they were built with, from its own environment. */
    readonly runtime: Runtime,
  ) {}

  static async start(options: LocalRuntimeOptions = {}): Promise<LocalRuntime> {
    const dataDir = options.dataDir ?? join(process.cwd(), '.local');
    let serveStatus: (event: APIGatewayProxyEventV2WithIAMAuthorizer) => Promise<HttpResponse> = async () => {
      throw new Error('the status API is not ready yet');
    };
    const report = options.onActivity ?? (() => undefined);
    logger.setLogLevel(options.handlerLogLevel ?? 'WARN');
    const storage = options.storage ?? (javaIsInstalled() ? 'dynamodb-local' : 'in-memory');
    // DynamoDB Local boots in its own process while this one synthesizes the workflow.
    const launched =
      storage === 'dynamodb-local'
        ? await launchDynamoDbLocal(options.persist ? { path: join(dataDir, 'dynamodb') } : {})
        : undefined;
    const definition = synthesizeWorkflowDefinition(BUS_NAME);
    const dynamodb = await launched?.ready;
    if (dynamodb) await createTables(dynamodb.endpoint);
    const store: LocalStore = dynamodb ? { dynamodb } : { memory: new InMemoryTables() };
    const tables: ExportableTables =
      'memory' in store
        ? new InMemoryExportableTables({ [TABLES.requests]: () => store.memory.allRequests() })
        : new DynamoDbLocalTables(store.dynamodb.endpoint);

    const bus = new LocalEventBus(BUS_NAME, LOCAL_REGION);
    const tokens = new TaskTokens();
    const sts = new LocalSts();
    let gatewayUrl = '';
    const queues = new LocalQueues(() => gatewayUrl);
    const targets = new LocalTargets(sts, tables, dataDir);
    seedSampleStandIns(targets);
    const gateway = new LocalGateway({
      bus,
      tokens,
      sts,
      queues,
      targets,
      kms: new LocalKms(),
      now: () => new Date(),
      // Built below, once the gateway's address (part of the handlers' environment) is known.
      status: (event) => serveStatus(event),
    });
    gatewayUrl = await gateway.start();

    const useAws = options.useAws ?? false;
    const directory = options.directory ?? sampleDirectory;
    // The handlers get an environment of their own, as each Lambda function has: the inherited
    // one (Slack or Teams settings, AWS credentials for --aws) with the local endpoints on top.
    const rt = new Runtime(
      {
        ...process.env,
        ...handlerEnvironment(
          { ...(dynamodb ? { dynamodbEndpoint: dynamodb.endpoint } : {}), gatewayUrl, directory, useAws },
          process.env,
        ),
        ...(options.policyDir ? { POLICY_DIR: options.policyDir } : {}),
      },
      'memory' in store
        ? {
            requests: store.memory.requestsStore,
            audit: store.memory.auditLog,
            slackClicks: new InMemoryCache(),
          }
        : undefined,
      options.onClient,
    );
    serveStatus = status.createHandler(status.statusDeps(rt));
    const requestApprovalDeps = await requestApproval.requestApprovalDeps(rt);
    const handlers: WorkflowHandlers = {
      // Previews read the stand-ins through the gateway; with --aws there is no local state to read.
      evaluate: evaluate.createHandler({
        ...evaluate.evaluateDeps(rt),
        ...(useAws
          ? {}
          : {
              previewer: new LocalChangePreviewer(sts, gatewayUrl, LOCAL_REGION, (resource) =>
                localExecutionRoleFor(resource, 'generic-read'),
              ),
            }),
      }),
      requestApproval: requestApproval.createHandler(requestApprovalDeps),
      expire: expire.createHandler(requestApprovalDeps),
      execute: execute.createHandler(execute.executeDeps(rt)),
      fail: fail.createHandler(rt.requestPath()),
    };
    const workflow = new LocalWorkflow(
      definition,
      options.invokeHandlers ? options.invokeHandlers(handlers) : handlers,
      tokens,
      bus,
      ({ error, ...change }) =>
        report({ kind: 'state', ...change, ...(error ? { error: error.stack ?? String(error) } : {}) }),
      options.approvalTimeoutSeconds,
    );

    // The two rules the construct deploys: requests start the workflow, outcomes reach the agent.
    bus.on(
      (event) => event['detail-type'] === 'Action Requested' && event.source.startsWith('agent.'),
      (event) => void workflow.start(event).then((summary) => report({ kind: 'execution', summary })),
    );
    bus.on(
      (event) => event.source === OUTCOME_SOURCE,
      (event) => {
        report({ kind: 'outcome', event });
        const agentId = (event.detail as { agentId?: unknown }).agentId;
        if (typeof agentId === 'string') queues.send(outcomeQueueName(agentId), JSON.stringify(event));
      },
    );
    return new LocalRuntime(gateway, bus, workflow, targets, tables, store, directory, rt);
  }

  get gatewayUrl(): string {
    return this.gateway.url;
  }

  /** SDK client settings that reach this runtime's gateway. */
  clientConfig() {
    return { endpoint: this.gatewayUrl, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS };
  }

  /** The agent client as `agentId` would use it, pointed at this runtime. */
  agentClient(agentId: string): ActionApprovalsClient {
    const config = this.clientConfig();
    return new ActionApprovalsClient({
      events: new EventBridgeClient(config),
      sqs: new SQSClient(config),
      eventBusName: BUS_NAME,
      outcomeQueueUrl: `${this.gatewayUrl}/queues/${outcomeQueueName(agentId)}`,
      statusApiUrl: this.gatewayUrl,
    });
  }

  /**
   * How an MCP client (a desktop or IDE agent) starts the MCP server as `agentId` against this
   * runtime: the command, its arguments and its environment.
   */
  mcpServerConfig(agentId: string, projectRoot: string = join(__dirname, '..')) {
    return {
      command: join(projectRoot, 'node_modules', '.bin', 'tsx'),
      args: [join(projectRoot, 'bin', 'cli.ts'), 'mcp'],
      env: {
        ACTION_APPROVALS_AGENT_ID: agentId,
        ACTION_APPROVALS_EVENT_BUS: BUS_NAME,
        ACTION_APPROVALS_OUTCOME_QUEUE_URL: `${this.gatewayUrl}/queues/${outcomeQueueName(agentId)}`,
        ACTION_APPROVALS_STATUS_URL: this.gatewayUrl,
        ACTION_APPROVALS_ENVIRONMENTS_JSON: JSON.stringify(this.directory.environments),
        AWS_ENDPOINT_URL: this.gatewayUrl,
        AWS_REGION: LOCAL_REGION,
        AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
        AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
      },
    };
  }

  get storage(): LocalStorage {
    return 'dynamodb' in this.store ? 'dynamodb-local' : 'in-memory';
  }

  /** DynamoDB Local itself, to stop and restart under load; undefined when the tables are in memory. */
  get dynamodbLocal(): DynamoDbLocal | undefined {
    return 'dynamodb' in this.store ? this.store.dynamodb : undefined;
  }

  /** DynamoDB Local's address; undefined when the tables are in memory. */
  get dynamodbEndpoint(): string | undefined {
    return 'dynamodb' in this.store ? this.store.dynamodb.endpoint : undefined;
  }

  /**
   * A reviewer's answer from the local console: the same decision path as Slack, Teams and the
   * API. The console is a local tool; its reviewers are picked from the directory, not signed in.
   */
  async vote(requestId: string, reviewerId: string, decision: VoteDecision): Promise<BallotResult> {
    const rt = this.runtime;
    return castBallot(
      {
        requestId,
        channel: 'console',
        caller: `console:${reviewerId}`,
        reviewer: rt.directory.reviewerById(reviewerId),
        decision,
      },
      decisionPath(rt, await rt.notifiers()),
    );
  }

  /** Every request, newest first. */
  async requests(): Promise<RequestRecord[]> {
    const records = 'memory' in this.store ? this.store.memory.allRequests() : await this.scanRequests();
    return records.sort((a, b) => (a.createdAt < b.createdAt ? 1 : -1));
  }

  private async scanRequests(): Promise<RequestRecord[]> {
    const records: RequestRecord[] = [];
    for await (const page of paginateScan(
      { client: this.runtime.documents },
      { TableName: TABLES.requests },
    )) {
      records.push(...((page.Items ?? []) as RequestRecord[]));
    }
    return records;
  }

  /** A request's audit chain and whether it verifies. */
  async timeline(requestId: string): Promise<{ records: AuditRecord[]; verification: ChainVerification }> {
    const records = await this.runtime.requestPath().audit.read(requestId);
    return { records, verification: verifyChain(records) };
  }

  async stop(): Promise<void> {
    await this.gateway.stop();
    if ('dynamodb' in this.store) await this.store.dynamodb.stop();
  }
}

/**
 * The handler modules read their settings from the environment, as in Lambda: point them at the
 * local tables and the gateway, with the standard `AWS_ENDPOINT_URL_<SERVICE>` overrides. Without
 * DynamoDB Local (the tables in memory) there is no idempotency table: Slack clicks are
 * remembered in an in-memory cache instead. With
 * `useAws`, STS and the approved actions are real AWS: the caller's own credential chain and the
 * execution roles in its `EXECUTION_ROLES_JSON` are used; everything else stays local.
 */
export function handlerEnvironment(
  local: { dynamodbEndpoint?: string; gatewayUrl: string; directory: DirectoryConfig; useAws: boolean },
  inherited: NodeJS.ProcessEnv,
): Record<string, string> {
  const shared = {
    ...(local.dynamodbEndpoint
      ? { AWS_ENDPOINT_URL_DYNAMODB: local.dynamodbEndpoint, IDEMPOTENCY_TABLE_NAME: TABLES.idempotency }
      : {}),
    AWS_ENDPOINT_URL_SFN: local.gatewayUrl,
    AWS_ENDPOINT_URL_EVENTBRIDGE: local.gatewayUrl,
    AWS_ENDPOINT_URL_KMS: local.gatewayUrl,
    REQUESTS_TABLE_NAME: TABLES.requests,
    AUDIT_TABLE_NAME: TABLES.audit,
    EVENT_BUS_NAME: BUS_NAME,
    DIRECTORY_JSON: JSON.stringify(local.directory),
    RECEIPT_KEY_ID: 'alias/action-approvals-receipts',
  };
  if (local.useAws) {
    if (!inherited.EXECUTION_ROLES_JSON) {
      throw new Error(
        '--aws needs EXECUTION_ROLES_JSON: {"<role class>": "<execution role ARN>"} for the roles to assume',
      );
    }
    return {
      ...shared,
      AWS_REGION: inherited.AWS_REGION ?? LOCAL_REGION,
      EXECUTION_ROLES_JSON: inherited.EXECUTION_ROLES_JSON,
    };
  }
  return {
    ...shared,
    AWS_REGION: LOCAL_REGION,
    AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
    AWS_ENDPOINT_URL_STS: local.gatewayUrl,
    ACTION_ENDPOINT_URL: local.gatewayUrl,
    EXECUTION_ROLES_JSON: JSON.stringify(LOCAL_EXECUTION_ROLES.central),
    TARGET_ACCOUNTS_JSON: JSON.stringify(LOCAL_EXECUTION_ROLES.targetAccounts),
  };
}

const rolesOf = (roleArn: (roleClass: TargetRoleClass) => string) =>
  Object.fromEntries(TARGET_ROLE_CLASSES.map((roleClass) => [roleClass, roleArn(roleClass)]));

/**
 * The execution roles local mode names, as a deployment would: the central account's own, and in
 * each workload account the member stack's (`ActionApprovalsTarget`, fixed names under
 * `/action-approvals/`), which the execute step picks for a resource of that account.
 */
export const LOCAL_EXECUTION_ROLES = {
  central: rolesOf(
    (roleClass) => `arn:aws:iam::${SAMPLE_ACCOUNTS.production}:role/action-approvals-${roleClass}`,
  ),
  targetAccounts: Object.fromEntries(
    SAMPLE_WORKLOAD_ACCOUNTS.map((account) => [
      account,
      rolesOf((roleClass) => targetRoleArn(account, roleClass)),
    ]),
  ),
} as const;

/** The role of `roleClass` a call on `resource` runs with locally: its workload account's, or the central one. */
export function localExecutionRoleFor(resource: string, roleClass: TargetRoleClass): string {
  const account = resource.split(':')[4] ?? '';
  const roles = LOCAL_EXECUTION_ROLES.targetAccounts[account] ?? LOCAL_EXECUTION_ROLES.central;
  return roles[roleClass] ?? '';
}

/** Creates the Requests, AuditLog and idempotency tables (TABLES) in DynamoDB Local, unless they exist. */
export async function createTables(endpoint: string): Promise<void> {
  const client = new DynamoDBClient({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  try {
    for (const definition of [
      requestsTableDefinition(TABLES.requests),
      auditLogTableDefinition(TABLES.audit),
      idempotencyTableDefinition(TABLES.idempotency),
    ]) {
      try {
        await client.send(new CreateTableCommand(definition));
      } catch (error) {
        if (!(error instanceof ResourceInUseException)) throw error;
      }
    }
  } finally {
    client.destroy();
  }
}
