import type { Context } from 'aws-lambda';
import { logger } from '../adapters/logger';

// What every handler module shares, kept apart from the Runtime so that a function needing none of
// the request path's clients (the archive) does not load them.

/** What a function is configured with: `process.env` in Lambda, an object of its own in local mode. */
export type Environment = Readonly<Record<string, string | undefined>>;

/**
 * The SDK settings of one service's client, read from `environment` the way the SDK reads
 * `process.env` (region, the standard `AWS_ENDPOINT_URL[_<SERVICE>]` overrides, static keys), so
 * a runtime built from an environment object reaches the same endpoints without writing it anywhere.
 */
export function clientConfig(environment: Environment, service: string) {
  const endpoint = environment[`AWS_ENDPOINT_URL_${service}`] ?? environment.AWS_ENDPOINT_URL;
  const { AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey } = environment;
  return {
    ...(environment.AWS_REGION ? { region: environment.AWS_REGION } : {}),
    ...(endpoint ? { endpoint } : {}),
    ...(accessKeyId && secretAccessKey
      ? {
          credentials: {
            accessKeyId,
            secretAccessKey,
            ...(environment.AWS_SESSION_TOKEN ? { sessionToken: environment.AWS_SESSION_TOKEN } : {}),
          },
        }
      : {}),
  };
}

/**
 * Wraps a use case as a Lambda handler the Powertools way: the invocation's context is added to
 * every log line and reset afterwards, and a failure is logged as an Error (its stack kept)
 * before Lambda sees it. Local mode calls handlers without a context.
 */
export function instrumented<Event, Answer>(
  handle: (event: Event, context?: Context) => Promise<Answer>,
): (event: Event, context?: Context) => Promise<Answer> {
  return async (event, context) => {
    if (context) logger.addContext(context);
    try {
      return await handle(event, context);
    } catch (error) {
      logger.error('invocation failed', error instanceof Error ? error : new Error(String(error)));
      throw error;
    } finally {
      logger.resetKeys();
    }
  };
}

/**
 * A Lambda handler built on first use, so a module can be imported (by a bundle, a test or the
 * local runtime) without reading any setting. A failed build (a secret not readable yet) is
 * retried by the next invocation, not cached.
 */
export function builtOnFirstUse<Event, Answer>(
  build: () => Promise<(event: Event, context?: Context) => Promise<Answer>>,
): (event: Event, context?: Context) => Promise<Answer> {
  let built: Promise<(event: Event, context?: Context) => Promise<Answer>> | undefined;
  return async (event, context) => {
    if (!built) {
      built = build();
      built.catch(() => {
        built = undefined;
      });
    }
    return (await built)(event, context);
  };
}
