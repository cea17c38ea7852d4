import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { DynamoAuditLog } from '../adapters/audit-log';
import { EventBridgePublisher } from '../adapters/event-bridge';
import { logger } from '../adapters/logger';
import { DynamoRequestsStore } from '../adapters/requests-store';
import { slackNotifierFromEnvironment } from '../adapters/slack';
import { teamsNotifierFromEnvironment } from '../adapters/teams';
import { StepFunctionsCallbacks } from '../adapters/step-functions';
import type { ApprovalNotifier, Clock, RequestPathDeps } from '../app/ports';
import { systemClock } from '../app/ports';
import type { DecideDeps } from '../app/decide';
import { Directory } from '../core/directory';

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

export function readSettings(environment: NodeJS.ProcessEnv = process.env): RuntimeSettings {
  const parsed = settingsSchema.safeParse(environment);
  if (!parsed.success) {
    throw new Error(
      `missing settings: ${parsed.error.issues.map((issue) => issue.path.join('.')).join(', ')}`,
    );
  }
  return parsed.data;
}

/** Reads a secret by ARN or name once per container; the value never reaches a log. */
export class SecretReader {
  private readonly cache = new Map<string, Promise<string>>();

  constructor(private readonly client: SecretsManagerClient = new SecretsManagerClient({})) {}

  get(secretId: string): Promise<string> {
    let value = this.cache.get(secretId);
    if (!value) {
      value = this.client.send(new GetSecretValueCommand({ SecretId: secretId })).then((secret) => {
        if (!secret.SecretString) throw new Error(`secret ${secretId} has no string value`);
        return secret.SecretString;
      });
      value.catch(() => this.cache.delete(secretId));
      this.cache.set(secretId, value);
    }
    return value;
  }
}

/** The clients and stores one function instance shares across invocations. */
export class Runtime {
  readonly dynamodb = new DynamoDBClient({});
  readonly documents: DynamoDBDocumentClient;
  readonly directory: Directory;
  readonly clock: Clock = systemClock;
  readonly secrets = new SecretReader();
  readonly reportNotifierError = reportNotifierError;
  private channels: Promise<ApprovalNotifier[]> | undefined;

  constructor(readonly settings: RuntimeSettings) {
    this.documents = DynamoDBDocumentClient.from(this.dynamodb, {
      marshallOptions: { removeUndefinedValues: true },
    });
    const directory = Directory.parse(JSON.parse(settings.DIRECTORY_JSON));
    if (!directory.ok) throw new Error(directory.error);
    this.directory = directory.value;
  }

  requestPath(): RequestPathDeps {
    return {
      requests: new DynamoRequestsStore(
        this.documents,
        this.settings.REQUESTS_TABLE_NAME,
        this.settings.AUDIT_TABLE_NAME,
      ),
      audit: new DynamoAuditLog(this.documents, this.settings.AUDIT_TABLE_NAME),
      directory: this.directory,
      clock: this.clock,
    };
  }

  /** The chat channels configured for this deployment (none, Slack, Teams, or both). */
  notifiers(): Promise<ApprovalNotifier[]> {
    this.channels ??= Promise.all([
      slackNotifierFromEnvironment(process.env, this.secrets),
      teamsNotifierFromEnvironment(process.env, this.secrets),
    ]).then((found) => found.filter((notifier): notifier is ApprovalNotifier => notifier !== undefined));
    return this.channels;
  }

  decisionPath(notifiers: readonly ApprovalNotifier[]): DecideDeps {
    return {
      ...this.requestPath(),
      callbacks: new StepFunctionsCallbacks(new SFNClient({})),
      publisher: new EventBridgePublisher(new EventBridgeClient({}), this.settings.EVENT_BUS_NAME),
      notifiers,
      onNotifierError: reportNotifierError,
    };
  }
}

export function reportNotifierError(channel: string, error: unknown): void {
  logger.error('chat channel could not be updated', {
    channel,
    error: error instanceof Error ? error.message : String(error),
  });
}

let shared: Runtime | undefined;

/** The instance's runtime, built on first use from the environment. */
export function runtime(): Runtime {
  shared ??= new Runtime(readSettings());
  return shared;
}
