import {
  IdempotencyAlreadyInProgressError,
  type IdempotencyConfig,
  makeIdempotent,
} from '@aws-lambda-powertools/idempotency';
import type { BasePersistenceLayer } from '@aws-lambda-powertools/idempotency/persistence';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { createHash, randomUUID } from 'node:crypto';
import * as z from 'zod';
import { logger } from '../adapters/logger';
import { SLACK_ACTIONS, SLACK_PARAMETER_ACTIONS } from '../adapters/slack-blocks';
import { verifySlackSignature } from './slack-signature';
import type { VoteDecision } from '../core/approval';
import type { JsonValue } from '../core/audit';
import { approvalCard } from '../core/card';
import type { Reviewer } from '../core/directory';
import { callbackOrigin } from './callback-origin';
import { castBallot, type DecideDeps } from '../app/decide';
import type { HttpResponse, SlackWorkspace, UnauthenticatedCallbacks } from '../app/ports';

/** Where clicks are remembered, so a retried or replayed click is counted once. */
export interface SlackClickIdempotency {
  readonly store: BasePersistenceLayer;
  /** The handler registers each invocation's Lambda context here, so a crashed vote can be retried. */
  readonly config: IdempotencyConfig;
}

export interface SlackInteractionDeps extends DecideDeps {
  readonly signingSecret: string;
  readonly workspace: SlackWorkspace;
  readonly idempotency: SlackClickIdempotency;
  readonly unauthenticated: UnauthenticatedCallbacks;
}

export type { HttpResponse };

/** One button press, as identified by Slack: the same click always yields the same value. */
interface SlackClick {
  readonly requestId: string;
  readonly decision: VoteDecision;
  readonly userId: string;
  readonly channelId: string;
  readonly messageTs: string;
  readonly actionTs: string;
}

/** What the vote came to; stored with the click, so a retry answers the same without voting again. */
type ClickResult = { readonly counted: true } | { readonly counted: false; readonly refusal: string };

const SYSTEM_ACTOR = { kind: 'system', id: 'slack-interactions' } as const;
const KEY_PREFIX = 'slack-click';
// Attacker-chosen header values are recorded, but only this much of them.
const MAX_RECORDED_HEADER = 256;

const blockActionsSchema = z.object({
  type: z.literal('block_actions'),
  user: z.object({ id: z.string().min(1).max(64) }),
  container: z.object({
    type: z.literal('message'),
    message_ts: z.string().min(1),
    channel_id: z.string().min(1),
  }),
  actions: z
    .array(
      z.object({
        action_id: z.enum([SLACK_ACTIONS.approve, SLACK_ACTIONS.deny]),
        value: z.string().min(1).max(128),
        action_ts: z.string().min(1),
      }),
    )
    .length(1),
});

const ACKNOWLEDGED: HttpResponse = { statusCode: 200, body: '' };

