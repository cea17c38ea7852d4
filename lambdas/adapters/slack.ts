import type { SecretSource } from '../app/ports';
import { LogLevel, WebClient, type Logger as SlackLogger } from '@slack/web-api';
import type { ApprovalNotifier } from '../app/ports';
import type { SlackWorkspace } from '../app/ports';
import type { ApprovalCard, CardOutcome } from '../core/card';
import type { ChatMessageRefs } from '../core/lifecycle';
import { logger } from './logger';
import { escapeSlackText, slackApprovalMessage, slackParameterPages } from './slack-blocks';
import { slackSecretFromEnvironment, SLACK_SECRET_SETTINGS } from './slack-secrets';

export interface SlackClientOptions {
  readonly botToken: string;
  /**
   * The Web API's base URL, ending in `/`; tests and the local runtime point it at a local server.
   * @default 'https://slack.com/api/'
   */
  readonly apiUrl?: string;
}

// Slack answers an interaction only if the whole handler answers within 3 s, so a slow or
// rate-limited Slack fails fast instead of waiting out Retry-After.
const TIMEOUT_MS = 2_000;
const RETRY = { retries: 1, minTimeout: 100, maxTimeout: 300 };

/** Routes the Web API client's own messages into the runtime's structured logger. */
const slackLogger: SlackLogger = {
  debug: () => undefined,
  info: (...messages) => logger.info('slack web api', { messages: messages.map(String) }),
  warn: (...messages) => logger.warn('slack web api', { messages: messages.map(String) }),
  error: (...messages) => logger.error('slack web api', { messages: messages.map(String) }),
  setLevel: () => undefined,
  getLevel: () => LogLevel.INFO,
  setName: () => undefined,
};

export function slackWebClient(options: SlackClientOptions): WebClient {
  return new WebClient(options.botToken, {
    ...(options.apiUrl ? { slackApiUrl: options.apiUrl } : {}),
    timeout: TIMEOUT_MS,
    retryConfig: RETRY,
    rejectRateLimitedCalls: true,
    logger: slackLogger,
    // The original HTTP error holds the request's headers, bot token included: never keep it
    // where an error logger could print it.
    attachOriginalToWebAPIRequestError: false,
  });
}

/** Shows approval cards in one Slack channel and updates them as votes arrive. */
export class SlackNotifier implements ApprovalNotifier {
  readonly channel = 'slack' as const;

  constructor(
    private readonly client: WebClient,
    private readonly channelId: string,
  ) {}

  async post(card: ApprovalCard): Promise<ChatMessageRefs> {
    const message = slackApprovalMessage(card);
    const posted = await this.client.chat.postMessage({
      channel: this.channelId,
      ...message,
      // Unfurling would fetch URLs an agent wrote: nothing the agent supplied is followed.
      unfurl_links: false,
      unfurl_media: false,
    });
    if (!posted.ts) throw new Error('chat.postMessage answered without a message timestamp');
    return { slack: { channel: posted.channel ?? this.channelId, ts: posted.ts } };
  }

  async update(refs: ChatMessageRefs, card: ApprovalCard, outcome: CardOutcome): Promise<void> {
    if (!refs.slack) return;
    await this.client.chat.update({
      channel: refs.slack.channel,
      ts: refs.slack.ts,
      ...slackApprovalMessage(card, outcome),
    });
  }
}

/** Slack's lookups and replies that the interaction handler needs. */
export class SlackWebWorkspace implements SlackWorkspace {
  constructor(private readonly client: WebClient) {}

  async verifiedEmailOf(userId: string): Promise<string | undefined> {
    try {
      const { user } = await this.client.users.info({ user: userId });
      // Only a confirmed address of a full member speaks for a person: guests, bots and
      // deactivated accounts never map to a reviewer by e-mail.
      if (!user || user.deleted || user.is_bot || user.is_restricted || user.is_ultra_restricted)
        return undefined;
      if (user.is_email_confirmed === false) return undefined;
      return user.profile?.email || undefined;
    } catch (error) {
      if (isPlatformError(error, ['user_not_found', 'user_not_visible'])) return undefined;
      throw error;
    }
  }

  async tellUser(channelId: string, userId: string, text: string): Promise<void> {
    await this.client.chat.postEphemeral({ channel: channelId, user: userId, text: escapeSlackText(text) });
  }

  async showParameters(triggerId: string, card: ApprovalCard): Promise<void> {
    const [first] = slackParameterPages(card);
    await this.client.views.open({ trigger_id: triggerId, view: first });
  }

  async turnParametersPage(viewId: string, card: ApprovalCard, page: number): Promise<void> {
    const pages = slackParameterPages(card);
    const view = pages[Math.min(Math.max(page, 0), pages.length - 1)];
    await this.client.views.update({ view_id: viewId, view });
  }
}

function isPlatformError(error: unknown, codes: readonly string[]): boolean {
  const data = (error as { data?: { error?: unknown } } | undefined)?.data;
  return typeof data?.error === 'string' && codes.includes(data.error);
}

export interface SlackConnection {
  readonly notifier: SlackNotifier;
  readonly workspace: SlackWebWorkspace;
}

/**
 * Slack as the environment configures it (SLACK_CHANNEL_ID, SLACK_BOT_TOKEN_SECRET_ID or
 * SLACK_BOT_TOKEN, optional SLACK_API_URL); undefined when Slack is not configured at all.
 */
export async function slackFromEnvironment(
  env: NodeJS.ProcessEnv,
  secrets: SecretSource,
): Promise<SlackConnection | undefined> {
  const channelId = env.SLACK_CHANNEL_ID;
  const tokenConfigured = Boolean(env[SLACK_SECRET_SETTINGS.SLACK_BOT_TOKEN] || env.SLACK_BOT_TOKEN);
  if (!channelId && !tokenConfigured) return undefined;
  // Half a configuration is a deployment mistake: say so instead of silently showing no cards.
  if (!channelId) throw new Error('Slack is half configured: a bot token is set but SLACK_CHANNEL_ID is not');
  const botToken = await slackSecretFromEnvironment(env, secrets, 'SLACK_BOT_TOKEN');
  if (!botToken)
    throw new Error(
      'Slack is half configured: SLACK_CHANNEL_ID is set but neither SLACK_BOT_TOKEN_SECRET_ID nor SLACK_BOT_TOKEN',
    );
  const client = slackWebClient({ botToken, ...(env.SLACK_API_URL ? { apiUrl: env.SLACK_API_URL } : {}) });
  return { notifier: new SlackNotifier(client, channelId), workspace: new SlackWebWorkspace(client) };
}

export async function slackNotifierFromEnvironment(
  env: NodeJS.ProcessEnv,
  secrets: SecretSource,
): Promise<ApprovalNotifier | undefined> {
  return (await slackFromEnvironment(env, secrets))?.notifier;
}
