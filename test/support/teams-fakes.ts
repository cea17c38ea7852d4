import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWTPayload } from 'jose';
import {
  startRecordingHttpServer,
  type RecordedRequest,
  type RecordingHttpServer,
  type RequestResponder,
} from './recording-http-server';

export const BOT_APP_ID = '00000000-0000-4000-8000-00000000b07a';
export const BOT_APP_PASSWORD = 'bot-app-password-never-logged';
export const CONNECTOR_ACCESS_TOKEN = 'connector-access-token-never-logged';
export const CONVERSATION_ID = '19:approvals@thread.tacv2';
export const SIGNING_KID = 'bot-framework-key-1';

/** What a test may change about a token the fake Bot Framework signs. */
export interface TokenOptions {
  readonly issuer?: string;
  readonly audience?: string;
  /** The `serviceurl` claim; null leaves it out. */
  readonly serviceUrl?: string | null;
  readonly kid?: string;
  /** Signs with this key instead of the published one. */
  readonly key?: CryptoKey;
  /** Seconds from `now`; null leaves the expiry out. */
  readonly expiresIn?: number | null;
  readonly notBefore?: number;
}

/**
 * A stand-in for everything Microsoft runs around a bot, on one local recording server: the
 * Bot Framework's OpenID metadata and signing keys, the token endpoint, and a Bot Connector.
 */
export interface FakeBotFramework {
  readonly server: RecordingHttpServer;
  readonly metadataUrl: string;
  readonly tokenUrl: string;
  /** The service URL Teams reports, with its usual trailing slash. */
  readonly serviceUrl: string;
  /** A bearer token for the Authorization header, as the Bot Framework would send it. */
  sign(now: Date, options?: TokenOptions): Promise<string>;
  /** Requests to the Bot Connector (activity posts and updates), in order. */
  connectorCalls(): RecordedRequest[];
  tokenRequests(): RecordedRequest[];
  /** Forgets the recorded requests and answers as Microsoft again, after a test replaced the responder. */
  reset(): void;
  close(): Promise<void>;
}

/** `endorsements`: the channels the signing key vouches for (Microsoft's keys vouch for several). */
export async function startFakeBotFramework(
  endorsements: readonly string[] = ['msteams'],
): Promise<FakeBotFramework> {
  const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true });
  const published = {
    ...(await exportJWK(publicKey)),
    kid: SIGNING_KID,
    alg: 'RS256',
    use: 'sig',
    endorsements: [...endorsements],
  };
  let posted = 0;

  const answerAsMicrosoft: RequestResponder = (request) => {
    const path = request.path.split('?')[0];
    if (request.method === 'GET' && path === '/v1/.well-known/openidconfiguration') {
      return {
        body: {
          issuer: 'https://api.botframework.com',
          jwks_uri: `${server.url}/v1/.well-known/keys`,
          id_token_signing_alg_values_supported: ['RS256'],
        },
      };
    }
    if (request.method === 'GET' && path === '/v1/.well-known/keys') return { body: { keys: [published] } };
    if (request.method === 'POST' && path === '/botframework.com/oauth2/v2.0/token') {
      return {
        body: {
          token_type: 'Bearer',
          expires_in: 3600,
          ext_expires_in: 3600,
          access_token: CONNECTOR_ACCESS_TOKEN,
        },
      };
    }
    if (request.method === 'POST' && path.startsWith('/teams/v3/conversations/')) {
      posted += 1;
      return { status: 201, body: { id: `1700000000${posted}` } };
    }
    if (request.method === 'PUT' && path.startsWith('/teams/v3/conversations/')) {
      return { body: { id: decodeURIComponent(path.split('/').at(-1) ?? '') } };
    }
    return { status: 404, body: { error: { code: 'NotFound', message: `${request.method} ${path}` } } };
  };
  const server = await startRecordingHttpServer(answerAsMicrosoft);
  const serviceUrl = `${server.url}/teams/`;

  return {
    server,
    metadataUrl: `${server.url}/v1/.well-known/openidconfiguration`,
    tokenUrl: `${server.url}/botframework.com/oauth2/v2.0/token`,
    serviceUrl,
    async sign(now, options = {}) {
      const seconds = Math.floor(now.getTime() / 1000);
      const claims: JWTPayload =
        options.serviceUrl === null ? {} : { serviceurl: options.serviceUrl ?? serviceUrl };
      const jwt = new SignJWT(claims)
        .setProtectedHeader({ alg: 'RS256', kid: options.kid ?? SIGNING_KID, typ: 'JWT' })
        .setIssuer(options.issuer ?? 'https://api.botframework.com')
        .setAudience(options.audience ?? BOT_APP_ID)
        .setIssuedAt(seconds)
        .setNotBefore(seconds + (options.notBefore ?? 0));
      if (options.expiresIn !== null) jwt.setExpirationTime(seconds + (options.expiresIn ?? 3600));
      const token = await jwt.sign(options.key ?? privateKey);
      return `Bearer ${token}`;
    },
    connectorCalls: () => server.requests.filter((request) => request.path.startsWith('/teams/')),
    tokenRequests: () => server.requestsTo('/botframework.com/oauth2/v2.0/token'),
    reset: () => {
      server.respondWith(answerAsMicrosoft);
      server.clear();
    },
    close: () => server.close(),
  };
}

