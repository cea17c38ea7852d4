import type { APIGatewayProxyEventV2WithIAMAuthorizer } from 'aws-lambda';
import { handleApiDecision } from '../app/api-decision';
import { runtime } from './runtime';

/** `POST /v1/requests/{id}/decision`, IAM-authorized. */
export const handler = async (event: APIGatewayProxyEventV2WithIAMAuthorizer) => {
  const rt = runtime();
  return handleApiDecision(event, rt.decisionPath(await rt.notifiers()));
};
