import {
  createRemoteJWKSet,
  errors,
  jwtVerify,
  type JWTVerifyGetKey,
  type JWTVerifyResult,
  type RemoteJWKSet,
} from 'jose';
import * as z from 'zod';
import type { Clock } from '../app/ports';

/** Where the Bot Framework publishes the keys it signs its calls to bots with. */
export const BOT_FRAMEWORK_OPENID_METADATA_URL =
  'https://login.botframework.com/v1/.well-known/openidconfiguration';
/** The `iss` of every token the Bot Framework sends to a bot. */
export const BOT_FRAMEWORK_ISSUER = 'https://api.botframework.com';
/** The industry-standard skew the Bot Framework documents for its tokens' `exp` and `nbf`. */
export const BOT_TOKEN_CLOCK_TOLERANCE_SECONDS = 5 * 60;
const ALGORITHMS = ['RS256'];

export const TEAMS_AUTH_REFUSAL = {
  missingToken: 'missing-token',
  malformedToken: 'malformed-token',
  disallowedAlgorithm: 'disallowed-algorithm',
  unknownKey: 'unknown-signing-key',
  badSignature: 'bad-signature',
  wrongIssuer: 'wrong-issuer',
  wrongAudience: 'wrong-audience',
  expired: 'expired-token',
  notYetValid: 'token-not-yet-valid',
  serviceUrlMismatch: 'service-url-mismatch',
  channelNotEndorsed: 'channel-not-endorsed',
} as const;
export type TeamsAuthRefusal = (typeof TEAMS_AUTH_REFUSAL)[keyof typeof TEAMS_AUTH_REFUSAL];

export type BotFrameworkAuthResult =
  { readonly ok: true } | { readonly ok: false; readonly code: TeamsAuthRefusal; readonly reason: string };

/** The two fields of the incoming activity its token must vouch for. Unparsed: the body is untrusted. */
export interface ActivityOrigin {
  readonly serviceUrl: unknown;
  readonly channelId: unknown;
}

/** The Bot Framework's signing keys. Injected, so tests serve their own from a local endpoint. */
export interface BotFrameworkKeySource {
  /** Resolves the key a token's header names; throws jose's JWKSNoMatchingKey for an unknown one. */
  readonly getKey: JWTVerifyGetKey;
  /** The channel ids a key is endorsed for; empty when the key is unknown or endorses none. */
  endorsementsOf(kid: string): Promise<readonly string[]>;
}

const metadataSchema = z.object({ jwks_uri: z.url() });

/**
 * The keys named by an OpenID metadata document, fetched on first use. jose caches the key set
 * and refetches it when a token names a key it has not seen, so rotated keys are picked up.
 */
export function remoteBotFrameworkKeys(
  metadataUrl: string = BOT_FRAMEWORK_OPENID_METADATA_URL,
): BotFrameworkKeySource {
  let keySet: Promise<RemoteJWKSet> | undefined;
  const load = (): Promise<RemoteJWKSet> => {
    if (!keySet) {
      keySet = fetchKeySet(metadataUrl);
      // A metadata endpoint that failed once is asked again by the next call, not remembered as down.
      keySet.catch(() => {
        keySet = undefined;
      });
    }
    return keySet;
  };
  return {
    getKey: async (header, token) => (await load())(header, token),
    async endorsementsOf(kid) {
      const key = (await load()).jwks()?.keys.find((candidate) => candidate.kid === kid);
      // `endorsements` is the Bot Framework's addition to the JWK format.
      const endorsements = z
        .array(z.string())
        .safeParse(key && 'endorsements' in key ? key.endorsements : undefined);
      return endorsements.success ? endorsements.data : [];
    },
  };
}

async function fetchKeySet(metadataUrl: string): Promise<RemoteJWKSet> {
  const response = await fetch(metadataUrl, { signal: AbortSignal.timeout(5_000) });
  if (!response.ok) throw new Error(`the OpenID metadata at ${metadataUrl} answered ${response.status}`);
  const metadata = metadataSchema.safeParse(await response.json());
  if (!metadata.success) throw new Error(`the OpenID metadata at ${metadataUrl} names no valid jwks_uri`);
  return createRemoteJWKSet(new URL(metadata.data.jwks_uri));
}

export interface BotFrameworkAuthenticatorOptions {
  /** The bot's Microsoft App ID: the audience every token must be issued for. */
  readonly appId: string;
  readonly keys: BotFrameworkKeySource;
  readonly clock: Clock;
}

// Claimed values are quoted in reasons for investigation, but never more than this much of them.
const MAX_QUOTED = 120;
const quote = (value: unknown): string =>
  value === undefined ? 'nothing' : JSON.stringify(value).slice(0, MAX_QUOTED);