const reply = (statusCode: number, body: Readonly<Record<string, string>>): HttpResponse => ({
  statusCode,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

/**
 * Slack's interactivity endpoint: authenticates the callback (v0 signature, 5-minute window),
 * resolves the clicking user to a reviewer through the directory, and casts the vote on the one
 * decision path. Forged and stale callbacks are counted, not recorded; malformed ones from Slack
 * are recorded; none changes anything. A click
 * delivered twice is counted once. Everything happens before the answer, well inside Slack's 3 s.
 */
export async function handleSlackInteraction(
  event: APIGatewayProxyEventV2,
  deps: SlackInteractionDeps,
): Promise<HttpResponse> {
  const now = deps.clock.now();
  const rawBody = event.isBase64Encoded
    ? Buffer.from(event.body ?? '', 'base64').toString('utf8')
    : (event.body ?? '');
  const signatureHeader = header(event, 'x-slack-signature');
  const timestampHeader = header(event, 'x-slack-request-timestamp');
  const refuse = async (statusCode: number, code: string, reason: string): Promise<HttpResponse> => {
    logger.warn('slack callback refused', { refusal: code, reason });
    await deps.audit.start({
      requestId: `refused-callback-${randomUUID()}`,
      at: now.toISOString(),
      type: 'rejected',
      actor: SYSTEM_ACTOR,
      details: {
        kind: 'slack-callback',
        refusal: code,
        reason,
        ...forensics(event, rawBody, timestampHeader),
      },
    });
    return reply(statusCode, { error: code, reason });
  };

  const signature = verifySlackSignature(
    { signature: signatureHeader, timestamp: timestampHeader, rawBody },
    deps.signingSecret,
    now,
  );
  if (!signature.ok) {
    // Not from Slack: anyone can send this, so it is counted, never recorded.
    deps.unauthenticated.refused({
      channel: 'slack',
      refusal: signature.code,
      reason: signature.reason,
      ...callbackOrigin(event, rawBody),
    });
    return reply(401, { error: signature.code, reason: signature.reason });
  }

  const viewing = parseParametersClick(rawBody);
  if (viewing) return showParameters(viewing, deps);

  const click = parseClick(rawBody);
  if (!click.ok) return refuse(400, 'malformed-payload', click.reason);
  logger.setCorrelationId(click.value.requestId);

  const vote = makeIdempotent((pressed: SlackClick) => countClick(pressed, deps), {
    persistenceStore: deps.idempotency.store,
    config: deps.idempotency.config,
    keyPrefix: KEY_PREFIX,
  });
  try {
    const result = await vote(click.value);
    logger.info('slack click answered', {
      requestId: click.value.requestId,
      decision: click.value.decision,
      ...result,
    });
  } catch (error) {
    // The same click is being counted by a concurrent delivery, which answers for both.
    if (error instanceof IdempotencyAlreadyInProgressError) return ACKNOWLEDGED;
    throw error;
  }
  return ACKNOWLEDGED;
}

async function countClick(click: SlackClick, deps: SlackInteractionDeps): Promise<ClickResult> {
  const result = await castBallot(
    {
      requestId: click.requestId,
      channel: 'slack',
      caller: click.userId,
      reviewer: await reviewerFor(click.userId, deps),
      decision: click.decision,
    },
    deps,
  );
  if (result.kind === 'counted') return { counted: true };

  try {
    await deps.workspace.tellUser(
      click.channelId,
      click.userId,
      `Your ${click.decision} was not counted: ${result.reason}.`,
    );
  } catch (error) {
    // The refusal is already recorded; a reviewer who misses the explanation can click again.
    logger.warn('could not tell the slack user why the vote was refused', {
      error: error instanceof Error ? error.message : String(error),
    });
  }
  return { counted: false, refusal: result.code };
}

/**
 * The reviewer behind a Slack user. A user id on file settles it without asking Slack; otherwise
 * the e-mail address Slack confirms for the user is looked up (display names are never used).
 */
async function reviewerFor(userId: string, deps: SlackInteractionDeps): Promise<Reviewer | undefined> {
  return (
    deps.directory.reviewerBySlackUser(userId, undefined) ??
    deps.directory.reviewerBySlackUser(userId, await deps.workspace.verifiedEmailOf(userId))
  );
}

/** A click on "Show all parameters" (from the card) or on a page button (inside the modal). */
type ParametersClick =
  | { readonly kind: 'open'; readonly requestId: string; readonly triggerId: string }
  | { readonly kind: 'page'; readonly requestId: string; readonly viewId: string; readonly page: number };

const parametersClickSchema = z.object({
  type: z.literal('block_actions'),
  trigger_id: z.string().min(1).max(256),
  view: z.object({ id: z.string().min(1).max(64) }).optional(),
  actions: z
    .array(
      z.object({
        action_id: z.enum([SLACK_PARAMETER_ACTIONS.show, SLACK_PARAMETER_ACTIONS.page]),
        value: z.string().min(1).max(160),
      }),
    )
    .length(1),
});

function parseParametersClick(rawBody: string): ParametersClick | undefined {
  let json: unknown;
  try {
    json = JSON.parse(new URLSearchParams(rawBody).get('payload') ?? '');
  } catch {
    return undefined;
  }
  const parsed = parametersClickSchema.safeParse(json);
  if (!parsed.success) return undefined;
  const [action] = parsed.data.actions;
  if (action.action_id === SLACK_PARAMETER_ACTIONS.show) {
    return { kind: 'open', requestId: action.value, triggerId: parsed.data.trigger_id };
  }
  const page = /^(\S+) (\d{1,6})$/.exec(action.value);
  if (!page || !parsed.data.view) return undefined;
  return { kind: 'page', requestId: page[1], viewId: parsed.data.view.id, page: Number(page[2]) };
}

/**
 * Shows the full parameters to whoever asked: it changes nothing, so it needs no reviewer, and
 * the card they clicked already shows the request to the whole channel.
 */
async function showParameters(click: ParametersClick, deps: SlackInteractionDeps): Promise<HttpResponse> {
  const record = await deps.requests.get(click.requestId);
  if (!record) {
    logger.warn('parameters asked for an unknown request', { requestId: click.requestId });
    return ACKNOWLEDGED;
  }
  const card = approvalCard(record);
  if (click.kind === 'open') await deps.workspace.showParameters(click.triggerId, card);
  else await deps.workspace.turnParametersPage(click.viewId, card, click.page);
  return ACKNOWLEDGED;
}

type Parsed =
  { readonly ok: true; readonly value: SlackClick } | { readonly ok: false; readonly reason: string };

function parseClick(rawBody: string): Parsed {
  const payload = new URLSearchParams(rawBody).get('payload');
  if (payload === null) return { ok: false, reason: 'the body has no payload field' };
  let json: unknown;
  try {
    json = JSON.parse(payload);
  } catch {
    return { ok: false, reason: 'the payload is not JSON' };
  }
  const parsed = blockActionsSchema.safeParse(json);
  if (!parsed.success) {
    return {
      ok: false,
      reason: `the payload is not an Approve or Deny click: ${parsed.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`).join('; ')}`,
    };
  }
  const { user, container, actions } = parsed.data;
  const [action] = actions;
  return {
    ok: true,
    value: {
      requestId: action.value,
      decision: action.action_id === SLACK_ACTIONS.approve ? 'approve' : 'deny',
      userId: user.id,
      channelId: container.channel_id,
      messageTs: container.message_ts,
      actionTs: action.action_ts,
    },
  };
}

function header(event: APIGatewayProxyEventV2, name: string): string | undefined {
  // API Gateway lower-cases header names; other front doors (the local runtime) may not.
  const entry = Object.entries(event.headers ?? {}).find(([key]) => key.toLowerCase() === name);
  return entry?.[1] || undefined;
}

/** Enough to investigate a refused callback without storing what an attacker sent in full. */
function forensics(
  event: APIGatewayProxyEventV2,
  rawBody: string,
  timestamp: string | undefined,
): Record<string, JsonValue> {
  const clip = (value: string | undefined): string | null =>
    value === undefined ? null : value.slice(0, MAX_RECORDED_HEADER);
  return {
    sourceIp: clip(event.requestContext?.http?.sourceIp),
    userAgent: clip(header(event, 'user-agent')),
    slackRequestTimestamp: clip(timestamp),
    bodySha256: createHash('sha256').update(rawBody, 'utf8').digest('hex'),
    bodyBytes: Buffer.byteLength(rawBody, 'utf8'),
  };
}
