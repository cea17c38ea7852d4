import { ActionApprovalsError, type SecretSource } from '../app/ports';
import * as z from 'zod';
import type { ApprovalNotifier } from '../app/ports';
import type { ApprovalCard, CardOutcome } from '../core/card';
import type { ChatMessageRefs } from '../core/lifecycle';
import {
  ADAPTIVE_CARD_CONTENT_TYPE,
  teamsApprovalCard,
  teamsNotificationSummary,
  type AdaptiveCard,
} from './teams-cards';

/** The token endpoint of multi-tenant bots; single-tenant bots use their own tenant's. */
export const BOT_FRAMEWORK_TOKEN_URL = 'https://login.microsoftonline.com/botframework.com/oauth2/v2.0/token';
export const BOT_CONNECTOR_SCOPE = 'https://api.botframework.com/.default';

// A token is renewed this long before it expires, so no call starts with one about to lapse.
const TOKEN_RENEWAL_MARGIN_MS = 5 * 60_000;
// Votes wait for the card update before Teams gets its answer: a hung connector must not hold them.
const TIMEOUT_MS = 5_000;

/** The Bot Connector or the token service said no. Messages hold status and error codes, never credentials. */
export class BotConnectorError extends ActionApprovalsError {
  constructor(
    message: string,
    readonly status: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'BotConnectorError';
  }
}

export interface BotCredentials {
  /** The bot's Microsoft App ID. */
  readonly appId: string;
  readonly appPassword: string;
  /** @default BOT_FRAMEWORK_TOKEN_URL */
  readonly tokenUrl?: string;
}

const tokenResponseSchema = z.object({
  access_token: z.string().min(1),
  expires_in: z.coerce.number().positive(),
});

/** Bot access tokens from the OAuth 2.0 client-credentials flow, kept until shortly before they expire. */
export class BotAccessTokens {
  private cached: { readonly token: string; readonly renewAt: number } | undefined;
  private pending: Promise<string> | undefined;

  constructor(
    private readonly credentials: BotCredentials,
    private readonly now: () => number = Date.now,
  ) {}

  async token(): Promise<string> {
    if (this.cached && this.cached.renewAt > this.now()) return this.cached.token;
    // Concurrent callers share one request for a new token.
    this.pending ??= this.request()
      .then((fresh) => {
        this.cached = fresh;
        return fresh.token;
      })
      .finally(() => {
        this.pending = undefined;
      });
    return this.pending;
  }

  /** Drops the cached token, e.g. after the connector refused it. */
  forget(): void {
    this.cached = undefined;
  }

  private async request(): Promise<{ readonly token: string; readonly renewAt: number }> {
    const requestedAt = this.now();
    const response = await fetch(this.credentials.tokenUrl ?? BOT_FRAMEWORK_TOKEN_URL, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: this.credentials.appId,
        client_secret: this.credentials.appPassword,
        scope: BOT_CONNECTOR_SCOPE,
      }).toString(),
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    const body: unknown = await response.json().catch(() => undefined);
    if (!response.ok) {
      // The token service's error code (invalid_client, …) says what is wrong without repeating the secret.
      const code = z.object({ error: z.string() }).safeParse(body);
      throw new BotConnectorError(
        `the bot token request answered ${response.status}${code.success ? ` (${code.data.error.slice(0, 80)})` : ''}`,
        response.status,
      );
    }
    const parsed = tokenResponseSchema.safeParse(body);
    if (!parsed.success) {
      throw new BotConnectorError('the bot token response holds no access token', response.status);
    }
    const lifetimeMs = parsed.data.expires_in * 1000;
    return {
      token: parsed.data.access_token,
      // A token living less than twice the margin is renewed halfway instead, so it is used at all.
      renewAt: requestedAt + Math.max(lifetimeMs - TOKEN_RENEWAL_MARGIN_MS, lifetimeMs / 2),
    };
  }
}

/** A message activity as the Bot Connector takes it: a card and the notification text shown for it. */
export interface CardActivity {
  readonly type: 'message';
  readonly id?: string;
  readonly summary: string;
  readonly attachments: readonly [
    { readonly contentType: typeof ADAPTIVE_CARD_CONTENT_TYPE; readonly content: AdaptiveCard },
  ];
}

const resourceResponseSchema = z.object({ id: z.string().min(1) });

/** The two Bot Connector REST calls a notifier needs, authenticated with the bot's access token. */
export class BotConnectorClient {
  constructor(private readonly tokens: BotAccessTokens) {}

  /** `POST /v3/conversations/{conversationId}/activities`; returns the new activity's id. */
  async sendToConversation(
    serviceUrl: string,
    conversationId: string,
    activity: CardActivity,
  ): Promise<string> {
    const { status, body } = await this.call('POST', activitiesUrl(serviceUrl, conversationId), activity);
    const posted = resourceResponseSchema.safeParse(body);
    if (!posted.success) {
      throw new BotConnectorError('the Bot Connector answered without an activity id', status);
    }
    return posted.data.id;
  }

  /** `PUT /v3/conversations/{conversationId}/activities/{activityId}`: replaces the message everyone sees. */
  async updateActivity(
    serviceUrl: string,
    conversationId: string,
    activityId: string,
    activity: CardActivity,
  ): Promise<void> {
    await this.call(
      'PUT',
      `${activitiesUrl(serviceUrl, conversationId)}/${encodeURIComponent(activityId)}`,
      activity,
    );
  }

