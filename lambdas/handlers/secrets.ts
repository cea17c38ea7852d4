import type { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { SecretSource } from '../app/ports';
import { clientConfig, type Environment } from './lambda-wiring';

/**
 * Reads a secret by ARN or name once per container; the value never reaches a log. The Secrets
 * Manager client is loaded by the first read: functions that read no secret never load it.
 */
export class SecretReader implements SecretSource {
  private readonly cache = new Map<string, Promise<string>>();
  private client: Promise<SecretsManager> | undefined;

  constructor(private readonly environment: Environment) {}

  get(secretId: string): Promise<string> {
    let value = this.cache.get(secretId);
    if (!value) {
      value = this.secretsManager()
        .then(({ client, GetSecretValueCommand }) =>
          client.send(new GetSecretValueCommand({ SecretId: secretId })),
        )
        .then((secret) => {
          if (!secret.SecretString) throw new Error(`secret ${secretId} has no string value`);
          return secret.SecretString;
        });
      value.catch(() => this.cache.delete(secretId));
      this.cache.set(secretId, value);
    }
    return value;
  }

  private secretsManager(): Promise<SecretsManager> {
    this.client ??= import('@aws-sdk/client-secrets-manager').then(
      ({ SecretsManagerClient, GetSecretValueCommand }) => ({
        client: new SecretsManagerClient(clientConfig(this.environment, 'SECRETS_MANAGER')),
        GetSecretValueCommand,
      }),
    );
    return this.client;
  }
}

interface SecretsManager {
  readonly client: SecretsManagerClient;
  readonly GetSecretValueCommand: typeof GetSecretValueCommand;
}
