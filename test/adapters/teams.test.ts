import {
  BotAccessTokens,
  BotConnectorClient,
  BotConnectorError,
  TeamsNotifier,
  teamsNotifierFromEnvironment,
} from '../../lambdas/adapters/teams';
import { teamsApprovalCard } from '../../lambdas/adapters/teams-cards';
import type { ApprovalCard } from '../../lambdas/core/card';
import {
  BOT_APP_ID,
  BOT_APP_PASSWORD,
  CONNECTOR_ACCESS_TOKEN,
  CONVERSATION_ID,
  startFakeBotFramework,
  type FakeBotFramework,
} from '../support/teams-fakes';

const card: ApprovalCard = {
  requestId: 'req-7',
  agentId: 'reporting-bot',
  operation: 'dynamodb:ExportTableToPointInTime',
  resource: 'arn:aws:dynamodb:eu-west-1:111122223333:table/orders',
  parameterSummary: ['S3Bucket: exports'],
  parameters: [{ key: 'S3Bucket', value: '"exports"' }],
  parametersHashPrefix: '0123456789ab',
  justification: 'Quarterly revenue report.',
  policyReason: 'production export',
  quorum: 2,
  approverGroups: ['security'],
  expiresAt: '2026-11-24T10:15:00.000Z',
};

const ENCODED_CONVERSATION = encodeURIComponent(CONVERSATION_ID);

