import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { UnauthenticatedCallbackMeter } from '../adapters/callback-metrics';
import { logger } from '../adapters/logger';
import { BotFrameworkAuthenticator, remoteBotFrameworkKeys } from '../adapters/teams-auth';
import { handleTeamsActivity, type TeamsMessagesDeps } from '../app/teams-messages';
import { runtime } from './runtime';

let shared: Promise<TeamsMessagesDeps> | undefined;
// Per instance, so its log sampling counts across invocations.
const unauthenticated = new UnauthenticatedCallbackMeter();

/** Built once per instance, so the Bot Framework's keys and the bot's access token are fetched once. */
async function dependencies(): Promise<TeamsMessagesDeps> {
  const rt = runtime();
  const appId = process.env.TEAMS_APP_ID;
  if (!appId)
    throw new Error(
      'teams-messages needs TEAMS_APP_ID, the bot’s Microsoft App ID that tokens must be issued for',
    );
  return {
    ...rt.decisionPath(await rt.notifiers()),
    authenticator: new BotFrameworkAuthenticator({
      appId,
      keys: remoteBotFrameworkKeys(process.env.TEAMS_OPENID_METADATA_URL || undefined),
      clock: rt.clock,
    }),
    unauthenticated,
    // The bot's own tenant (TEAMS_TENANT_ID): votes from any other tenant never count.
    ...(process.env.TEAMS_TENANT_ID ? { tenantId: process.env.TEAMS_TENANT_ID } : {}),
  };
}

/** The bot's messaging endpoint (API Gateway HTTP API, payload format 2.0). */
export const handler = async (event: APIGatewayProxyEventV2, context: Context) => {
  logger.addContext(context);
  try {
    if (!shared) {
      // A failed start (a secret not readable yet) is retried by the next activity, not cached.
      shared = dependencies();
      shared.catch(() => {
        shared = undefined;
      });
    }
    return await handleTeamsActivity(event, await shared);
  } finally {
    logger.resetKeys();
  }
};
