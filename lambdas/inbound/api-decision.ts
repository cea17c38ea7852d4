import type { APIGatewayProxyEventV2WithIAMAuthorizer, APIGatewayProxyResultV2 } from 'aws-lambda';
import { randomUUID } from 'node:crypto';
import * as z from 'zod';
import { castBallot, type DecideDeps } from '../app/decide';

const bodySchema = z.strictObject({
  decision: z.enum(['approve', 'deny'], { error: 'decision must be "approve" or "deny"' }),
});

const reply = (statusCode: number, body: object): APIGatewayProxyResultV2 => ({
  statusCode,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

/**
 * `POST /v1/requests/{id}/decision` for programmatic reviewers. API Gateway has already checked
 * the SigV4 signature (IAM authorization); the caller's IAM principal is the reviewer identity,
 * looked up in the directory, never taken from the body.
 */
export async function handleApiDecision(
  event: APIGatewayProxyEventV2WithIAMAuthorizer,
  deps: DecideDeps,
): Promise<APIGatewayProxyResultV2> {
  const caller = event.requestContext.authorizer?.iam?.userArn;
  const requestId = event.pathParameters?.id ?? '';
  const at = deps.clock.now().toISOString();
  if (!caller) return reply(403, { error: 'the caller has no IAM identity' });

  let body: unknown;
  try {
    const raw = event.isBase64Encoded
      ? Buffer.from(event.body ?? '', 'base64').toString('utf8')
      : (event.body ?? '');
    body = JSON.parse(raw);
  } catch {
    body = undefined;
  }
  const parsed = bodySchema.safeParse(body);
  if (!parsed.success) {
    const reasons = parsed.error.issues.map((issue) => issue.message);
    await deps.audit.start({
      requestId: `refused-vote-${randomUUID()}`,
      at,
      type: 'rejected',
      actor: { kind: 'system', id: `api:${caller}` },
      details: {
        kind: 'vote',
        refusal: 'malformed-decision',
        reasons,
        claimedRequestId: requestId,
        channel: 'api',
      },
    });
    return reply(400, { error: 'malformed decision', reasons });
  }

  const result = await castBallot(
    {
      requestId,
      channel: 'api',
      caller,
      reviewer: deps.directory.reviewerByIamPrincipal(caller),
      decision: parsed.data.decision,
    },
    deps,
  );
  if (result.kind === 'refused') {
    const status = result.code === 'unknown-request' ? 404 : result.code === 'unknown-reviewer' ? 403 : 409;
    return reply(status, { error: result.code, reason: result.reason });
  }
  return reply(200, { requestId, status: result.outcome.status, reviewers: result.outcome.reviewers });
}
