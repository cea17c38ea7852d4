import { makeIdempotent } from '@aws-lambda-powertools/idempotency';
import { logger } from '../adapters/logger';
import { castBallot, type DecideDeps } from '../app/decide';
import type { SlackWorkspace, UnauthenticatedCallbacks } from '../app/ports';
import type { Reviewer } from '../core/directory';
import { parseClick, SLACK_VOTE_MAX_AGE_SECONDS, slackVoteJobSchema, type SlackClick } from './slack-clicks';
import type { SlackClickIdempotency } from './slack-interactions';
import { verifySlackSignature } from './slack-signature';

export interface SlackVoteDeps extends DecideDeps {
  readonly signingSecret: string;
  readonly workspace: SlackWorkspace;
  /** Votes remembered by click, so a job delivered twice by the queue is cast once. */
  readonly idempotency: SlackClickIdempotency;
  readonly unauthenticated: UnauthenticatedCallbacks;
}

/** What became of one job: cast (counted or refused and told), or dropped as not Slack's. */
export type SlackVoteOutcome =
  | { readonly kind: 'counted' }
  | { readonly kind: 'refused'; readonly code: string }
  | { readonly kind: 'dropped'; readonly refusal: string; readonly reason: string };

const KEY_PREFIX = 'slack-vote';

/**
 * The vote worker behind Slack's endpoint: checks that the job is a click Slack signed (the same
 * v0 signature, over the same bytes, within `SLACK_VOTE_MAX_AGE_SECONDS`), resolves the clicker
 * to a reviewer and casts the vote on the one decision path, which resumes the workflow and
 * updates the cards (`chat.update`). A refused vote is told to the clicker alone
 * (`chat.postEphemeral`). A job that is not a signed click is dropped and counted as
 * unauthenticated: retrying cannot make it valid. Any other failure is thrown, so the queue
 * retries the job and, in the end, dead-letters it.
 */
export async function castSlackVote(jobBody: string, deps: SlackVoteDeps): Promise<SlackVoteOutcome> {
  const drop = (refusal: string, reason: string, bodyBytes: number): SlackVoteOutcome => {
    deps.unauthenticated.refused({
      channel: 'slack',
      refusal,
      reason: `vote job: ${reason}`,
      sourceIp: null,
      userAgent: null,
      bodyBytes,
    });
    return { kind: 'dropped', refusal, reason };
  };
  let json: unknown;
  try {
    json = JSON.parse(jobBody);
  } catch {
    return drop('malformed-job', 'the job is not JSON', Buffer.byteLength(jobBody));
  }
  const job = slackVoteJobSchema.safeParse(json);
  if (!job.success) return drop('malformed-job', 'the job is not a Slack click', Buffer.byteLength(jobBody));
  const { body, timestamp, signature } = job.data;
  const signed = verifySlackSignature(
    { signature, timestamp, rawBody: body },
    deps.signingSecret,
    deps.clock.now(),
    SLACK_VOTE_MAX_AGE_SECONDS,
  );
  if (!signed.ok) return drop(signed.code, signed.reason, Buffer.byteLength(body));
  const click = parseClick(body);
  // The endpoint queues only clicks it parsed; a signed body that is not one was not queued by it.
  if (!click.ok) return drop('malformed-job', click.reason, Buffer.byteLength(body));
  logger.setCorrelationId(click.value.requestId);

  const castOnce = makeIdempotent((pressed: SlackClick) => countClick(pressed, deps), {
    persistenceStore: deps.idempotency.store,
    config: deps.idempotency.config,
    keyPrefix: KEY_PREFIX,
  });
  const outcome = await castOnce(click.value);
  logger.info('slack vote cast', {
    requestId: click.value.requestId,
    decision: click.value.decision,
    ...outcome,
  });
  return outcome;
}

async function countClick(click: SlackClick, deps: SlackVoteDeps): Promise<SlackVoteOutcome> {
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
  if (result.kind === 'counted') return { kind: 'counted' };

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
  return { kind: 'refused', code: result.code };
}

/**
 * The reviewer behind a Slack user. A user id on file settles it without asking Slack; otherwise
 * the e-mail address Slack confirms for the user is looked up (display names are never used).
 */
async function reviewerFor(userId: string, deps: SlackVoteDeps): Promise<Reviewer | undefined> {
  return (
    deps.directory.reviewerBySlackUser(userId, undefined) ??
    deps.directory.reviewerBySlackUser(userId, await deps.workspace.verifiedEmailOf(userId))
  );
}
