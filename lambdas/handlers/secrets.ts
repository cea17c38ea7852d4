import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { SecretSource } from '../app/ports';

/** Reads a secret by ARN or name once per container; the value never reaches a log. */
export class SecretReader implements SecretSource {
  private readonly cache = new Map<string, Promise<string>>();

  constructor(private readonly client: SecretsManagerClient) {}

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