/**
 * Checks the bearer token the Bot Framework sends with every activity: an RS256 JWT signed by one
 * of its published keys, issued by it for this bot, current within five minutes of skew, for the
 * service URL the activity says it came from, and signed by a key endorsed for the activity's
 * channel. A token is a credential: it appears in no result, reason or error.
 */
export class BotFrameworkAuthenticator {
  constructor(private readonly options: BotFrameworkAuthenticatorOptions) {}

  async authenticate(
    authorization: string | undefined,
    activity: ActivityOrigin,
  ): Promise<BotFrameworkAuthResult> {
    const refuse = (code: TeamsAuthRefusal, reason: string): BotFrameworkAuthResult => ({
      ok: false,
      code,
      reason,
    });
    if (!authorization) return refuse(TEAMS_AUTH_REFUSAL.missingToken, 'the Authorization header is missing');
    const bearer = /^Bearer +(\S+)$/i.exec(authorization.trim());
    if (!bearer) {
      return refuse(
        TEAMS_AUTH_REFUSAL.missingToken,
        'the Authorization header does not carry a Bearer token',
      );
    }

    let verified: JWTVerifyResult;
    try {
      verified = await jwtVerify(bearer[1], this.options.keys.getKey, {
        issuer: BOT_FRAMEWORK_ISSUER,
        audience: this.options.appId,
        algorithms: ALGORITHMS,
        clockTolerance: BOT_TOKEN_CLOCK_TOLERANCE_SECONDS,
        currentDate: this.options.clock.now(),
        // Without `exp` a token would never expire: such a token is refused, not waved through.
        requiredClaims: ['exp'],
      });
    } catch (error) {
      const refusal = describeRejection(error);
      if (!refusal) throw error;
      return refuse(refusal.code, refusal.reason);
    }

    const claimed = verified.payload.serviceurl;
    if (typeof claimed !== 'string' || claimed !== activity.serviceUrl) {
      return refuse(
        TEAMS_AUTH_REFUSAL.serviceUrlMismatch,
        `the token is for service URL ${quote(claimed)}, the activity says ${quote(activity.serviceUrl)}`,
      );
    }
    // The endorsement is what proves the key may speak for the channel the activity names.
    const kid = verified.protectedHeader.kid;
    const endorsements = kid === undefined ? [] : await this.options.keys.endorsementsOf(kid);
    if (typeof activity.channelId !== 'string' || !endorsements.includes(activity.channelId)) {
      return refuse(
        TEAMS_AUTH_REFUSAL.channelNotEndorsed,
        `the signing key is not endorsed for channel ${quote(activity.channelId)}`,
      );
    }
    return { ok: true };
  }
}

/** jose's verdict as a refusal; undefined for failures that are ours (key endpoint down), not the caller's. */
function describeRejection(error: unknown): { code: TeamsAuthRefusal; reason: string } | undefined {
  const because = (code: TeamsAuthRefusal, reason: string) => ({ code, reason });
  if (error instanceof errors.JWTExpired) return because(TEAMS_AUTH_REFUSAL.expired, 'the token has expired');
  if (error instanceof errors.JWTClaimValidationFailed) {
    switch (error.claim) {
      case 'iss':
        return because(
          TEAMS_AUTH_REFUSAL.wrongIssuer,
          `the token was issued by ${quote(error.payload.iss)}, not ${BOT_FRAMEWORK_ISSUER}`,
        );
      case 'aud':
        return because(
          TEAMS_AUTH_REFUSAL.wrongAudience,
          `the token is for ${quote(error.payload.aud)}, not this bot`,
        );
      case 'nbf':
        return because(TEAMS_AUTH_REFUSAL.notYetValid, 'the token is not valid yet');
      default:
        return because(
          TEAMS_AUTH_REFUSAL.malformedToken,
          `the token's ${error.claim} claim is invalid: ${error.message}`,
        );
    }
  }
  if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys) {
    return because(TEAMS_AUTH_REFUSAL.unknownKey, 'the token names no key the Bot Framework publishes');
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) {
    return because(TEAMS_AUTH_REFUSAL.badSignature, 'the token signature does not verify');
  }
  if (error instanceof errors.JOSEAlgNotAllowed) {
    return because(
      TEAMS_AUTH_REFUSAL.disallowedAlgorithm,
      `the token is not signed with ${ALGORITHMS.join(' or ')}`,
    );
  }
  if (
    error instanceof errors.JWSInvalid ||
    error instanceof errors.JWTInvalid ||
    error instanceof errors.JOSENotSupported
  ) {
    return because(TEAMS_AUTH_REFUSAL.malformedToken, 'the token is not a well-formed JWT');
  }
  return undefined;
}
