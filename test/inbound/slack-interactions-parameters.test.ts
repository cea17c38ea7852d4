import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { SFNClient } from '@aws-sdk/client-sfn';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { SlackNotifier, SlackWebWorkspace, slackWebClient } from '../../lambdas/adapters/slack';
import { slackParameterPages } from '../../lambdas/adapters/slack-blocks';
import { slackClickIdempotency } from '../../lambdas/inbound/slack-idempotency';
import { slackSignature } from '../../lambdas/inbound/slack-signature';
import { evaluateRequest } from '../../lambdas/app/evaluate';
import { requestApproval } from '../../lambdas/app/request-approval';
import type { DecideDeps } from '../../lambdas/app/decide';
import {
  handleSlackInteraction,
  type SlackAcknowledgementDeps,
} from '../../lambdas/inbound/slack-interactions';
import { approvalCard } from '../../lambdas/core/card';
import { httpApiEvent, lambdaContext as invocationContext } from '../../local/lambda-events';
import { createTestTables, type TestTables } from '../support/dynamodb';
import { actionRequested, RecordingUnauthenticatedCallbacks, testDeps } from '../support/fixtures';
import {
  startRecordingHttpServer,
  type RecordedRequest,
  type RecordingHttpServer,
} from '../support/recording-http-server';

const sfn = mockClient(SFNClient);
const events = mockClient(EventBridgeClient);

const SIGNING_SECRET = 'slack-signing-secret-for-tests';
const CHANNEL = 'C0APPROVALS';
const FUNCTION_ARN = 'arn:aws:lambda:eu-west-1:111122223333:function:billing';

/** A `block_actions` payload for a click on a parameters button, from the card or from the modal. */
function parametersClick(click: { actionId: string; value: string; viewId?: string }): string {
  const payload = {
    type: 'block_actions',
    user: { id: 'UMALLORY', username: 'anyone-in-the-channel', team_id: 'T0TEAM' },
    api_app_id: 'A0APP',
    trigger_id: '13345224609.738474920.8088930838d88f008e0',
    team: { id: 'T0TEAM', domain: 'example' },
    container: click.viewId
      ? { type: 'view', view_id: click.viewId }
      : { type: 'message', message_ts: '1764000000.000100', channel_id: CHANNEL, is_ephemeral: false },
    ...(click.viewId ? { view: { id: click.viewId, type: 'modal' } } : {}),
    actions: [
      {
        action_id: click.actionId,
        block_id: 'parameters',
        value: click.value,
        type: 'button',
        action_ts: '1764000005.123456',
      },
    ],
  };
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}

function slackEvent(rawBody: string, at: Date): APIGatewayProxyEventV2 {
  const timestamp = String(Math.floor(at.getTime() / 1000));
  return httpApiEvent({
    routeKey: 'POST /slack/interactions',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-slack-request-timestamp': timestamp,
      'x-slack-signature': slackSignature(SIGNING_SECRET, timestamp, rawBody),
    },
    body: rawBody,
    isBase64Encoded: false,
    sourceIp: '198.51.100.7',
    userAgent: 'Slackbot',
    at,
  });
}

const form = (request: RecordedRequest): Record<string, string> =>
  Object.fromEntries(new URLSearchParams(request.body));

