import type { APIGatewayProxyEventV2WithIAMAuthorizer } from 'aws-lambda';
import type { HttpResponse } from '../app/ports';
import {
  listRequestStatuses,
  readRequestStatus,
  resolveStatusCaller,
  type StatusDeps,
  type StatusRefusal,
} from '../app/request-status';
import { awsRuntime, builtOnFirstUse, instrumented, type Runtime } from './runtime';

const DEFAULT_LIMIT = 25;

const STATUS_CODES: Readonly<Record<StatusRefusal['code'], number>> = {
  forbidden: 403,
  'not-found': 404,
  'bad-request': 400,
};

const reply = (statusCode: number, body: object): HttpResponse => ({
  statusCode,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

/**
 * The status API, IAM-authorized: `GET /v1/agents/{agentId}/requests[/{id}]` (the agent id pinned
 * to the caller's principal tag by `grantStatus`) and `GET /v1/requests/{id}`,
 * `GET /v1/requests?agent=…` (the caller's principal ARN looked up in the directory).
 */
export function createHandler(deps: StatusDeps) {
  return instrumented(async (event: APIGatewayProxyEventV2WithIAMAuthorizer): Promise<HttpResponse> => {
    const principalArn = event.requestContext.authorizer?.iam?.userArn;
    const pinnedAgentId = event.pathParameters?.agentId;
    const caller = resolveStatusCaller(deps.directory, {
      ...(principalArn ? { principalArn } : {}),
      ...(pinnedAgentId === undefined ? {} : { pinnedAgentId }),
    });
    if (!caller)
      return reply(403, { error: 'forbidden', reason: 'the caller is not a known agent or reviewer' });

    const requestId = event.pathParameters?.id;
    if (requestId !== undefined) {
      const status = await readRequestStatus(caller, requestId, deps);
      return status.ok ? reply(200, status.value) : refuse(status.error);
    }
    const limit = Number(event.queryStringParameters?.limit ?? DEFAULT_LIMIT);
    if (!Number.isInteger(limit) || limit < 1)
      return reply(400, { error: 'bad-request', reason: 'limit must be a whole number from 1' });
    const agent = pinnedAgentId ?? event.queryStringParameters?.agent;
    const listed = await listRequestStatuses(caller, { ...(agent ? { agentId: agent } : {}), limit }, deps);
    return listed.ok ? reply(200, { requests: listed.value }) : refuse(listed.error);
  });
}

const refuse = (refusal: StatusRefusal) =>
  reply(STATUS_CODES[refusal.code], { error: refusal.code, reason: refusal.reason });

export function statusDeps(rt: Runtime): StatusDeps {
  return {
    requests: rt.stores.requests,
    audit: rt.stores.audit,
    directory: rt.directory,
  };
}

/** The status function in AWS: the Requests table, the audit log and the directory from the environment. */
export const handler = builtOnFirstUse(async () => createHandler(statusDeps(awsRuntime())));