describe('Class: TeamsNotifier', () => {
  let botFramework: FakeBotFramework;
  let notifier: TeamsNotifier;

  beforeAll(async () => {
    botFramework = await startFakeBotFramework();
  });
  afterAll(() => botFramework.close());
  beforeEach(() => {
    botFramework.reset();
    const tokens = new BotAccessTokens({
      appId: BOT_APP_ID,
      appPassword: BOT_APP_PASSWORD,
      tokenUrl: botFramework.tokenUrl,
    });
    notifier = new TeamsNotifier(new BotConnectorClient(tokens), {
      serviceUrl: botFramework.serviceUrl,
      conversationId: CONVERSATION_ID,
    });
  });

  describe('Method: post', () => {
    it('gets a bot token with the client-credentials flow', async () => {
      // Act
      await notifier.post(card);

      // Assess
      const [tokenRequest] = botFramework.tokenRequests();
      expect(tokenRequest.method).toBe('POST');
      expect(tokenRequest.headers['content-type']).toBe('application/x-www-form-urlencoded');
      expect(tokenRequest.body).toBe(
        `grant_type=client_credentials&client_id=${BOT_APP_ID}&client_secret=${BOT_APP_PASSWORD}&scope=https%3A%2F%2Fapi.botframework.com%2F.default`,
      );
    });

    it('posts the card as a new activity in the conversation and returns where it went', async () => {
      // Act
      const refs = await notifier.post(card);

      // Assess
      const [call] = botFramework.connectorCalls();
      expect(call.method).toBe('POST');
      expect(call.path).toBe(`/teams/v3/conversations/${ENCODED_CONVERSATION}/activities`);
      expect(call.headers.authorization).toBe(`Bearer ${CONNECTOR_ACCESS_TOKEN}`);
      expect(call.headers['content-type']).toBe('application/json');
      expect(JSON.parse(call.body)).toEqual({
        type: 'message',
        summary: 'Approval requested: reporting-bot asks for dynamodb:ExportTableToPointInTime',
        attachments: [
          { contentType: 'application/vnd.microsoft.card.adaptive', content: teamsApprovalCard(card) },
        ],
      });
      expect(JSON.parse(call.body).attachments[0].content.actions).toEqual([
        {
          type: 'Action.Execute',
          title: 'Approve',
          verb: 'approve',
          data: { requestId: 'req-7' },
          style: 'positive',
        },
        {
          type: 'Action.Execute',
          title: 'Deny',
          verb: 'deny',
          data: { requestId: 'req-7' },
          style: 'destructive',
        },
      ]);
      expect(refs).toEqual({
        teams: {
          serviceUrl: botFramework.serviceUrl,
          conversationId: CONVERSATION_ID,
          activityId: expect.stringMatching(/^1700000000\d+$/),
        },
      });
    });

    it('reuses the bot token for later calls', async () => {
      const refs = await notifier.post(card);

      await notifier.update(refs, card, { status: 'pending', reviewers: [], note: '0 of 2 approvals' });

      expect(botFramework.tokenRequests()).toHaveLength(1);
      expect(botFramework.connectorCalls()).toHaveLength(2);
    });

    it('fails with the connector’s status and error code, and without any credential in the message', async () => {
      botFramework.server.respondWith((request) =>
        request.path.startsWith('/teams/')
          ? {
              status: 403,
              body: {
                error: {
                  code: 'BotNotInConversationRoster',
                  message: 'The bot is not part of the conversation roster.',
                },
              },
            }
          : { body: { token_type: 'Bearer', expires_in: 3600, access_token: CONNECTOR_ACCESS_TOKEN } },
      );

      const failure = notifier.post(card);

      await expect(failure).rejects.toThrow(
        new BotConnectorError('the Bot Connector answered POST with 403 (BotNotInConversationRoster)', 403),
      );
      const message = String(await failure.catch((error: unknown) => (error as Error).message));
      expect(message).not.toContain(CONNECTOR_ACCESS_TOKEN);
      expect(message).not.toContain(BOT_APP_PASSWORD);
    });

    it('fails with the token service’s error code when the app password is wrong', async () => {
      botFramework.server.respondWith(() => ({
        status: 401,
        body: {
          error: 'invalid_client',
          error_description: 'AADSTS7000215: Invalid client secret provided.',
        },
      }));

      await expect(notifier.post(card)).rejects.toThrow(
        new BotConnectorError('the bot token request answered 401 (invalid_client)', 401),
      );
    });
  });

  describe('Method: update', () => {
    it('replaces the posted card with the decided one, without buttons', async () => {
      // Prepare
      const refs = await notifier.post(card);
      botFramework.server.clear();
      const outcome = { status: 'approved', reviewers: ['alice@example.com', 'bob@example.com'] } as const;

      // Act
      await notifier.update(refs, card, outcome);

      // Assess
      const [call] = botFramework.connectorCalls();
      expect(call.method).toBe('PUT');
      expect(call.path).toBe(
        `/teams/v3/conversations/${ENCODED_CONVERSATION}/activities/${refs.teams?.activityId}`,
      );
      expect(call.headers.authorization).toBe(`Bearer ${CONNECTOR_ACCESS_TOKEN}`);
      const activity = JSON.parse(call.body);
      expect(activity).toEqual({
        type: 'message',
        id: refs.teams?.activityId,
        summary: 'Approved: reporting-bot asks for dynamodb:ExportTableToPointInTime',
        attachments: [
          {
            contentType: 'application/vnd.microsoft.card.adaptive',
            content: teamsApprovalCard(card, { outcome }),
          },
        ],
      });
      expect(activity.attachments[0].content.actions).toBeUndefined();
    });

    it('does nothing for a request that has no Teams card', async () => {
      await notifier.update({ slack: { channel: 'C1', ts: '1.0' } }, card, {
        status: 'expired',
        reviewers: [],
      });

      expect(botFramework.server.requests).toHaveLength(0);
    });

    it('asks for a new bot token after the connector refused the cached one', async () => {
      const refs = await notifier.post(card);
      let refuseOnce = true;
      botFramework.server.respondWith((request) => {
        if (request.path.startsWith('/teams/') && refuseOnce) {
          refuseOnce = false;
          return { status: 401, body: { message: 'Authorization has been denied for this request.' } };
        }
        return {
          body: request.path.startsWith('/teams/')
            ? { id: refs.teams?.activityId }
            : { expires_in: 3600, access_token: 'renewed' },
        };
      });

      await expect(notifier.update(refs, card, { status: 'expired', reviewers: [] })).rejects.toThrow(
        BotConnectorError,
      );
      await notifier.update(refs, card, { status: 'expired', reviewers: [] });

      expect(botFramework.connectorCalls().at(-1)?.headers.authorization).toBe('Bearer renewed');
    });
  });
});

