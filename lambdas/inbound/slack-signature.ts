import { createHmac, timingSafeEqual } from 'node:crypto';

/** Slack refuses, and so do we, requests signed more than this long ago or ahead. */
export const SLACK_SIGNATURE_MAX_AGE_SECONDS = 5 * 60;

export const SLACK_SIGNATURE_REFUSAL = {
  missingSignature: 'missing-signature',
  missingTimestamp: 'missing-timestamp',
  malformedTimestamp: 'malformed-timestamp',
  staleTimestamp: 'stale-timestamp',
  malformedSignature: 'malformed-signature',
  signatureMismatch: 'signature-mismatch',
} as const;
export type SlackSignatureRefusal = (typeof SLACK_SIGNATURE_REFUSAL)[keyof typeof SLACK_SIGNATURE_REFUSAL];

export type SlackSignatureCheck =
  /** The headers that were verified, so what is passed on is exactly what was checked. */
  | { readonly ok: true; readonly signature: string; readonly timestamp: string }
  | { readonly ok: false; readonly code: SlackSignatureRefusal; readonly reason: string };

export interface SignedSlackRequest {
  /** The `X-Slack-Signature` header (`v0=<hex>`). */
  readonly signature: string | undefined;
  /** The `X-Slack-Request-Timestamp` header (Unix seconds). */
  readonly timestamp: string | undefined;
  /** The body exactly as received: re-encoding a parsed form would change the bytes signed. */
  readonly rawBody: string;
}

const SIGNATURE_PATTERN = /^v0=[0-9a-f]{64}$/;

/**
 * Verifies Slack's v0 request signature: HMAC-SHA256 over `v0:{timestamp}:{raw body}` keyed with
 * the app's signing secret. The timestamp window is what makes a captured request useless to
 * replay later; within the window, duplicates are the idempotency layer's job.
 */
export function verifySlackSignature(
  request: SignedSlackRequest,
  signingSecret: string,
  now: Date,
  maxAgeSeconds: number = SLACK_SIGNATURE_MAX_AGE_SECONDS,
): SlackSignatureCheck {
  const refuse = (code: SlackSignatureRefusal, reason: string): SlackSignatureCheck => ({
    ok: false,
    code,
    reason,
  });
  if (!request.signature)
    return refuse(SLACK_SIGNATURE_REFUSAL.missingSignature, 'the X-Slack-Signature header is missing');
  if (!request.timestamp) {
    return refuse(
      SLACK_SIGNATURE_REFUSAL.missingTimestamp,
      'the X-Slack-Request-Timestamp header is missing',
    );
  }
  if (!/^\d{1,12}$/.test(request.timestamp)) {
    return refuse(
      SLACK_SIGNATURE_REFUSAL.malformedTimestamp,
      'the X-Slack-Request-Timestamp header is not a Unix time in seconds',
    );
  }
  const skewSeconds = Math.abs(now.getTime() / 1000 - Number(request.timestamp));
  if (skewSeconds > maxAgeSeconds) {
    return refuse(
      SLACK_SIGNATURE_REFUSAL.staleTimestamp,
      `the request was signed ${Math.round(skewSeconds)} s away from now; at most ${maxAgeSeconds} s are accepted`,
    );
  }
  if (!SIGNATURE_PATTERN.test(request.signature)) {
    return refuse(
      SLACK_SIGNATURE_REFUSAL.malformedSignature,
      'the X-Slack-Signature header is not a v0 signature',
    );
  }
  const expected = Buffer.from(slackSignature(signingSecret, request.timestamp, request.rawBody), 'utf8');
  const received = Buffer.from(request.signature, 'utf8');
  // The pattern above fixes the length, but timingSafeEqual throws on unequal lengths: keep the
  // check next to the call so a looser pattern can never turn a forgery into a crash.
  if (expected.length !== received.length || !timingSafeEqual(expected, received)) {
    return refuse(SLACK_SIGNATURE_REFUSAL.signatureMismatch, 'the signature does not match the request');
  }
  return { ok: true, signature: request.signature, timestamp: request.timestamp };
}

/** The `X-Slack-Signature` value Slack sends for this body and timestamp. */
export function slackSignature(signingSecret: string, timestamp: string, rawBody: string): string {
  return `v0=${createHmac('sha256', signingSecret).update(`v0:${timestamp}:${rawBody}`, 'utf8').digest('hex')}`;
}
