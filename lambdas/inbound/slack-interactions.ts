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
import { SLACK_PARAMETER_ACTIONS } from '../adapters/slack-blocks';
import { verifySlackSignature } from './slack-signature';
import type { JsonValue } from '../core/audit';
import { approvalCard } from '../core/card';
import { callbackOrigin } from './callback-origin';
import { parseClick, type SlackClick, type SlackVoteJob, type SlackVoteQueue } from './slack-clicks';
import type {
  AuditLog,
  Clock,
  HttpResponse,
  RequestsStore,
  SlackWorkspace,
  UnauthenticatedCallbacks,
} from '../app/ports';

/** Where clicks are remembered, so a retried or replayed click is counted once. */
export interface SlackClickIdempotency {
  readonly store: BasePersistenceLayer;
  /** The handler registers each invocation's Lambda context here, so a crashed vote can be retried. */
  readonly config: IdempotencyConfig;
}

/** What showing a request's parameters needs: the request, and Slack's modal API (the bot token). */
export interface SlackParametersDeps {
  readonly requests: Pick<RequestsStore, 'get'>;
  readonly workspace: SlackWorkspace;
}

/**
 * What answering Slack needs: the signing secret, the click log, and the queue to the vote
 * worker. Nothing that votes (no workflow, no bus, no bot token) is on this path.
 */
export interface SlackAcknowledgementDeps {
  readonly signingSecret: string;
  readonly clock: Clock;
  /** Records malformed callbacks from Slack. */
  readonly audit: AuditLog;
  readonly idempotency: SlackClickIdempotency;
  readonly votes: SlackVoteQueue;
  readonly unauthenticated: UnauthenticatedCallbacks;
  /**
   * Built on the first "Show all parameters" click: Slack's trigger_id lasts 3 s, so the modal
   * must open before the answer, and only that click reads the bot token.
   */
  readonly parameters: () => Promise<SlackParametersDeps>;
}

export type { HttpResponse };

const SYSTEM_ACTOR = { kind: 'system', id: 'slack-interactions' } as const;
const KEY_PREFIX = 'slack-click';
// Attacker-chosen header values are recorded, but only this much of them.
const MAX_RECORDED_HEADER = 256;

const ACKNOWLEDGED: HttpResponse = { statusCode: 200, body: '' };

const reply = (statusCode: number, body: Readonly<Record<string, string>>): HttpResponse => ({
  statusCode,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

/**
 * Slack's interactivity endpoint: authenticates the callback (v0 signature, 5-minute window),
 * remembers the click and leaves it, exactly as Slack signed it, for the vote worker
 * (`slack-votes.ts`), then answers 200. Slack waits at most 3 s and retries what it did not get an
 * answer to; the vote, the workflow and the cards are the worker's, after the answer. Forged and
 * stale callbacks are counted, not recorded; malformed ones from Slack are recorded; none changes
 * anything. A click delivered twice (a retry with `x-slack-retry-num`, a replay) is queued once.
 */
export async function handleSlackInteraction(
  event: APIGatewayProxyEventV2,
  deps: SlackAcknowledgementDeps,
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
  if (viewing) return showParameters(viewing, await deps.parameters());

  const click = parseClick(rawBody);
  if (!click.ok) return refuse(400, 'malformed-payload', click.reason);
  logger.setCorrelationId(click.value.requestId);

  const job: SlackVoteJob = {
    kind: 'slack-click',
    version: 1,
    body: rawBody,
    timestamp: signature.timestamp,
    signature: signature.signature,
  };
  // Keyed on the click alone: Slack's retry is signed anew (another timestamp), the click is the same.
  const queueOnce = makeIdempotent(
    async (_pressed: SlackClick) => {
      await deps.votes.send(JSON.stringify(job));
      return { queued: true };
    },
    { persistenceStore: deps.idempotency.store, config: deps.idempotency.config, keyPrefix: KEY_PREFIX },
  );
  try {
    await queueOnce(click.value);
    logger.info('slack click queued', {
      requestId: click.value.requestId,
      decision: click.value.decision,
      retry: header(event, 'x-slack-retry-num') ?? null,
    });
  } catch (error) {
    // The same click is being queued by a concurrent delivery, which answers for both.
    if (error instanceof IdempotencyAlreadyInProgressError) return ACKNOWLEDGED;
    throw error;
  }
  return ACKNOWLEDGED;
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
async function showParameters(click: ParametersClick, deps: SlackParametersDeps): Promise<HttpResponse> {
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
