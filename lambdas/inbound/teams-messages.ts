import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { createHash, randomUUID } from 'node:crypto';
import * as z from 'zod';
import { logger } from '../adapters/logger';
import type { ActivityOrigin, BotFrameworkAuthResult } from './teams-auth';
import {
  ADAPTIVE_CARD_CONTENT_TYPE,
  INVOKE_ERROR_TYPE,
  TEAMS_VERBS,
  teamsApprovalCard,
  type AdaptiveCardInvokeResponse,
  type TeamsCardNotice,
} from '../adapters/teams-cards';
import { REFUSAL, type VoteDecision } from '../core/approval';
import type { JsonValue } from '../core/audit';
import { castBallot, type BallotResult, type DecideDeps } from '../app/decide';
import { callbackOrigin } from './callback-origin';
import type { HttpResponse, UnauthenticatedCallbacks } from '../app/ports';

/** Checks the Bot Framework's bearer token against the activity it came with. */
export interface BotAuthenticator {
  authenticate(authorization: string | undefined, activity: ActivityOrigin): Promise<BotFrameworkAuthResult>;
}

export interface TeamsMessagesDeps extends DecideDeps {
  readonly authenticator: BotAuthenticator;
  readonly unauthenticated: UnauthenticatedCallbacks;
  /**
   * The Microsoft Entra tenant whose users may vote. A click counts only from channel `msteams`
   * of this tenant; when unset (a multi-tenant bot), only the channel is checked.
   */
  readonly tenantId?: string;
}

export type TeamsHttpResponse = HttpResponse;

const SYSTEM_ACTOR = { kind: 'system', id: 'teams-messages' } as const;
// Attacker-chosen values are recorded, but only this much of them.
const MAX_RECORDED = 256;
// Refusals after which the request is closed, so the reviewer's card offers no buttons any more.
const CLOSED_REFUSALS: ReadonlySet<string> = new Set([
  'not-awaiting-approval',
  REFUSAL.alreadyDecided,
  REFUSAL.expired,
]);

/** The `adaptiveCard/action` invoke of an Approve or Deny click, as far as it is read. */
const cardActionSchema = z.object({
  id: z.string().max(MAX_RECORDED).optional(),
  from: z.object({
    id: z.string().min(1).max(MAX_RECORDED),
    aadObjectId: z.string().min(1).max(64).optional(),
  }),
  value: z.object({
    action: z.object({
      type: z.literal('Action.Execute'),
      verb: z.enum([TEAMS_VERBS.approve, TEAMS_VERBS.deny]),
      data: z.object({ requestId: z.string().min(1).max(128) }),
    }),
  }),
});

/** The only channel whose `from.aadObjectId` Microsoft vouches for. */
const TEAMS_CHANNEL_ID = 'msteams';

const tenantSchema = z.object({
  channelData: z.object({ tenant: z.object({ id: z.string() }).optional() }).optional(),
  conversation: z.object({ tenantId: z.string().optional() }).optional(),
});

const ACKNOWLEDGED: TeamsHttpResponse = { statusCode: 200, body: '' };

