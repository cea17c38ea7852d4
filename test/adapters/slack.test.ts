import {
  SlackNotifier,
  SlackWebWorkspace,
  slackFromEnvironment,
  slackNotifierFromEnvironment,
  slackWebClient,
} from '../../lambdas/adapters/slack';
import { slackSecretFromEnvironment } from '../../lambdas/adapters/slack-secrets';
import { slackApprovalMessage } from '../../lambdas/adapters/slack-blocks';
import type { ApprovalCard } from '../../lambdas/core/card';
import {
  startRecordingHttpServer,
  type RecordedRequest,
  type RecordingHttpServer,
} from '../support/recording-http-server';

const BOT_TOKEN = 'xoxb-test-bot-token';

const card: ApprovalCard = {
  requestId: 'req-7',
  agentId: 'reporting-bot',
  operation: 'dynamodb:ExportTableToPointInTime',
  resource: 'arn:aws:dynamodb:eu-west-1:111122223333:table/orders',
  parameterSummary: ['S3Bucket: exports'],
  parameters: [{ key: 'S3Bucket', value: '"exports"' }],
  parametersHashPrefix: 'abcdef012345',
  justification: 'Quarterly revenue report.',
  policyReason: 'exports need two security reviewers',
  quorum: 2,
  approverGroups: ['security'],
  expiresAt: '2026-11-24T10:15:00.000Z',
};

/** The form fields of a Web API call; structured arguments arrive JSON-encoded. */
function form(request: RecordedRequest): Record<string, string> {
  return Object.fromEntries(new URLSearchParams(request.body));
}

const users: Record<string, object> = {
  UDAVE: { id: 'UDAVE', is_email_confirmed: true, profile: { email: 'dave@example.com' } },
  UGUEST: {
    id: 'UGUEST',
    is_restricted: true,
    is_email_confirmed: true,
    profile: { email: 'guest@example.com' },
  },
  UGONE: { id: 'UGONE', deleted: true, profile: { email: 'gone@example.com' } },
  UBOT: { id: 'UBOT', is_bot: true, profile: { email: 'bot@example.com' } },
  UUNCONFIRMED: { id: 'UUNCONFIRMED', is_email_confirmed: false, profile: { email: 'new@example.com' } },
};

describe('Class: SlackNotifier', () => {
  let slack: RecordingHttpServer;
  let notifier: SlackNotifier;
  beforeAll(async () => {
    slack = await startRecordingHttpServer((request) => {
      if (request.path === '/api/chat.postMessage')
        return { body: { ok: true, channel: 'C0APPROVALS', ts: '1764000000.000100' } };
      return { body: { ok: true } };
    });
    notifier = new SlackNotifier(
      slackWebClient({ botToken: BOT_TOKEN, apiUrl: `${slack.url}/api/` }),
      'C0APPROVALS',
    );
  });
  afterEach(() => slack.clear());
  afterAll(() => slack.close());

  describe('Method: post', () => {
    it('posts the card to the configured channel with the bot token and returns where it went', async () => {
      // Act
      const refs = await notifier.post(card);

      // Assess
      expect(refs).toEqual({ slack: { channel: 'C0APPROVALS', ts: '1764000000.000100' } });
      expect(slack.requests).toHaveLength(1);
      const [call] = slack.requests;
      expect(call.method).toBe('POST');
      expect(call.path).toBe('/api/chat.postMessage');
      expect(call.headers.authorization).toBe(`Bearer ${BOT_TOKEN}`);
      const expected = slackApprovalMessage(card);
      expect(form(call)).toEqual({
        channel: 'C0APPROVALS',
        text: expected.text,
        blocks: JSON.stringify(expected.blocks),
        unfurl_links: 'false',
        unfurl_media: 'false',
      });
    });
  });

  describe('Method: update', () => {
    it('replaces the posted message with the outcome', async () => {
      // Prepare
      const outcome = { status: 'approved', reviewers: ['alice@example.com', 'bob@example.com'] } as const;

      // Act
      await notifier.update({ slack: { channel: 'C0APPROVALS', ts: '1764000000.000100' } }, card, outcome);

      // Assess
      expect(slack.requests.map((request) => request.path)).toEqual(['/api/chat.update']);
      const expected = slackApprovalMessage(card, outcome);
      expect(form(slack.requests[0])).toEqual({
        channel: 'C0APPROVALS',
        ts: '1764000000.000100',
        text: expected.text,
        blocks: JSON.stringify(expected.blocks),
      });
    });

    it('does nothing for a request whose card was never posted to Slack', async () => {
      // Act
      await notifier.update(
        { teams: { serviceUrl: 'https://smba.example', conversationId: 'c', activityId: 'a' } },
        card,
        {
          status: 'expired',
          reviewers: [],
        },
      );

      // Assess
      expect(slack.requests).toHaveLength(0);
    });
  });

  it('fails when Slack refuses the call, so the caller can report the channel', async () => {
    // Prepare
    slack.respondWith(() => ({ body: { ok: false, error: 'channel_not_found' } }));

    // Act
    const posting = notifier.post(card);

    // Assess
    await expect(posting).rejects.toThrow('channel_not_found');
    slack.respondWith(() => ({ body: { ok: true } }));
  });
});

