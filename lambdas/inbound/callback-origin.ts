import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import type { UnauthenticatedCallback } from '../app/ports';

// Attacker-chosen values are reported, but only this much of them.
const MAX_REPORTED = 256;

/** Where an unauthenticated callback came from, clipped: enough to look into a spike. */
export function callbackOrigin(
  event: APIGatewayProxyEventV2,
  rawBody: string,
): Pick<UnauthenticatedCallback, 'sourceIp' | 'userAgent' | 'bodyBytes'> {
  const clip = (value: string | undefined): string | null =>
    value === undefined ? null : value.slice(0, MAX_REPORTED);
  // API Gateway lower-cases header names; other front doors (the local runtime) may not.
  const userAgent = Object.entries(event.headers ?? {}).find(([key]) => key.toLowerCase() === 'user-agent');
  return {
    sourceIp: clip(event.requestContext?.http?.sourceIp),
    userAgent: clip(userAgent?.[1]),
    bodyBytes: Buffer.byteLength(rawBody, 'utf8'),
  };
}
