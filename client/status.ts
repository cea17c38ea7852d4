import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, Checksum, Provider, SourceData } from '@smithy/types';
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';

/** A vote counted so far: who, how, when, through which channel. */
export interface VoteStatus {
  readonly reviewer: string;
  readonly decision: 'approve' | 'deny';
  readonly at: string;
  readonly channel: 'slack' | 'teams' | 'api' | 'console';
}

/** What the status API answers about one request. */
export interface RequestStatus {
  readonly requestId: string;
  readonly agentId: string;
  readonly state:
    | 'awaiting-approval'
    | 'approved'
    | 'executing'
    | 'executed'
    | 'simulated'
    | 'denied'
    | 'expired'
    | 'failed';
  readonly operation: string;
  readonly resource: string;
  readonly parameters: Readonly<Record<string, unknown>>;
  readonly parametersHash: string;
  readonly justification: string;
  readonly requestedAt: string;
  readonly createdAt: string;
  readonly expiresAt: string;
  readonly policy: {
    readonly outcome: string;
    readonly reason: string;
    readonly policyIds: readonly string[];
  };
  readonly approval?: {
    readonly quorum: number;
    readonly approverGroups: readonly string[];
    readonly approvals: number;
    readonly votes: readonly VoteStatus[];
  };
  readonly outcomeReason?: string;
  readonly receipt?: string;
  readonly result?: unknown;
}

export interface StatusApiClientOptions {
  /** The HTTP API's URL, e.g. `https://abc123.execute-api.eu-west-1.amazonaws.com`. */
  readonly url: string;
  readonly region: string | Provider<string>;
  readonly credentials: AwsCredentialIdentity | Provider<AwsCredentialIdentity>;
}

export class StatusApiError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
    this.name = 'StatusApiError';
  }
}

/** SHA-256 (and HMAC-SHA-256 with a secret) from Node's crypto, as SigV4 signing needs it. */
class NodeSha256 implements Checksum {
  private hash: Hash | Hmac;
  constructor(private readonly secret?: SourceData) {
    this.hash = this.fresh();
  }
  update(data: Uint8Array | string): void {
    this.hash.update(data);
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
  reset(): void {
    this.hash = this.fresh();
  }
  private fresh(): Hash | Hmac {
    return this.secret === undefined
      ? createHash('sha256')
      : createHmac(
          'sha256',
          typeof this.secret === 'string' ? this.secret : Buffer.from(this.secret as Uint8Array),
        );
  }
}

/**
 * The status API, SigV4-signed as `execute-api`: an agent's own requests, on the routes IAM pins
 * to its `ActionApprovalsAgentId` tag.
 */
export class StatusApiClient {
  private readonly signer: SignatureV4;

  constructor(private readonly options: StatusApiClientOptions) {
    this.signer = new SignatureV4({
      service: 'execute-api',
      region: options.region,
      credentials: options.credentials,
      sha256: NodeSha256,
    });
  }

  /** One request's status; undefined when the API does not know the id. */
  async getRequest(agentId: string, requestId: string): Promise<RequestStatus | undefined> {
    const path = `/v1/agents/${encodeURIComponent(agentId)}/requests/${encodeURIComponent(requestId)}`;
    const answer = await this.get(path, {});
    if (answer.status === 404) return undefined;
    return (await this.body(answer)) as RequestStatus;
  }

  /** The agent's recent requests, newest first. */
  async listRequests(agentId: string, limit = 25): Promise<RequestStatus[]> {
    const answer = await this.get(`/v1/agents/${encodeURIComponent(agentId)}/requests`, {
      limit: String(limit),
    });
    return ((await this.body(answer)) as { requests: RequestStatus[] }).requests;
  }

  private async get(path: string, query: Record<string, string>): Promise<Response> {
    const base = new URL(this.options.url);
    const fullPath = `${base.pathname.replace(/\/$/, '')}${path}`;
    const signed = await this.signer.sign({
      method: 'GET',
      protocol: base.protocol,
      hostname: base.hostname,
      ...(base.port ? { port: Number(base.port) } : {}),
      path: fullPath,
      query,
      headers: { host: base.host },
    });
    const url = new URL(fullPath, base);
    for (const [key, value] of Object.entries(query)) url.searchParams.set(key, value);
    const headers = Object.fromEntries(Object.entries(signed.headers).filter(([name]) => name !== 'host'));
    return fetch(url, { headers });
  }

  private async body(answer: Response): Promise<unknown> {
    const text = await answer.text();
    if (!answer.ok) throw new StatusApiError(answer.status, `status API answered ${answer.status}: ${text}`);
    return JSON.parse(text) as unknown;
  }
}
