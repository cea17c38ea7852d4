import { createHmac } from 'node:crypto';
import { slackSignature, verifySlackSignature } from '../../lambdas/inbound/slack-signature';

const SECRET = '8f742231b10e8888abcd99yyyzzz85a5';
const NOW = new Date('2026-11-24T10:00:00.000Z');
const NOW_SECONDS = String(NOW.getTime() / 1000);
const BODY = 'payload=%7B%22type%22%3A%22block_actions%22%7D';

describe('Function: slackSignature', () => {
  it('computes HMAC-SHA256 over v0:{timestamp}:{body} with the signing secret, hex, prefixed v0=', () => {
    // Prepare
    const expected = createHmac('sha256', SECRET).update(`v0:${NOW_SECONDS}:${BODY}`).digest('hex');

    // Act
    const signature = slackSignature(SECRET, NOW_SECONDS, BODY);

    // Assess
    expect(signature).toBe(`v0=${expected}`);
  });

  it('matches the worked example of Slack’s documentation', () => {
    // Act: the example of https://docs.slack.dev/authentication/verifying-requests-from-slack
    const signature = slackSignature(
      '8f742231b10e8888abcd99yyyzzz85a5',
      '1531420618',
      'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c',
    );

    // Assess
    expect(signature).toBe('v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503');
  });
});

describe('Function: verifySlackSignature', () => {
  const signed = (
    overrides: Partial<{
      signature: string | undefined;
      timestamp: string | undefined;
      rawBody: string;
    }> = {},
  ) => ({
    signature: slackSignature(SECRET, NOW_SECONDS, BODY),
    timestamp: NOW_SECONDS,
    rawBody: BODY,
    ...overrides,
  });

  it('accepts a request signed with the secret within the window', () => {
    // Act
    const check = verifySlackSignature(signed(), SECRET, NOW);

    // Assess
    expect(check).toEqual({ ok: true, signature: signed().signature, timestamp: signed().timestamp });
  });

  it('accepts a timestamp exactly five minutes old', () => {
    // Prepare
    const timestamp = String(NOW.getTime() / 1000 - 300);

    // Act
    const check = verifySlackSignature(
      signed({ timestamp, signature: slackSignature(SECRET, timestamp, BODY) }),
      SECRET,
      NOW,
    );

    // Assess
    expect(check.ok).toBe(true);
  });

  it.each([
    ['older', -301],
    ['ahead', 301],
  ])('refuses a timestamp more than five minutes %s, even when correctly signed', (_, offset) => {
    // Prepare
    const timestamp = String(NOW.getTime() / 1000 + offset);

    // Act
    const check = verifySlackSignature(
      signed({ timestamp, signature: slackSignature(SECRET, timestamp, BODY) }),
      SECRET,
      NOW,
    );

    // Assess
    expect(check).toEqual({
      ok: false,
      code: 'stale-timestamp',
      reason: 'the request was signed 301 s away from now; at most 300 s are accepted',
    });
  });

  it('refuses a request signed with another secret', () => {
    // Act
    const check = verifySlackSignature(
      signed({ signature: slackSignature('not-the-secret', NOW_SECONDS, BODY) }),
      SECRET,
      NOW,
    );

    // Assess
    expect(check).toEqual({
      ok: false,
      code: 'signature-mismatch',
      reason: 'the signature does not match the request',
    });
  });

  it('refuses a body changed after signing', () => {
    // Act
    const check = verifySlackSignature(signed({ rawBody: `${BODY}&extra=1` }), SECRET, NOW);

    // Assess
    expect(check).toMatchObject({ ok: false, code: 'signature-mismatch' });
  });

  it('refuses a signature moved to another timestamp', () => {
    // Prepare: a captured signature with a fresh timestamp header
    const timestamp = String(NOW.getTime() / 1000 - 10);

    // Act
    const check = verifySlackSignature(signed({ timestamp }), SECRET, NOW);

    // Assess
    expect(check).toMatchObject({ ok: false, code: 'signature-mismatch' });
  });

  it.each([
    [
      'missing-signature',
      'no signature header',
      { signature: undefined },
      'the X-Slack-Signature header is missing',
    ],
    [
      'missing-timestamp',
      'no timestamp header',
      { timestamp: undefined },
      'the X-Slack-Request-Timestamp header is missing',
    ],
    [
      'malformed-timestamp',
      'a timestamp that is not digits',
      { timestamp: '1e9' },
      'the X-Slack-Request-Timestamp header is not a Unix time in seconds',
    ],
    [
      'malformed-signature',
      'another scheme',
      { signature: 'v1=abc' },
      'the X-Slack-Signature header is not a v0 signature',
    ],
    [
      'malformed-signature',
      'a signature one digit short',
      { signature: `v0=${'a'.repeat(63)}` },
      'the X-Slack-Signature header is not a v0 signature',
    ],
    [
      'malformed-signature',
      'a signature one digit long',
      { signature: `v0=${'a'.repeat(65)}` },
      'the X-Slack-Signature header is not a v0 signature',
    ],
  ])('refuses with %s given %s', (code, _, overrides, reason) => {
    // Act
    const check = verifySlackSignature(signed(overrides), SECRET, NOW);

    // Assess
    expect(check).toEqual({ ok: false, code, reason });
  });
});
