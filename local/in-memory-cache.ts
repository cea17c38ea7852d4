import type { CacheClient } from '@aws-lambda-powertools/idempotency/types';

/** The options of a Redis `SET` the Powertools cache persistence layer passes. */
interface SetOptions {
  /** Seconds until the key expires. */
  readonly EX?: number;
  /** Only set the key when it does not exist. */
  readonly NX?: boolean;
}

/**
 * The Valkey/Redis operations Powertools idempotency needs (`GET`, `SET … EX … NX`, `DEL`), kept
 * in this process's memory: where the local runtime without Java remembers Slack clicks.
 */
export class InMemoryCache implements CacheClient {
  private readonly entries = new Map<string, { readonly value: string; readonly expiresAt: number }>();

  constructor(private readonly now: () => number = Date.now) {}

  async get(name: string): Promise<string | null> {
    return this.live(name)?.value ?? null;
  }

  async set(name: string | Uint8Array, value: unknown, options?: unknown): Promise<string | null> {
    const key = typeof name === 'string' ? name : Buffer.from(name).toString();
    const { EX, NX } = (options ?? {}) as SetOptions;
    if (NX && this.live(key)) return null;
    this.entries.set(key, {
      value: String(value),
      expiresAt: EX === undefined ? Number.POSITIVE_INFINITY : this.now() + EX * 1000,
    });
    return 'OK';
  }

  async del(keys: string[]): Promise<number> {
    return keys.filter((key) => this.entries.delete(key)).length;
  }

  private live(key: string): { readonly value: string } | undefined {
    const entry = this.entries.get(key);
    if (!entry || entry.expiresAt > this.now()) return entry;
    this.entries.delete(key);
    return undefined;
  }
}
