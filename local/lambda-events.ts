import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { randomUUID } from 'node:crypto';

/** What an HTTP request carries into an API Gateway (payload format 2.0) event. */
export interface HttpRequestShape {
  readonly routeKey: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  readonly isBase64Encoded?: boolean;
  readonly rawQueryString?: string;
  readonly sourceIp?: string;
  readonly userAgent?: string;
  readonly domainName?: string;
  readonly at?: Date;
}

/**
 * The event an HTTP API route hands its Lambda function: the local runtime's chat routes, the
 * tests and the benchmarks all build it here, so each sees the same shape as Lambda.
 */
export function httpApiEvent(request: HttpRequestShape): APIGatewayProxyEventV2 {
  const [method = 'POST', path = '/'] = request.routeKey.split(' ');
  const at = request.at ?? new Date();
  return {
    version: '2.0',
    routeKey: request.routeKey,
    rawPath: path,
    rawQueryString: request.rawQueryString ?? '',
    headers: { ...request.headers },
    body: request.body,
    isBase64Encoded: request.isBase64Encoded ?? false,
    requestContext: {
      accountId: 'local',
      apiId: 'local',
      domainName: request.domainName ?? '127.0.0.1',
      domainPrefix: 'local',
      http: {
        method,
        path,
        protocol: 'HTTP/1.1',
        sourceIp: request.sourceIp ?? '127.0.0.1',
        userAgent: request.userAgent ?? request.headers['user-agent'] ?? '',
      },
      requestId: randomUUID(),
      routeKey: request.routeKey,
      stage: '$default',
      time: at.toISOString(),
      timeEpoch: at.getTime(),
    },
  };
}

/** The Lambda context of one invocation, with `budgetMs` left to run. */
export function lambdaContext(functionName: string, budgetMs = 10_000): Context {
  const deadline = Date.now() + budgetMs;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:000000000000:function:${functionName}`,
    memoryLimitInMB: '512',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}
