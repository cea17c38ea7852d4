import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { slackSignature } from '../../lambdas/inbound/slack-signature';
import { startChatCallbacks } from '../../local/chat-callbacks';
import { LocalRuntime, type LocalStorage } from '../../local/runtime';
import { sampleExportRequest } from '../../local/samples';
import { startRecordingHttpServer, type RecordingHttpServer } from '../support/recording-http-server';

const SIGNING_SECRET = 'local-chat-signing-secret';

// Slack clicks are remembered in DynamoDB Local's idempotency table, or without Java in memory.
describe.each<LocalStorage>(['dynamodb-local', 'in-memory'])('on %s', (storage) => {
  let local: LocalRuntime;
  let slack: RecordingHttpServer;
  let callbacks: { url: string; stop(): Promise<void> };

  // Slack configured the way a developer would for `npm start`: plain values, its API faked here.
  beforeAll(async () => {
    // The sample directory names reviewers by e-mail: Slack's users.info is what maps a click to one.
    const emails: Record<string, string> = { UALICE: 'alice@example.com', UBOB: 'bob@example.com' };
    slack = await startRecordingHttpServer((request) => {
      if (request.path === '/api/chat.postMessage') {
        return { status: 200, body: { ok: true, channel: 'C0LOCAL', ts: '1764000000.000100' } };
      }
      if (request.path === '/api/users.info') {
        const user = new URLSearchParams(request.body).get('user') ?? '';
        return {
          status: 200,
          body: { ok: true, user: { id: user, is_email_confirmed: true, profile: { email: emails[user] } } },
        };
      }
      return { status: 200, body: { ok: true } };
    });
    Object.assign(process.env, {
      SLACK_CHANNEL_ID: 'C0LOCAL',
      SLACK_BOT_TOKEN: 'xoxb-local-test-token',
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: `${slack.url}/api/`,
    });
    local = await LocalRuntime.start({
      dataDir: await mkdtemp(join(tmpdir(), 'action-approvals-chat-')),
      storage,
    });
    callbacks = await startChatCallbacks(local.runtime);
  }, 60_000);

  afterAll(async () => {
    await callbacks.stop();
    await local.workflow.drain();
    await local.stop();
    await slack.close();
    for (const name of ['SLACK_CHANNEL_ID', 'SLACK_BOT_TOKEN', 'SLACK_SIGNING_SECRET', 'SLACK_API_URL'])
      delete process.env[name];
  });

  function click(requestId: string, userId: string, secret = SIGNING_SECRET) {
    const payload = {
      type: 'block_actions',
      user: { id: userId },
      container: { type: 'message', message_ts: '1764000000.000100', channel_id: 'C0LOCAL' },
      actions: [
        { action_id: 'approve', value: requestId, type: 'button', action_ts: `${Date.now() / 1000}` },
      ],
    };
    const body = new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
    const timestamp = String(Math.floor(Date.now() / 1000));
    return fetch(`${callbacks.url}/slack/interactions`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-slack-request-timestamp': timestamp,
        'x-slack-signature': slackSignature(secret, timestamp, body),
      },
      body,
    });
  }

  test('with Slack configured, cards go to Slack and its clicks reach the real handler locally', async () => {
    const agent = local.agentClient('reporting-bot');
    const outcome = agent.requestAction(sampleExportRequest('chat-local'), 30_000);
    for (let i = 0; i < 200 && slack.requestsTo('/api/chat.postMessage').length === 0; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 25));
    }

    const forged = await click('chat-local', 'UALICE', 'not-the-secret');
    const alice = await click('chat-local', 'UALICE');
    const bob = await click('chat-local', 'UBOB');

    expect(slack.requestsTo('/api/chat.postMessage')).toHaveLength(1);
    expect([forged.status, alice.status, bob.status]).toEqual([401, 200, 200]);
    await expect(outcome).resolves.toMatchObject({ outcome: 'executed' });
  });
});
