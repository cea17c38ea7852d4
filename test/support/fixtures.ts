import { SFNClient } from '@aws-sdk/client-sfn';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { DynamoAuditLog } from '../../lambdas/adapters/audit-log';
import { EventBridgePublisher } from '../../lambdas/adapters/event-bridge';
import { IamDataReference } from '../../lambdas/adapters/iam-reference';
import { loadPolicySources } from '../../lambdas/adapters/policy-files';
import { DynamoRequestsStore } from '../../lambdas/adapters/requests-store';
import { StepFunctionsCallbacks } from '../../lambdas/adapters/step-functions';
import type { DecideDeps } from '../../lambdas/app/decide';
import type { EvaluateDeps } from '../../lambdas/app/evaluate';
import type {
  ApprovalNotifier,
  Clock,
  UnauthenticatedCallback,
  UnauthenticatedCallbacks,
} from '../../lambdas/app/ports';
import type { ApprovalCard, CardOutcome } from '../../lambdas/core/card';
import { Directory, type DirectoryConfig } from '../../lambdas/core/directory';
import type { ChatMessageRefs } from '../../lambdas/core/lifecycle';
import { PolicyEngine } from '../../lambdas/core/policy';
import type { TestTables } from './dynamodb';
import { InMemoryTables } from '../../lambdas/adapters/in-memory-store';
import type { AuditLog, RequestsStore } from '../../lambdas/app/ports';

export const PRODUCTION_ACCOUNT = '111122223333';
export const STAGING_ACCOUNT = '444455556666';

export const directoryConfig: DirectoryConfig = {
  agents: {
    'reporting-bot': { owners: ['owner@example.com'], description: 'Builds the quarterly reports' },
    'deploy-bot': { owners: ['platform-lead@example.com'] },
  },
  reviewers: [
    {
      id: 'alice@example.com',
      groups: ['security'],
      slackUserId: 'UALICE',
      teamsAadObjectId: 'aad-alice',
      iamPrincipalArns: ['arn:aws:iam::111122223333:user/alice'],
    },
    {
      id: 'bob@example.com',
      groups: ['security', 'operators'],
      slackUserId: 'UBOB',
      teamsAadObjectId: 'aad-bob',
    },
    { id: 'carol@example.com', groups: ['operators'], slackUserId: 'UCAROL' },
    {
      id: 'owner@example.com',
      groups: ['security', 'operators'],
      slackUserId: 'UOWNER',
      teamsAadObjectId: 'aad-owner',
      iamPrincipalArns: ['arn:aws:iam::111122223333:user/owner'],
    },
  ],
  environments: {
    accounts: { [PRODUCTION_ACCOUNT]: 'production', [STAGING_ACCOUNT]: 'staging' },
    buckets: { 'staging-reports': 'staging' },
    default: 'production',
  },
};

export const directory = (() => {
  const parsed = Directory.parse(directoryConfig);
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.value;
})();

export const policy = (() => {
  const loaded = PolicyEngine.load(loadPolicySources());
  if (!loaded.ok) throw loaded.error;
  return loaded.value;
})();

/** A clock the test moves by hand. */
export class ManualClock implements Clock {
  constructor(private current = new Date('2026-11-24T10:00:00.000Z')) {}
  now(): Date {
    return new Date(this.current);
  }
  advance(seconds: number): void {
    this.current = new Date(this.current.getTime() + seconds * 1000);
  }
}

/** An `Action Requested` event as an agent would put it on the bus. */
export function actionRequested(
  detail: {
    requestId: string;
    operation?: string;
    resource?: string;
    parameters?: Record<string, unknown>;
    ttlSeconds?: number;
  },
  agentId = 'reporting-bot',
) {
  return {
    version: '0',
    id: `evt-${detail.requestId}`,
    'detail-type': 'Action Requested',
    source: `agent.${agentId}`,
    account: PRODUCTION_ACCOUNT,
    time: '2026-11-24T10:00:00Z',
    region: 'eu-west-1',
    resources: [],
    detail: {
      requestId: detail.requestId,
      action: {
        operation: detail.operation ?? 'dynamodb:ExportTableToPointInTime',
        resource: detail.resource ?? `arn:aws:dynamodb:eu-west-1:${PRODUCTION_ACCOUNT}:table/orders`,
        parameters: detail.parameters ?? {
          S3Bucket: 'exports',
          S3Prefix: `orders/${detail.requestId}/`,
          ExportFormat: 'DYNAMODB_JSON',
        },
      },
      justification: 'Quarterly revenue report.',
      ...(detail.ttlSeconds ? { ttlSeconds: detail.ttlSeconds } : {}),
    },
  };
}

