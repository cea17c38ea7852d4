import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2, Context } from 'aws-lambda';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Runtime } from '../lambdas/handlers/runtime';
import * as slackInteractions from '../lambdas/handlers/slack-interactions';
import * as teamsMessages from '../lambdas/handlers/teams-messages';
import { httpApiEvent, lambdaContext } from './lambda-events';

type HttpHandler = (event: APIGatewayProxyEventV2, context?: Context) => Promise<APIGatewayProxyResultV2>;

/** The HTTP API's chat routes, as the construct deploys them, for the channels `rt` is configured for. */
export async function chatRoutes(rt: Runtime): Promise<Readonly<Record<string, HttpHandler>>> {
  const routes: Record<string, HttpHandler> = {};
  if (rt.environment.SLACK_CHANNEL_ID) {
    routes['POST /slack/interactions'] = slackInteractions.createHandler(
      await slackInteractions.slackInteractionDeps(rt),
    );
  }
  if (rt.environment.TEAMS_APP_ID) {
    routes['POST /teams/messages'] = teamsMessages.createHandler(await teamsMessages.teamsMessagesDeps(rt));
  }
  return routes;
}

const MAX_BODY_BYTES = 256 * 1024;

/**
 * Serves the chat callback routes of the HTTP API on loopback with the real handler modules, each
 * request turned into the API Gateway (payload format 2.0) event Lambda would receive. Only
 * started when Slack or Teams is configured: their callbacks need this address exposed (a tunnel).
 */
export async function startChatCallbacks(
  rt: Runtime,
  port = 0,
): Promise<{ url: string; stop(): Promise<void> }> {
  const routes = await chatRoutes(rt);
  const server: Server = createServer((request, response) => {
    void (async () => {
      const routeKey = `${request.method} ${new URL(request.url ?? '/', 'http://local').pathname}`;
      const handler = Object.hasOwn(routes, routeKey) ? routes[routeKey] : undefined;
      if (!handler) {
        response.writeHead(404).end();
        return;
      }
      const result = await handler(await apiGatewayEvent(request, routeKey), lambdaContext(routeKey));
      const {
        statusCode = 200,
        headers = {},
        body = '',
      } = typeof result === 'string' ? { body: result } : result;
      response.writeHead(statusCode, headers as Record<string, string>).end(body);
    })().catch(() => {
      if (!response.headersSent) response.writeHead(500).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function apiGatewayEvent(request: IncomingMessage, routeKey: string): Promise<APIGatewayProxyEventV2> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new Error('body too large');
    chunks.push(chunk as Buffer);
  }
  const headers = Object.fromEntries(
    Object.entries(request.headers).map(([name, value]) => [
      name,
      Array.isArray(value) ? value.join(',') : (value ?? ''),
    ]),
  );
  return httpApiEvent({
    routeKey,
    headers,
    body: Buffer.concat(chunks).toString('base64'),
    isBase64Encoded: true,
    rawQueryString: new URL(request.url ?? '/', 'http://local').search.slice(1),
    sourceIp: request.socket.remoteAddress ?? '127.0.0.1',
    domainName: String(request.headers.host ?? '127.0.0.1'),
  });
}
