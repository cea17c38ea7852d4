import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { UnauthenticatedCallbackMeter } from '../adapters/callback-metrics';
import type { UnauthenticatedCallbacks } from '../app/ports';
import { BotFrameworkAuthenticator, remoteBotFrameworkKeys } from '../inbound/teams-auth';
import { handleTeamsActivity, type TeamsMessagesDeps } from '../inbound/teams-messages';
import { decisionPath } from './decision-wiring';
import { awsRuntime, builtOnFirstUse, instrumented, type Runtime } from './runtime';

/** The bot's messaging endpoint (API Gateway HTTP API, payload format 2.0). */
export function createHandler(deps: TeamsMessagesDeps) {
  return instrumented(async (event: APIGatewayProxyEventV2) => handleTeamsActivity(event, deps));
}

/** Built once per instance, so the Bot Framework's keys and the bot's access token are fetched once. */
export async function teamsMessagesDeps(
  rt: Runtime,
  unauthenticated: UnauthenticatedCallbacks = new UnauthenticatedCallbackMeter(),
): Promise<TeamsMessagesDeps> {
  const { TEAMS_APP_ID: appId, TEAMS_OPENID_METADATA_URL, TEAMS_TENANT_ID } = rt.environment;
  if (!appId)
    throw new Error(
      'teams-messages needs TEAMS_APP_ID, the bot’s Microsoft App ID that tokens must be issued for',
    );
  return {
    ...decisionPath(rt, await rt.notifiers()),
    authenticator: new BotFrameworkAuthenticator({
      appId,
      keys: remoteBotFrameworkKeys(TEAMS_OPENID_METADATA_URL || undefined),
      clock: rt.clock,
    }),
    unauthenticated,
    // The bot's own tenant: votes from any other tenant never count.
    ...(TEAMS_TENANT_ID ? { tenantId: TEAMS_TENANT_ID } : {}),
  };
}

// One meter per instance, outside the build, so its log sampling counts across invocations.
const meter = new UnauthenticatedCallbackMeter();

export const handler = builtOnFirstUse(async () =>
  createHandler(await teamsMessagesDeps(awsRuntime(), meter)),
);
