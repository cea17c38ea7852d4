import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { CacheClient } from '@aws-lambda-powertools/idempotency/types';
import * as z from 'zod';
import { DynamoAuditLog } from '../adapters/audit-log';
import { logger } from '../adapters/logger';
import { DynamoRequestsStore } from '../adapters/requests-store';
import type {
  ApprovalNotifier,
  AuditLog,
  Clock,
  RequestHistory,
  RequestPathDeps,
  RequestsStore,
} from '../app/ports';
import { systemClock } from '../app/ports';
import { Directory } from '../core/directory';
import { clientConfig, type Environment } from './lambda-wiring';
import { SecretReader } from './secrets';

export { builtOnFirstUse, clientConfig, instrumented, type Environment } from './lambda-wiring';

/**
 * Settings every function reads from its environment. The CDK construct sets them; the local
 * runtime sets them too, pointing the SDK at local endpoints with the standard
 * `AWS_ENDPOINT_URL_<SERVICE>` variables.
 */
const settingsSchema = z.object({
  REQUESTS_TABLE_NAME: z.string().min(1),
  AUDIT_TABLE_NAME: z.string().min(1),
  EVENT_BUS_NAME: z.string().min(1),
  DIRECTORY_JSON: z.string().min(2),
  /** A folder holding default.cedar and schema.cedarschema; the shipped defaults when unset. */
  POLICY_DIR: z.string().optional(),
  /** The Powertools idempotency table; only the chat callbacks use it. */
  IDEMPOTENCY_TABLE_NAME: z.string().optional(),
});

export type RuntimeSettings = z.infer<typeof settingsSchema>;

export function readSettings(environment: Environment): RuntimeSettings {
  const parsed = settingsSchema.safeParse(environment);
  if (!parsed.success) {
    throw new Error(
      `missing settings: ${parsed.error.issues.map((issue) => issue.path.join('.')).join(', ')}`,
    );
  }
  return parsed.data;
}

/** The tables a runtime's use cases read and write: DynamoDB's, or ones injected in their place. */
export interface RuntimeStores {
  readonly requests: RequestsStore & RequestHistory;
  readonly audit: AuditLog;
  /** Where Slack clicks are remembered instead of the idempotency table. */
  readonly slackClicks?: CacheClient;
}

/**
 * Sees each AWS SDK client a runtime builds, before its first call, with the service it calls (the
 * `AWS_ENDPOINT_URL_<SERVICE>` name): the local runtime's fault injection adds middleware to its
 * `middlewareStack` here.
 */
export type ClientObserver = (client: object, service: string) => void;

/**
 * The clients and stores one function instance shares across invocations, built from one
 * environment: `process.env` in Lambda (`awsRuntime()`), the local runtime's own object otherwise.
 */
export class Runtime {
  readonly settings: RuntimeSettings;
  readonly dynamodb: DynamoDBClient;
  readonly documents: DynamoDBDocumentClient;
  readonly directory: Directory;
  readonly clock: Clock = systemClock;
  readonly secrets: SecretReader;
  readonly reportNotifierError = reportNotifierError;
  readonly stores: RuntimeStores;
  private channels: Promise<ApprovalNotifier[]> | undefined;

  /**
   * @param stores the tables to use instead of the DynamoDB tables the settings name: the local
   * runtime's in-memory tables on a machine without Java
   * @param observeClient called with every AWS client this runtime and its handlers build
   */
  constructor(
    readonly environment: Environment,
    stores?: RuntimeStores,
    private readonly observeClient: ClientObserver = () => undefined,
  ) {
    this.settings = readSettings(environment);
    const settings = this.settings;
    this.dynamodb = this.client(DynamoDBClient, 'DYNAMODB');
    this.secrets = new SecretReader(environment);
    this.documents = DynamoDBDocumentClient.from(this.dynamodb, {
      marshallOptions: { removeUndefinedValues: true },
    });
    const directory = Directory.parse(JSON.parse(settings.DIRECTORY_JSON));
    if (!directory.ok) throw new Error(directory.error);
    this.directory = directory.value;
    this.stores = stores ?? {
      requests: new DynamoRequestsStore(
        this.documents,
        settings.REQUESTS_TABLE_NAME,
        settings.AUDIT_TABLE_NAME,
      ),
      audit: new DynamoAuditLog(this.documents, settings.AUDIT_TABLE_NAME),
    };
  }

  /** The client of one service, configured from this runtime's environment. */
  client<C extends object>(Client: new (config: ReturnType<typeof clientConfig>) => C, service: string): C {
    const client = new Client(clientConfig(this.environment, service));
    this.observeClient(client, service);
    return client;
  }

  requestPath(): RequestPathDeps {
    return {
      requests: this.stores.requests,
      audit: this.stores.audit,
      directory: this.directory,
      clock: this.clock,
    };
  }

  /**
   * The chat channels configured for this deployment (none, Slack, Teams, or both). Their clients
   * are imported here, not at the top: the functions that never notify (execute, expire) do not
   * load them at a cold start.
   */
  notifiers(): Promise<ApprovalNotifier[]> {
    this.channels ??= Promise.all([
      import('../adapters/slack.js').then(({ slackNotifierFromEnvironment }) =>
        slackNotifierFromEnvironment(this.environment, this.secrets),
      ),
      import('../adapters/teams.js').then(({ teamsNotifierFromEnvironment }) =>
        teamsNotifierFromEnvironment(this.environment, this.secrets),
      ),
    ]).then((found) => found.filter((notifier): notifier is ApprovalNotifier => notifier !== undefined));
    return this.channels;
  }
}

export function reportNotifierError(channel: string, error: unknown): void {
  logger.error('chat channel could not be updated', {
    channel,
    error: error instanceof Error ? error.message : String(error),
  });
}

let shared: Runtime | undefined;

/** The instance's runtime in Lambda, built on first use from the function's environment. */
export function awsRuntime(): Runtime {
  shared ??= new Runtime(process.env);
  return shared;
}