  private async call(
    method: 'POST' | 'PUT',
    url: string,
    activity: CardActivity,
  ): Promise<{ readonly status: number; readonly body: unknown }> {
    const response = await fetch(url, {
      method,
      headers: { authorization: `Bearer ${await this.tokens.token()}`, 'content-type': 'application/json' },
      body: JSON.stringify(activity),
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    const body: unknown = await response.json().catch(() => undefined);
    if (!response.ok) {
      if (response.status === 401) this.tokens.forget();
      const detail = z.object({ error: z.object({ code: z.string() }) }).safeParse(body);
      throw new BotConnectorError(
        `the Bot Connector answered ${method} with ${response.status}${detail.success ? ` (${detail.data.error.code.slice(0, 80)})` : ''}`,
        response.status,
      );
    }
    return { status: response.status, body };
  }
}

function activitiesUrl(serviceUrl: string, conversationId: string): string {
  // Service URLs come with and without a trailing slash; Teams conversation ids hold ':' and ';'.
  return `${serviceUrl.replace(/\/+$/, '')}/v3/conversations/${encodeURIComponent(conversationId)}/activities`;
}

/** The card as the message activity that carries it. */
function teamsCardActivity(card: ApprovalCard, outcome?: CardOutcome, activityId?: string): CardActivity {
  return {
    type: 'message',
    ...(activityId ? { id: activityId } : {}),
    summary: teamsNotificationSummary(card, outcome),
    attachments: [
      {
        contentType: ADAPTIVE_CARD_CONTENT_TYPE,
        content: teamsApprovalCard(card, outcome ? { outcome } : {}),
      },
    ],
  };
}

export interface TeamsConversation {
  /** The Bot Connector endpoint of the conversation's region, as Teams reported it to the bot. */
  readonly serviceUrl: string;
  /** The channel or chat the cards are posted to. */
  readonly conversationId: string;
}

/** Shows approval cards in one Teams conversation and updates them as votes arrive. */
export class TeamsNotifier implements ApprovalNotifier {
  readonly channel = 'teams' as const;

  constructor(
    private readonly connector: BotConnectorClient,
    private readonly conversation: TeamsConversation,
  ) {}

  async post(card: ApprovalCard): Promise<ChatMessageRefs> {
    const { serviceUrl, conversationId } = this.conversation;
    const activityId = await this.connector.sendToConversation(
      serviceUrl,
      conversationId,
      teamsCardActivity(card),
    );
    return { teams: { serviceUrl, conversationId, activityId } };
  }

  async update(refs: ChatMessageRefs, card: ApprovalCard, outcome: CardOutcome): Promise<void> {
    if (!refs.teams) return;
    const { serviceUrl, conversationId, activityId } = refs.teams;
    await this.connector.updateActivity(
      serviceUrl,
      conversationId,
      activityId,
      teamsCardActivity(card, outcome, activityId),
    );
  }
}

/**
 * The Teams notifier as the environment configures it: TEAMS_APP_ID, TEAMS_APP_PASSWORD_SECRET_ID
 * (or TEAMS_APP_PASSWORD, local mode only), TEAMS_SERVICE_URL, TEAMS_CONVERSATION_ID and the
 * optional TEAMS_TOKEN_URL (a single-tenant bot's own token endpoint, or a local stand-in).
 * Undefined when Teams is not configured at all; half a configuration is an error.
 */
export async function teamsNotifierFromEnvironment(
  env: NodeJS.ProcessEnv,
  secrets: SecretSource,
): Promise<ApprovalNotifier | undefined> {
  const required = {
    TEAMS_APP_ID: env.TEAMS_APP_ID,
    TEAMS_APP_PASSWORD_SECRET_ID: env.TEAMS_APP_PASSWORD_SECRET_ID || env.TEAMS_APP_PASSWORD,
    TEAMS_SERVICE_URL: env.TEAMS_SERVICE_URL,
    TEAMS_CONVERSATION_ID: env.TEAMS_CONVERSATION_ID,
  };
  const missing = Object.entries(required)
    .filter(([, value]) => !value)
    .map(([name]) => name);
  if (missing.length === Object.keys(required).length) return undefined;
  // Half a configuration is a deployment mistake: say so instead of silently showing no cards.
  if (missing.length > 0) throw new Error(`Teams is half configured: ${missing.join(', ')} not set`);

  const appPassword = await teamsAppPassword(env, secrets);
  const tokens = new BotAccessTokens({
    appId: env.TEAMS_APP_ID as string,
    appPassword,
    ...(env.TEAMS_TOKEN_URL ? { tokenUrl: env.TEAMS_TOKEN_URL } : {}),
  });
  return new TeamsNotifier(new BotConnectorClient(tokens), {
    serviceUrl: env.TEAMS_SERVICE_URL as string,
    conversationId: env.TEAMS_CONVERSATION_ID as string,
  });
}

async function teamsAppPassword(env: NodeJS.ProcessEnv, secrets: SecretSource): Promise<string> {
  if (env.TEAMS_APP_PASSWORD_SECRET_ID) return (await secrets.get(env.TEAMS_APP_PASSWORD_SECRET_ID)).trim();
  // A plain secret in a Lambda's environment is readable by anyone who can read its configuration.
  if (env.AWS_LAMBDA_FUNCTION_NAME) {
    throw new Error(
      'TEAMS_APP_PASSWORD is for local mode only; in AWS Lambda set TEAMS_APP_PASSWORD_SECRET_ID',
    );
  }
  return env.TEAMS_APP_PASSWORD as string;
}
