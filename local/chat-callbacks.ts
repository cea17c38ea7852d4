import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2, Context } from 'aws-lambda';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Runtime } from '../lambdas/handlers/runtime';
import * as slackInteractions from '../lambdas/handlers/slack-interactions';
import * as slackVotes from '../lambdas/handlers/slack-votes';
import * as teamsMessages from '../lambdas/handlers/teams-messages';
import { httpApiEvent, lambdaContext } from './lambda-events';
import { LocalSlackVoteQueue } from './slack-vote-queue';

type HttpHandler = (event: APIGatewayProxyEventV2, context?: Context) => Promise<APIGatewayProxyResultV2>;

/**
 * The HTTP API's chat routes, as the construct deploys them, for the channels `rt` is configured
 * for. Slack's endpoint answers and leaves each click on `slackVotes`, whose worker casts it
 * afterwards, as the slack-votes queue and function do in AWS.
 */
export async function chatRoutes(rt: Runtime): Promise<ChatRoutes> {
  const routes: Record<string, HttpHandler> = {};
  let slackVoteQueue: LocalSlackVoteQueue | undefined;
  if (rt.environment.SLACK_CHANNEL_ID) {
    const worker = slackVotes.createHandler(await slackVotes.slackVoteDeps(rt));
    slackVoteQueue = new LocalSlackVoteQueue((event) => worker(event, lambdaContext('slack-votes', 30_000)));
    routes['POST /slack/interactions'] = slackInteractions.createHandler(
      await slackInteractions.slackAcknowledgementDeps(rt, slackVoteQueue),
    );
  }
  if (rt.environment.TEAMS_APP_ID) {
    routes['POST /teams/messages'] = teamsMessages.createHandler(await teamsMessages.teamsMessagesDeps(rt));
  }
  return { routes, ...(slackVoteQueue ? { slackVoteQueue } : {}) };
}

export interface ChatRoutes {
  readonly routes: Readonly<Record<string, HttpHandler>>;
  /** Where Slack's endpoint leaves clicks for the vote worker, when Slack is configured. */
  readonly slackVoteQueue?: LocalSlackVoteQueue;
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
): Promise<{ url: string; slackVoteQueue?: LocalSlackVoteQueue; stop(): Promise<void> }> {
  const { routes, slackVoteQueue } = await chatRoutes(rt);
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
    ...(slackVoteQueue ? { slackVoteQueue } : {}),
    // Clicks already answered are still cast before the runtime behind them stops.
    stop: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await slackVoteQueue?.drained();
    },
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