describe('Class: SlackWebWorkspace', () => {
  let slack: RecordingHttpServer;
  let workspace: SlackWebWorkspace;
  beforeAll(async () => {
    slack = await startRecordingHttpServer((request) => {
      if (request.path === '/api/users.info') {
        const user = users[form(request).user];
        return { body: user ? { ok: true, user } : { ok: false, error: 'user_not_found' } };
      }
      if (request.path === '/api/chat.postEphemeral')
        return { body: { ok: true, message_ts: '1764000001.000200' } };
      return { status: 500, body: { ok: false, error: 'internal_error' } };
    });
    workspace = new SlackWebWorkspace(slackWebClient({ botToken: BOT_TOKEN, apiUrl: `${slack.url}/api/` }));
  });
  afterEach(() => slack.clear());
  afterAll(() => slack.close());

  describe('Method: verifiedEmailOf', () => {
    it('asks users.info for the user and returns the confirmed address', async () => {
      // Act
      const email = await workspace.verifiedEmailOf('UDAVE');

      // Assess
      expect(email).toBe('dave@example.com');
      expect(slack.requests.map((request) => [request.path, form(request)])).toEqual([
        ['/api/users.info', { user: 'UDAVE' }],
      ]);
    });

    it.each([
      ['a guest', 'UGUEST'],
      ['a deactivated user', 'UGONE'],
      ['a bot', 'UBOT'],
      ['an unconfirmed address', 'UUNCONFIRMED'],
      ['a user Slack does not know', 'UNOBODY'],
    ])('returns no address for %s', async (_, userId) => {
      // Act
      const email = await workspace.verifiedEmailOf(userId);

      // Assess
      expect(email).toBeUndefined();
    });
  });

  describe('Method: tellUser', () => {
    it('posts an ephemeral message, escaped, to that user in that channel', async () => {
      // Act
      await workspace.tellUser(
        'C0APPROVALS',
        'UDAVE',
        'Your approve was not counted: <@UOWNER> owns the agent',
      );

      // Assess
      expect(slack.requests.map((request) => [request.path, form(request)])).toEqual([
        [
          '/api/chat.postEphemeral',
          {
            channel: 'C0APPROVALS',
            user: 'UDAVE',
            text: 'Your approve was not counted: &lt;@UOWNER&gt; owns the agent',
          },
        ],
      ]);
    });
  });
});

describe('Function: slackFromEnvironment', () => {
  const secrets = { get: jest.fn(async (secretId: string) => `  xoxb-from-${secretId}\n`) };
  beforeEach(() => secrets.get.mockClear());

  it('returns undefined when Slack is not configured', async () => {
    // Act
    const slack = await slackFromEnvironment({}, secrets);

    // Assess
    expect(slack).toBeUndefined();
    await expect(slackNotifierFromEnvironment({}, secrets)).resolves.toBeUndefined();
  });

  it('reads the bot token from Secrets Manager and posts with it to SLACK_API_URL', async () => {
    // Prepare
    const server = await startRecordingHttpServer(() => ({ body: { ok: true, channel: 'C9', ts: '1.2' } }));
    try {
      const notifier = await slackNotifierFromEnvironment(
        {
          SLACK_CHANNEL_ID: 'C9',
          SLACK_BOT_TOKEN_SECRET_ID: 'slack/bot',
          SLACK_API_URL: `${server.url}/api/`,
          AWS_LAMBDA_FUNCTION_NAME: 'fn',
        },
        secrets,
      );

      // Act
      const refs = await notifier?.post(card);

      // Assess
      expect(notifier?.channel).toBe('slack');
      expect(refs).toEqual({ slack: { channel: 'C9', ts: '1.2' } });
      expect(secrets.get).toHaveBeenCalledWith('slack/bot');
      expect(server.requests[0].headers.authorization).toBe('Bearer xoxb-from-slack/bot');
    } finally {
      await server.close();
    }
  });

  it('refuses half a configuration instead of silently showing no cards', async () => {
    // Act / Assess
    await expect(slackFromEnvironment({ SLACK_CHANNEL_ID: 'C9' }, secrets)).rejects.toThrow(
      'Slack is half configured: SLACK_CHANNEL_ID is set but neither SLACK_BOT_TOKEN_SECRET_ID nor SLACK_BOT_TOKEN',
    );
    await expect(slackFromEnvironment({ SLACK_BOT_TOKEN: BOT_TOKEN }, secrets)).rejects.toThrow(
      'Slack is half configured: a bot token is set but SLACK_CHANNEL_ID is not',
    );
  });
});

describe('Function: slackSecretFromEnvironment', () => {
  const secrets = { get: jest.fn(async () => 'from-secrets-manager') };

  it('prefers the Secrets Manager secret over a plain value', async () => {
    // Act
    const value = await slackSecretFromEnvironment(
      { SLACK_SIGNING_SECRET_ID: 'slack/signing', SLACK_SIGNING_SECRET: 'plain' },
      secrets,
      'SLACK_SIGNING_SECRET',
    );

    // Assess
    expect(value).toBe('from-secrets-manager');
  });

  it('takes a plain value in local mode', async () => {
    // Act
    const value = await slackSecretFromEnvironment(
      { SLACK_SIGNING_SECRET: 'plain' },
      secrets,
      'SLACK_SIGNING_SECRET',
    );

    // Assess
    expect(value).toBe('plain');
  });

  it('refuses a plain value inside AWS Lambda, where the function configuration would expose it', async () => {
    // Act
    const reading = slackSecretFromEnvironment(
      { SLACK_SIGNING_SECRET: 'plain', AWS_LAMBDA_FUNCTION_NAME: 'slack-interactions' },
      secrets,
      'SLACK_SIGNING_SECRET',
    );

    // Assess
    await expect(reading).rejects.toThrow(
      'SLACK_SIGNING_SECRET is for local mode only; in AWS Lambda set SLACK_SIGNING_SECRET_ID to a Secrets Manager secret',
    );
  });
});
