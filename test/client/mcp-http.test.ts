import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SQSClient } from '@aws-sdk/client-sqs';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ActionApprovalsClient } from '../../client';
import { serveHttp } from '../../client/commands/mcp';
import { IamDataReference } from '../../lambdas/adapters/iam-reference';
import { explainPolicy } from '../../lambdas/app/explain-policy';
import { systemClock } from '../../lambdas/app/ports';
import { directory, policy, PRODUCTION_ACCOUNT } from '../support/fixtures';

let http: Server;
let url: URL;
let client: Client;

beforeAll(async () => {
  const config = {
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
  };
  http = await serveHttp(
    {
      agentId: 'reporting-bot',
      approvals: new ActionApprovalsClient({
        events: new EventBridgeClient(config),
        sqs: new SQSClient(config),
        eventBusName: 'action-approvals',
        outcomeQueueUrl:
          'https://sqs.us-east-1.amazonaws.com/111122223333/action-approvals-outcomes-reporting-bot',
      }),
      hasStatusApi: false,
      explain: (query) =>
        explainPolicy(
          { ...query, agentId: 'reporting-bot' },
          { iam: new IamDataReference(), policy, directory, clock: systemClock },
        ),
      waitMs: 1_000,
    },
    '127.0.0.1',
    0,
  );
  url = new URL(`http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`);
  client = new Client({ name: 'http-test', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(url));
});

afterAll(async () => {
  await client.close();
  http.closeAllConnections();
  await new Promise((resolve) => http.close(resolve));
});

test('over streamable HTTP the server offers the four agent tools and no reviewer tool', async () => {
  const { tools } = await client.listTools();

  expect(tools.map((tool) => tool.name).sort()).toEqual([
    'explain_policy',
    'get_request',
    'list_requests',
    'request_action',
  ]);
});

test('request_action’s input schema is the request contract’s, and its description says people decide', async () => {
  const { tools } = await client.listTools();
  const requestAction = tools.find((tool) => tool.name === 'request_action');

  expect(requestAction?.inputSchema).toMatchObject({
    type: 'object',
    required: expect.arrayContaining(['operation', 'resource', 'justification']),
    properties: {
      justification: expect.objectContaining({ type: 'string', minLength: 1, maxLength: 2000 }),
      ttlSeconds: expect.objectContaining({ minimum: 60, maximum: 3600 }),
    },
  });
  expect(requestAction?.description).toMatch(/people.*may take minutes.*final/s);
});

test('explain_policy answers over HTTP with the policy’s decision', async () => {
  const result = (await client.callTool({
    name: 'explain_policy',
    arguments: {
      operation: 'dynamodb:ExportTableToPointInTime',
      resource: `arn:aws:dynamodb:eu-west-1:${PRODUCTION_ACCOUNT}:table/orders`,
    },
  })) as { content: { text: string }[] };

  expect(JSON.parse(result.content[0].text)).toMatchObject({
    outcome: 'require-approval',
    quorum: 2,
    approverGroups: ['security'],
  });
});

test('a request naming another host is refused (DNS rebinding)', async () => {
  // fetch sets Host itself; node:http sends the one given.
  const status = await new Promise<number | undefined>((resolve, reject) => {
    const call = request(
      url,
      {
        method: 'POST',
        headers: {
          host: 'attacker.example',
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
        },
      },
      (response) => {
        response.resume();
        resolve(response.statusCode);
      },
    );
    call.on('error', reject);
    call.end(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }));
  });

  expect(status).toBe(403);
});