describe('Attack class 1: nothing runs that the reviewer could not see', () => {
  let tables: TestTables;
  let slack: RecordingHttpServer;
  let deps: DecideDeps;
  let endpoint: SlackAcknowledgementDeps;

  beforeAll(async () => {
    tables = await createTestTables();
    slack = await startRecordingHttpServer((request) =>
      request.path === '/api/chat.postMessage'
        ? { body: { ok: true, channel: CHANNEL, ts: '1764000000.000100' } }
        : { body: { ok: true } },
    );
  });
  afterAll(() => slack.close());

  beforeEach(() => {
    slack.clear();
    events.reset();
    sfn.reset();
    events.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'event-1' }] });
    const base = testDeps(tables, {
      sfn: new SFNClient({ region: 'us-east-1' }),
      events: new EventBridgeClient({ region: 'us-east-1' }),
    });
    const client = slackWebClient({ botToken: 'xoxb-test', apiUrl: `${slack.url}/api/` });
    const idempotency = slackClickIdempotency(tables.client, tables.idempotencyTable);
    idempotency.config.registerLambdaContext(invocationContext('slack-interactions', 3_000));
    deps = { ...base.decide, notifiers: [new SlackNotifier(client, CHANNEL)] };
    endpoint = {
      signingSecret: SIGNING_SECRET,
      clock: deps.clock,
      audit: deps.audit,
      idempotency,
      votes: {
        send: () => Promise.reject(new Error('showing parameters queues no vote')),
      },
      unauthenticated: new RecordingUnauthenticatedCallbacks(),
      parameters: () =>
        Promise.resolve({ requests: deps.requests, workspace: new SlackWebWorkspace(client) }),
    };
  });

  /** A function change waiting for reviewers whose NODE_OPTIONS sits far past any summary's cut. */
  async function awaitingApproval(requestId: string, variables: Record<string, string>): Promise<void> {
    await evaluateRequest(
      actionRequested({
        requestId,
        operation: 'lambda:UpdateFunctionConfiguration',
        resource: FUNCTION_ARN,
        parameters: { Environment: { Variables: variables } },
      }),
      testDeps(tables).evaluate,
    );
    await requestApproval({ requestId, taskToken: `token-${requestId}` }, deps);
    slack.clear();
  }

  it('opens the full parameters in a modal with views.open when "Show all parameters" is clicked', async () => {
    // Prepare
    await awaitingApproval('slack-params', {
      A_PADDING: 'p'.repeat(200),
      NODE_OPTIONS: '--require /opt/exfiltrate.js',
    });

    // Act
    const response = await handleSlackInteraction(
      slackEvent(parametersClick({ actionId: 'show_parameters', value: 'slack-params' }), deps.clock.now()),
      endpoint,
    );

    // Assess
    expect(response).toEqual({ statusCode: 200, body: '' });
    expect(slack.requests.map((request) => request.path)).toEqual(['/api/views.open']);
    const sent = form(slack.requests[0]);
    expect(sent.trigger_id).toBe('13345224609.738474920.8088930838d88f008e0');
    const record = await deps.requests.get('slack-params');
    if (!record) throw new Error('no record');
    expect(JSON.parse(sent.view)).toEqual(
      JSON.parse(JSON.stringify(slackParameterPages(approvalCard(record))[0])),
    );
    expect(sent.view).toContain('--require /opt/exfiltrate.js');
    expect(sent.view).toContain('NODE_OPTIONS: Node.js reads options from it at start');
    // Showing changes nothing: no vote, no audit record beyond the request's own.
    expect((await deps.audit.read('slack-params')).map((entry) => entry.type)).toEqual([
      'requested',
      'policy-evaluated',
      'approval-requested',
    ]);
  });

  it('turns the modal to the asked page with views.update, rebuilt from the stored request', async () => {
    // Prepare: a value long enough to take several sections (pagination itself is in the blocks' tests).
    await awaitingApproval('slack-pages', { VAR_A: 'v'.repeat(4_000), VAR_B: 'w'.repeat(4_000) });
    const record = await deps.requests.get('slack-pages');
    if (!record) throw new Error('no record');
    const pages = slackParameterPages(approvalCard(record));

    // Act
    await handleSlackInteraction(
      slackEvent(
        parametersClick({ actionId: 'parameters_page', value: 'slack-pages 0', viewId: 'V0MODAL' }),
        deps.clock.now(),
      ),
      endpoint,
    );

    // Assess
    expect(slack.requests.map((request) => request.path)).toEqual(['/api/views.update']);
    const sent = form(slack.requests[0]);
    expect(sent.view_id).toBe('V0MODAL');
    expect(JSON.parse(sent.view)).toEqual(JSON.parse(JSON.stringify(pages[0])));
  });

  it('answers a click for an unknown request without showing anything', async () => {
    const response = await handleSlackInteraction(
      slackEvent(
        parametersClick({ actionId: 'show_parameters', value: 'no-such-request' }),
        deps.clock.now(),
      ),
      endpoint,
    );

    expect(response).toEqual({ statusCode: 200, body: '' });
    expect(slack.requests).toEqual([]);
  });
});
