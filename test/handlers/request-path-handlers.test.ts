import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { SendTaskSuccessCommand, SFNClient } from '@aws-sdk/client-sfn';
import type { APIGatewayProxyEventV2WithIAMAuthorizer } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { handler as apiDecision } from '../../lambdas/handlers/api-decision';
import { handler as evaluateHandler } from '../../lambdas/handlers/evaluate';
import { handler as expire } from '../../lambdas/handlers/expire';
import { handler as requestApproval } from '../../lambdas/handlers/request-approval';
import { readSettings } from '../../lambdas/handlers/runtime';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../local/dynamodb-local';
import { createTestTables } from '../support/dynamodb';
import { actionRequested, evaluateTaskInput, directoryConfig } from '../support/fixtures';

const evaluate = (event: unknown) => evaluateHandler(evaluateTaskInput(event));

const sfn = mockClient(SFNClient);
const events = mockClient(EventBridgeClient);

// The handlers read their settings from the environment, as in Lambda.
beforeAll(async () => {
  const tables = await createTestTables();
  Object.assign(process.env, {
    AWS_REGION: LOCAL_REGION,
    AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
    AWS_ENDPOINT_URL_DYNAMODB: process.env.DYNAMODB_LOCAL_ENDPOINT,
    REQUESTS_TABLE_NAME: tables.requestsTable,
    AUDIT_TABLE_NAME: tables.auditTable,
    EVENT_BUS_NAME: 'action-approvals',
    DIRECTORY_JSON: JSON.stringify(directoryConfig),
  });
  events.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e-1' }] });
});

function decision(requestId: string, caller: string, body: object) {
  return {
    pathParameters: { id: requestId },
    body: JSON.stringify(body),
    isBase64Encoded: false,
    requestContext: { authorizer: { iam: { userArn: caller } } },
  } as unknown as APIGatewayProxyEventV2WithIAMAuthorizer;
}

describe('Lambda handlers of the request path', () => {
  it('carry a request from evaluation to an API vote, refusing a reviewer outside the approver groups', async () => {
    const evaluated = await evaluate(
      actionRequested({
        requestId: 'h-approve',
        operation: 'lambda:UpdateFunctionConfiguration',
        resource: 'arn:aws:lambda:eu-west-1:111122223333:function:billing',
        parameters: { MemorySize: 512 },
      }),
    );
    await requestApproval({ requestId: 'h-approve', taskToken: 'token-h-approve' });
    const response = await apiDecision(
      decision('h-approve', 'arn:aws:iam::111122223333:user/alice', { decision: 'approve' }),
    );

    expect(evaluated).toMatchObject({ outcome: 'needs-approval' });
    expect(response).toMatchObject({ statusCode: 409 });
    expect(JSON.parse((response as { body: string }).body)).toMatchObject({ error: 'not-an-approver' });
  });

  it('let an operator registered for the API approve', async () => {
    await evaluate(
      actionRequested(
        {
          requestId: 'h-operator',
          operation: 'lambda:UpdateFunctionConfiguration',
          resource: 'arn:aws:lambda:eu-west-1:111122223333:function:billing',
          parameters: { MemorySize: 256 },
        },
        'deploy-bot',
      ),
    );
    await requestApproval({ requestId: 'h-operator', taskToken: 'token-h-operator' });

    // The IAM principal owner@ is registered, in "operators", and does not own deploy-bot.
    const response = await apiDecision(
      decision('h-operator', 'arn:aws:iam::111122223333:user/owner', { decision: 'approve' }),
    );

    expect(response).toMatchObject({ statusCode: 200 });
    expect(sfn).toHaveReceivedCommandWith(SendTaskSuccessCommand, { taskToken: 'token-h-operator' });
  });

  it('expire a request nobody decided', async () => {
    await evaluate(actionRequested({ requestId: 'h-expire' }));
    await requestApproval({ requestId: 'h-expire', taskToken: 'token-h-expire' });

    const result = await expire({ requestId: 'h-expire' });

    expect(result).toMatchObject({ outcome: 'expired', publish: { DetailType: 'Action Expired' } });
  });

  it('refuse to start without their settings, naming what is missing', () => {
    expect(() => readSettings({ REQUESTS_TABLE_NAME: 'r' })).toThrow(
      'missing settings: AUDIT_TABLE_NAME, EVENT_BUS_NAME, DIRECTORY_JSON',
    );
  });
});
