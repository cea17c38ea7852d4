import { generateKeyPair, SignJWT } from 'jose';
import {
  BotFrameworkAuthenticator,
  remoteBotFrameworkKeys,
  TEAMS_AUTH_REFUSAL,
} from '../../lambdas/inbound/teams-auth';
import { ManualClock } from '../support/fixtures';
import {
  BOT_APP_ID,
  SIGNING_KID,
  startFakeBotFramework,
  type FakeBotFramework,
} from '../support/teams-fakes';

describe('Class: BotFrameworkAuthenticator', () => {
  let botFramework: FakeBotFramework;
  let clock: ManualClock;
  let authenticator: BotFrameworkAuthenticator;
  let origin: { serviceUrl: string; channelId: string };

  beforeAll(async () => {
    botFramework = await startFakeBotFramework();
  });
  afterAll(() => botFramework.close());
  beforeEach(() => {
    clock = new ManualClock();
    authenticator = new BotFrameworkAuthenticator({
      appId: BOT_APP_ID,
      keys: remoteBotFrameworkKeys(botFramework.metadataUrl),
      clock,
    });
    origin = { serviceUrl: botFramework.serviceUrl, channelId: 'msteams' };
  });

  describe('Method: authenticate', () => {
    it('accepts a token the Bot Framework signed for this bot and this service URL', async () => {
      // Prepare
      const authorization = await botFramework.sign(clock.now());

      // Act
      const result = await authenticator.authenticate(authorization, origin);

      // Assess
      expect(result).toEqual({ ok: true });
    });

    it('accepts a token that expired within the five minutes of clock skew', async () => {
      const authorization = await botFramework.sign(clock.now(), { expiresIn: -240 });

      expect(await authenticator.authenticate(authorization, origin)).toEqual({ ok: true });
    });

    it('fetches the metadata once and keeps the keys across calls', async () => {
      botFramework.server.clear();

      for (let i = 0; i < 3; i += 1) {
        await authenticator.authenticate(await botFramework.sign(clock.now()), origin);
      }

      expect(botFramework.server.requestsTo('/v1/.well-known/openidconfiguration')).toHaveLength(1);
      expect(botFramework.server.requestsTo('/v1/.well-known/keys')).toHaveLength(1);
    });

    it.each([
      ['no header', undefined, TEAMS_AUTH_REFUSAL.missingToken, 'the Authorization header is missing'],
      [
        'another scheme',
        'Basic Ym90OnBhc3N3b3Jk',
        TEAMS_AUTH_REFUSAL.missingToken,
        'the Authorization header does not carry a Bearer token',
      ],
      [
        'a token that is no JWT',
        'Bearer not.a-jwt',
        TEAMS_AUTH_REFUSAL.malformedToken,
        'the token is not a well-formed JWT',
      ],
    ])('refuses %s', async (_case, authorization, code, reason) => {
      const result = await authenticator.authenticate(authorization, origin);

      expect(result).toEqual({ ok: false, code, reason });
    });

    it('refuses a token from another issuer', async () => {
      const authorization = await botFramework.sign(clock.now(), {
        issuer: 'https://sts.windows.net/attacker/',
      });

      const result = await authenticator.authenticate(authorization, origin);

      expect(result).toEqual({
        ok: false,
        code: TEAMS_AUTH_REFUSAL.wrongIssuer,
        reason:
          'the token was issued by "https://sts.windows.net/attacker/", not https://api.botframework.com',
      });
    });

    it('refuses a token issued for another bot', async () => {
      const authorization = await botFramework.sign(clock.now(), { audience: 'another-bot' });

      const result = await authenticator.authenticate(authorization, origin);

      expect(result).toEqual({
        ok: false,
        code: TEAMS_AUTH_REFUSAL.wrongAudience,
        reason: 'the token is for "another-bot", not this bot',
      });
    });

    it('refuses a token that expired more than five minutes ago', async () => {
      const authorization = await botFramework.sign(clock.now(), { expiresIn: -301 });

      const result = await authenticator.authenticate(authorization, origin);

      expect(result).toEqual({
        ok: false,
        code: TEAMS_AUTH_REFUSAL.expired,
        reason: 'the token has expired',
      });
    });

    it('refuses a token that is not valid yet', async () => {
      const authorization = await botFramework.sign(clock.now(), { notBefore: 600 });

      const result = await authenticator.authenticate(authorization, origin);

      expect(result).toMatchObject({ ok: false, code: TEAMS_AUTH_REFUSAL.notYetValid });
    });

    it('refuses a token without an expiry, which would otherwise never expire', async () => {
      const authorization = await botFramework.sign(clock.now(), { expiresIn: null });

      const result = await authenticator.authenticate(authorization, origin);

      expect(result).toMatchObject({
        ok: false,
        code: TEAMS_AUTH_REFUSAL.malformedToken,
        reason: expect.stringContaining('exp'),
      });
    });

    it('refuses a token signed with a key the Bot Framework does not publish', async () => {
      const { privateKey } = await generateKeyPair('RS256');
      const authorization = await botFramework.sign(clock.now(), { key: privateKey, kid: 'attacker-key' });

      const result = await authenticator.authenticate(authorization, origin);

      expect(result).toEqual({
        ok: false,
        code: TEAMS_AUTH_REFUSAL.unknownKey,
        reason: 'the token names no key the Bot Framework publishes',
      });
    });

    it('refuses a token whose signature does not match the key it names', async () => {
      const { privateKey } = await generateKeyPair('RS256');
      const authorization = await botFramework.sign(clock.now(), { key: privateKey });

      const result = await authenticator.authenticate(authorization, origin);

      expect(result).toEqual({
        ok: false,
        code: TEAMS_AUTH_REFUSAL.badSignature,
        reason: 'the token signature does not verify',
      });
    });

    it('refuses a token signed with a shared secret instead of RS256', async () => {
      const token = await new SignJWT({ serviceurl: origin.serviceUrl })
        .setProtectedHeader({ alg: 'HS256', kid: SIGNING_KID })
        .setIssuer('https://api.botframework.com')
        .setAudience(BOT_APP_ID)
        .setExpirationTime('1h')
        .sign(new TextEncoder().encode('a-secret-anyone-could-have-guessed-0123'));

      const result = await authenticator.authenticate(`Bearer ${token}`, origin);

      expect(result).toMatchObject({ ok: false, code: TEAMS_AUTH_REFUSAL.disallowedAlgorithm });
    });

    it('refuses a token issued for another service URL than the activity names', async () => {
      const authorization = await botFramework.sign(clock.now(), {
        serviceUrl: 'https://smba.trafficmanager.net/emea/',
      });

      const result = await authenticator.authenticate(authorization, origin);

      expect(result).toEqual({
        ok: false,
        code: TEAMS_AUTH_REFUSAL.serviceUrlMismatch,
        reason: `the token is for service URL "https://smba.trafficmanager.net/emea/", the activity says "${origin.serviceUrl}"`,
      });
    });

    it('refuses a token without a service URL claim', async () => {
      const authorization = await botFramework.sign(clock.now(), { serviceUrl: null });

      const result = await authenticator.authenticate(authorization, origin);

      expect(result).toMatchObject({ ok: false, code: TEAMS_AUTH_REFUSAL.serviceUrlMismatch });
    });

    it('refuses an activity from a channel the signing key is not endorsed for', async () => {
      const authorization = await botFramework.sign(clock.now());

      const result = await authenticator.authenticate(authorization, { ...origin, channelId: 'webchat' });

      expect(result).toEqual({
        ok: false,
        code: TEAMS_AUTH_REFUSAL.channelNotEndorsed,
        reason: 'the signing key is not endorsed for channel "webchat"',
      });
    });

    it('throws, rather than refusing the caller, when the key endpoint cannot be reached', async () => {
      const offline = new BotFrameworkAuthenticator({
        appId: BOT_APP_ID,
        keys: remoteBotFrameworkKeys(`${botFramework.server.url}/no-such-metadata`),
        clock,
      });

      await expect(offline.authenticate(await botFramework.sign(clock.now()), origin)).rejects.toThrow(
        /answered 404/,
      );
    });
  });
});