/** The Microsoft Entra tenant the test bot serves. */
export const TEAMS_TENANT_ID = '72f988bf-86f1-41af-91ab-2d7cd011db47';

export interface CardActionOptions {
  readonly requestId: string;
  readonly verb?: string;
  readonly aadObjectId?: string;
  readonly activityId?: string;
  readonly serviceUrl: string;
  /** `msteams` unless a test sends the click from another Bot Framework channel. */
  readonly channelId?: string;
  /** The tenant Teams names in the activity; the bot's own by default. */
  readonly tenantId?: string;
}

/** The `adaptiveCard/action` invoke Teams sends when a reviewer clicks a card's button. */
export function cardAction(options: CardActionOptions): Record<string, unknown> {
  return {
    type: 'invoke',
    name: 'adaptiveCard/action',
    id: options.activityId ?? `f:invoke-${options.requestId}`,
    timestamp: '2026-11-24T10:01:00.000Z',
    serviceUrl: options.serviceUrl,
    channelId: options.channelId ?? 'msteams',
    channelData: { tenant: { id: options.tenantId ?? TEAMS_TENANT_ID } },
    from: {
      id: `29:teams-user-${options.aadObjectId ?? 'none'}`,
      name: 'Display names are never trusted',
      ...(options.aadObjectId ? { aadObjectId: options.aadObjectId } : {}),
    },
    conversation: {
      id: CONVERSATION_ID,
      conversationType: 'channel',
      tenantId: options.tenantId ?? TEAMS_TENANT_ID,
    },
    recipient: { id: `28:${BOT_APP_ID}`, name: 'action-approvals' },
    value: {
      action: {
        type: 'Action.Execute',
        id: '',
        verb: options.verb ?? 'approve',
        data: { requestId: options.requestId },
      },
      trigger: 'manual',
    },
  };
}

/** An HTTP API (payload 2.0) event carrying an activity to the messaging endpoint. */
export function activityEvent(activity: unknown, authorization?: string): APIGatewayProxyEventV2 {
  return {
    version: '2.0',
    routeKey: 'POST /api/messages',
    rawPath: '/api/messages',
    rawQueryString: '',
    headers: {
      'content-type': 'application/json',
      'user-agent': 'Microsoft-SkypeBotApi (Microsoft-BotFramework/3.0)',
      ...(authorization ? { authorization } : {}),
    },
    isBase64Encoded: false,
    body: typeof activity === 'string' ? activity : JSON.stringify(activity),
    requestContext: { http: { method: 'POST', path: '/api/messages', sourceIp: '52.112.0.1' } },
  } as unknown as APIGatewayProxyEventV2;
}