/** What the workflow's Evaluate task sends its function: the event and the execution's ARN. */
export function evaluateTaskInput(event: unknown, executionName = 'test-execution') {
  return {
    event,
    executionId: `arn:aws:states:eu-west-1:${PRODUCTION_ACCOUNT}:execution:action-approvals:${executionName}`,
  };
}

/** Records what the use cases ask a chat channel to show. */
export class RecordingNotifier implements ApprovalNotifier {
  readonly posted: ApprovalCard[] = [];
  readonly updates: { refs: ChatMessageRefs; card: ApprovalCard; outcome: CardOutcome }[] = [];
  constructor(readonly channel: 'slack' | 'teams' = 'slack') {}
  async post(card: ApprovalCard): Promise<ChatMessageRefs> {
    this.posted.push(card);
    return this.channel === 'slack'
      ? { slack: { channel: 'C1', ts: `${this.posted.length}.000` } }
      : {
          teams: {
            serviceUrl: 'https://smba.example',
            conversationId: 'conv',
            activityId: `act-${this.posted.length}`,
          },
        };
  }
  async update(refs: ChatMessageRefs, card: ApprovalCard, outcome: CardOutcome): Promise<void> {
    this.updates.push({ refs, card, outcome });
  }
}

export interface TestDeps {
  readonly clock: ManualClock;
  readonly evaluate: EvaluateDeps;
  readonly decide: DecideDeps;
  readonly notifier: RecordingNotifier;
  readonly notifierErrors: string[];
}

/** The two table ports, sharing their state as the real tables do. */
export interface TestStores {
  readonly requests: RequestsStore;
  readonly audit: AuditLog;
}

/** Fresh in-memory tables: what use-case tests run on, no Java needed. */
export function inMemoryStores(): TestStores {
  const tables = new InMemoryTables();
  return { requests: tables.requestsStore, audit: tables.auditLog };
}

/** The DynamoDB adapters over DynamoDB Local tables, for the adapters' and handlers' own tests. */
export function dynamoStores(tables: TestTables): TestStores {
  return {
    requests: new DynamoRequestsStore(tables.documents, tables.requestsTable, tables.auditTable),
    audit: new DynamoAuditLog(tables.documents, tables.auditTable),
  };
}

/**
 * The request path over the given stores (DynamoDB Local tables are turned into their adapters)
 * and AWS clients (usually mocked).
 */
export function testDeps(
  stores: TestStores | TestTables,
  clients: { sfn?: SFNClient; events?: EventBridgeClient } = {},
): TestDeps {
  const clock = new ManualClock();
  const notifier = new RecordingNotifier();
  const notifierErrors: string[] = [];
  const { requests, audit } = 'documents' in stores ? dynamoStores(stores) : stores;
  const base = {
    requests,
    audit,
    directory,
    clock,
  };
  return {
    clock,
    notifier,
    notifierErrors,
    evaluate: { ...base, iam: new IamDataReference(), policy },
    decide: {
      ...base,
      callbacks: new StepFunctionsCallbacks(clients.sfn ?? new SFNClient({ region: 'us-east-1' })),
      publisher: new EventBridgePublisher(
        clients.events ?? new EventBridgeClient({ region: 'us-east-1' }),
        'action-approvals',
      ),
      notifiers: [notifier],
      onNotifierError: (channel) => notifierErrors.push(channel),
    },
  };
}

/** Records what the chat callbacks report instead of auditing: callbacks that failed authentication. */
export class RecordingUnauthenticatedCallbacks implements UnauthenticatedCallbacks {
  readonly refusals: UnauthenticatedCallback[] = [];
  refused(callback: UnauthenticatedCallback): void {
    this.refusals.push(callback);
  }
}