const json = (statusCode: number, body: object): TeamsHttpResponse => ({
  statusCode,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

// The HTTP status of a processed invoke is always 200; what became of it is in the body's statusCode.
const invokeReply = (response: AdaptiveCardInvokeResponse): TeamsHttpResponse => json(200, response);

const invokeError = (code: string, message: string): TeamsHttpResponse =>
  invokeReply({ statusCode: 400, type: INVOKE_ERROR_TYPE, value: { code, message } });

/**
 * The bot's messaging endpoint. Authenticates every activity (the Bot Framework's signed bearer
 * token), turns an Approve / Deny click (`adaptiveCard/action` invoke) into a vote by the reviewer
 * the clicking AAD user is registered as, and answers with the refreshed card. Refused callbacks
 * are recorded and change nothing; other activities are acknowledged and ignored.
 */
export async function handleTeamsActivity(
  event: APIGatewayProxyEventV2,
  deps: TeamsMessagesDeps,
): Promise<TeamsHttpResponse> {
  const at = deps.clock.now().toISOString();
  const rawBody = event.isBase64Encoded
    ? Buffer.from(event.body ?? '', 'base64').toString('utf8')
    : (event.body ?? '');
  const activity = parseObject(rawBody);

  const auth = await deps.authenticator.authenticate(header(event, 'authorization'), {
    serviceUrl: activity?.serviceUrl,
    channelId: activity?.channelId,
  });
  if (!auth.ok) {
    // Not from the Bot Framework: anyone can send this, so it is counted, never recorded.
    deps.unauthenticated.refused({
      channel: 'teams',
      refusal: auth.code,
      reason: auth.reason,
      ...callbackOrigin(event, rawBody),
    });
    return json(401, { error: auth.code, reason: auth.reason });
  }

  if (activity?.type !== 'invoke' || activity.name !== 'adaptiveCard/action') return ACKNOWLEDGED;

  const parsed = cardActionSchema.safeParse(activity);
  if (!parsed.success) {
    const reason = `the invoke is not an Approve or Deny click: ${parsed.error.issues
      .map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`)
      .join('; ')}`;
    logger.warn('teams invoke refused', { refusal: 'malformed-action', reason });
    await deps.audit.start({
      requestId: `refused-callback-${randomUUID()}`,
      at,
      type: 'rejected',
      actor: SYSTEM_ACTOR,
      details: { kind: 'teams-callback', refusal: 'malformed-action', reason, ...forensics(event, rawBody) },
    });
    return invokeError('malformed-action', reason);
  }

  const { from, value } = parsed.data;
  const requestId = value.action.data.requestId;
  const decision: VoteDecision = value.action.verb === TEAMS_VERBS.approve ? 'approve' : 'deny';
  logger.setCorrelationId(requestId);

  // Web Chat, Direct Line or the Emulator let the sender write `from.aadObjectId` themselves; only
  // Teams vouches for it, and only for users of the tenant the bot serves.
  const untrusted = untrustedOrigin(activity, deps.tenantId);
  if (untrusted) {
    logger.warn('teams vote refused', { requestId, refusal: untrusted.code, reason: untrusted.reason });
    await deps.audit.start({
      requestId: `refused-vote-${randomUUID()}`,
      at,
      type: 'rejected',
      actor: SYSTEM_ACTOR,
      details: {
        kind: 'vote',
        refusal: untrusted.code,
        reason: untrusted.reason,
        claimedRequestId: requestId,
        decision,
        channel: 'teams',
        caller: from.aadObjectId ?? from.id,
      },
    });
    return invokeError(
      untrusted.code,
      `Your ${decision === 'approve' ? 'approval' : 'denial'} was not counted: ${untrusted.reason}.`,
    );
  }
  const result = await castBallot(
    {
      requestId,
      channel: 'teams',
      // Without an AAD object id the Teams user id is recorded: such a caller maps to no reviewer.
      caller: from.aadObjectId ?? from.id,
      reviewer: from.aadObjectId ? deps.directory.reviewerByTeamsUser(from.aadObjectId) : undefined,
      decision,
    },
    deps,
  );
  logger.info('teams vote answered', {
    requestId,
    decision,
    activityId: parsed.data.id ?? null,
    ...(result.kind === 'counted'
      ? { counted: true, status: result.outcome.status }
      : { counted: false, refusal: result.code }),
  });
  return answer(result, decision);
}

/** Why a click's identity cannot be trusted, or undefined when Teams vouches for it in our tenant. */
function untrustedOrigin(
  activity: Readonly<Record<string, unknown>> | undefined,
  tenantId: string | undefined,
): { code: string; reason: string } | undefined {
  const channelId = activity?.channelId;
  if (channelId !== TEAMS_CHANNEL_ID) {
    return {
      code: 'untrusted-channel',
      reason: `votes count only from Microsoft Teams, not from channel ${JSON.stringify(channelId ?? null).slice(0, MAX_RECORDED)}`,
    };
  }
  if (tenantId === undefined) return undefined;
  const tenants = tenantsOf(activity);
  if (tenants.length === 0 || tenants.some((tenant) => tenant.toLowerCase() !== tenantId.toLowerCase())) {
    return {
      code: 'wrong-tenant',
      reason: `votes count only from tenant ${tenantId}, not ${JSON.stringify(tenants).slice(0, MAX_RECORDED)}`,
    };
  }
  return undefined;
}

/**
 * Every tenant the activity names: Teams sends it in `channelData.tenant.id` and
 * `conversation.tenantId`. Unreadable fields name none, so the click is refused.
 */
function tenantsOf(activity: Readonly<Record<string, unknown>> | undefined): string[] {
  const read = tenantSchema.safeParse(activity);
  if (!read.success) return [];
  const { channelData, conversation } = read.data;
  return [channelData?.tenant?.id, conversation?.tenantId].filter(
    (tenant): tenant is string => tenant !== undefined,
  );
}

/** The card the clicking reviewer sees in reply, saying what became of their vote. */
function answer(result: BallotResult, decision: VoteDecision): TeamsHttpResponse {
  const vote = decision === 'approve' ? 'approval' : 'denial';
  if (result.kind === 'counted') {
    const notice: TeamsCardNotice = { tone: 'good', text: `Your ${vote} is counted.` };
    return invokeReply({
      statusCode: 200,
      type: ADAPTIVE_CARD_CONTENT_TYPE,
      value: teamsApprovalCard(result.card, { outcome: result.outcome, notice }),
    });
  }
  // Unknown request or reviewer: there is no card of theirs to show, only the reason.
  if (!result.card) return invokeError(result.code, `Your ${vote} was not counted: ${result.reason}.`);
  // A second delivery of a counted click lands here too: the reviewer is told their vote stands.
  const notice: TeamsCardNotice =
    result.code === REFUSAL.duplicateVote
      ? { tone: 'good', text: 'Your vote on this request is already counted; each reviewer votes once.' }
      : { tone: 'attention', text: `Your ${vote} was not counted: ${result.reason}.` };
  return invokeReply({
    statusCode: 200,
    type: ADAPTIVE_CARD_CONTENT_TYPE,
    value: teamsApprovalCard(result.card, { notice, buttons: !CLOSED_REFUSALS.has(result.code) }),
  });
}

function parseObject(rawBody: string): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(rawBody);
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

function header(event: APIGatewayProxyEventV2, name: string): string | undefined {
  // API Gateway lower-cases header names; other front doors (the local runtime) may not.
  const entry = Object.entries(event.headers ?? {}).find(([key]) => key.toLowerCase() === name);
  return entry?.[1] || undefined;
}

/** Enough to investigate a refused callback without storing what was sent in full, or any token. */
function forensics(event: APIGatewayProxyEventV2, rawBody: string): Record<string, JsonValue> {
  const clip = (value: string | undefined): string | null =>
    value === undefined ? null : value.slice(0, MAX_RECORDED);
  return {
    sourceIp: clip(event.requestContext?.http?.sourceIp),
    userAgent: clip(header(event, 'user-agent')),
    bodySha256: createHash('sha256').update(rawBody, 'utf8').digest('hex'),
    bodyBytes: Buffer.byteLength(rawBody, 'utf8'),
  };
}