describe('Class: BotAccessTokens', () => {
  let botFramework: FakeBotFramework;
  beforeAll(async () => {
    botFramework = await startFakeBotFramework();
  });
  afterAll(() => botFramework.close());

  it('keeps a token until five minutes before it expires', async () => {
    // Prepare
    let now = 0;
    const tokens = new BotAccessTokens(
      { appId: BOT_APP_ID, appPassword: BOT_APP_PASSWORD, tokenUrl: botFramework.tokenUrl },
      () => now,
    );

    // Act
    await tokens.token();
    now = (3600 - 301) * 1000;
    await tokens.token();
    const beforeRenewal = botFramework.tokenRequests().length;
    now = (3600 - 299) * 1000;
    await tokens.token();

    // Assess
    expect(beforeRenewal).toBe(1);
    expect(botFramework.tokenRequests()).toHaveLength(2);
  });

  it('asks once for concurrent callers', async () => {
    botFramework.reset();
    const tokens = new BotAccessTokens({
      appId: BOT_APP_ID,
      appPassword: BOT_APP_PASSWORD,
      tokenUrl: botFramework.tokenUrl,
    });

    const got = await Promise.all([tokens.token(), tokens.token(), tokens.token()]);

    expect(got).toEqual([CONNECTOR_ACCESS_TOKEN, CONNECTOR_ACCESS_TOKEN, CONNECTOR_ACCESS_TOKEN]);
    expect(botFramework.tokenRequests()).toHaveLength(1);
  });
});

describe('Function: teamsNotifierFromEnvironment', () => {
  const secrets = {
    get: jest.fn(async (id: string) =>
      id === 'teams/app-password' ? `${BOT_APP_PASSWORD}\n` : 'unexpected',
    ),
  };
  const configured = {
    TEAMS_APP_ID: BOT_APP_ID,
    TEAMS_APP_PASSWORD_SECRET_ID: 'teams/app-password',
    TEAMS_SERVICE_URL: 'https://smba.trafficmanager.net/emea/',
    TEAMS_CONVERSATION_ID: CONVERSATION_ID,
  };

  it('returns nothing when Teams is not configured', async () => {
    expect(await teamsNotifierFromEnvironment({}, secrets)).toBeUndefined();
  });

  it('refuses half a configuration, naming what is missing', async () => {
    await expect(teamsNotifierFromEnvironment({ TEAMS_APP_ID: BOT_APP_ID }, secrets)).rejects.toThrow(
      'Teams is half configured: TEAMS_APP_PASSWORD_SECRET_ID, TEAMS_SERVICE_URL, TEAMS_CONVERSATION_ID not set',
    );
  });

  it('reads the app password from Secrets Manager and posts with it', async () => {
    const botFramework = await startFakeBotFramework();
    try {
      const notifier = await teamsNotifierFromEnvironment(
        { ...configured, TEAMS_SERVICE_URL: botFramework.serviceUrl, TEAMS_TOKEN_URL: botFramework.tokenUrl },
        secrets,
      );

      await notifier?.post(card);

      expect(notifier?.channel).toBe('teams');
      expect(secrets.get).toHaveBeenCalledWith('teams/app-password');
      expect(new URLSearchParams(botFramework.tokenRequests()[0].body).get('client_secret')).toBe(
        BOT_APP_PASSWORD,
      );
    } finally {
      await botFramework.close();
    }
  });

  it('refuses a plain app password inside AWS Lambda', async () => {
    const plain = { ...configured, TEAMS_APP_PASSWORD_SECRET_ID: undefined };

    await expect(
      teamsNotifierFromEnvironment(
        { ...plain, TEAMS_APP_PASSWORD: 'plain', AWS_LAMBDA_FUNCTION_NAME: 'teams-messages' },
        secrets,
      ),
    ).rejects.toThrow(
      'TEAMS_APP_PASSWORD is for local mode only; in AWS Lambda set TEAMS_APP_PASSWORD_SECRET_ID',
    );
  });
});
