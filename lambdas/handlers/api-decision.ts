import type { APIGatewayProxyEventV2WithIAMAuthorizer } from 'aws-lambda';
import type { DecideDeps } from '../app/decide';
import { handleApiDecision } from '../inbound/api-decision';
import { decisionPath } from './decision-wiring';
import { awsRuntime, builtOnFirstUse, instrumented } from './runtime';

/** `POST /v1/requests/{id}/decision`, IAM-authorized. */
export function createHandler(deps: DecideDeps) {
  return instrumented(async (event: APIGatewayProxyEventV2WithIAMAuthorizer) =>
    handleApiDecision(event, deps),
  );
}

export const handler = builtOnFirstUse(async () => {
  const rt = awsRuntime();
  return createHandler(decisionPath(rt, await rt.notifiers()));
});
