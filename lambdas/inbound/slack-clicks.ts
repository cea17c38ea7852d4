import * as z from 'zod';
import { SLACK_ACTIONS } from '../adapters/slack-blocks';
import type { VoteDecision } from '../core/approval';

/** One button press, as identified by Slack: the same click always yields the same value. */
export interface SlackClick {
  readonly requestId: string;
  readonly decision: VoteDecision;
  readonly userId: string;
  readonly channelId: string;
  readonly messageTs: string;
  readonly actionTs: string;
}

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

export type ParsedClick =
  { readonly ok: true; readonly value: SlackClick } | { readonly ok: false; readonly reason: string };

/** The Approve or Deny click in a form-encoded `block_actions` body, or why it is not one. */
export function parseClick(rawBody: string): ParsedClick {
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

/**
 * What the acknowledging function hands the vote worker: Slack's request exactly as signed, never
 * a decision of its own. The worker verifies the signature again, so a job that did not come
 * through the signed endpoint (put on the queue by anyone else) cannot cast a vote.
 */
export interface SlackVoteJob {
  readonly kind: 'slack-click';
  readonly version: 1;
  /** The raw body Slack signed. */
  readonly body: string;
  /** X-Slack-Request-Timestamp. */
  readonly timestamp: string;
  /** X-Slack-Signature. */
  readonly signature: string;
}

/** Where the acknowledging function leaves clicks for the vote worker (an SQS queue in AWS). */
export interface SlackVoteQueue {
  send(body: string): Promise<void>;
}

// A Slack interaction payload is at most a few kilobytes; the API routes accept 256 KiB.
const MAX_JOB_BODY = 256 * 1024;

export const slackVoteJobSchema = z
  .object({
    kind: z.literal('slack-click'),
    version: z.literal(1),
    body: z.string().max(MAX_JOB_BODY),
    timestamp: z.string().max(16),
    signature: z.string().max(80),
  })
  .strict();

/**
 * How long after Slack signed a click the worker still casts it: longer than every retry the
 * queue makes before it dead-letters a job (5 receives, 3 minutes apart), short enough that a
 * captured job is useless to replay later. Clicks are remembered for as long.
 */
export const SLACK_VOTE_MAX_AGE_SECONDS = 60 * 60;
