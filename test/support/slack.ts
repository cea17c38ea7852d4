import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { slackSignature } from '../../lambdas/inbound/slack-signature';
import { httpApiEvent } from '../../local/lambda-events';

export interface SlackClick {
  readonly requestId: string;
  /** The clicking Slack user. */
  readonly userId: string;
  /** The channel holding the card. */
  readonly channel: string;
  /** The app's signing secret, or another to forge the signature with. */
  readonly secret: string;
  /** Slack's `action_ts`, which tells two clicks apart; now by default. */
  readonly actionTs?: string;
}

/**
 * The HTTP API event of a click on a card's Approve button: a `block_actions` payload, signed as
 * Slack signs it (v0, over the timestamp and the body) at the current time.
 */
export function signedSlackClick(click: SlackClick): APIGatewayProxyEventV2 {
  const payload = {
    type: 'block_actions',
    user: { id: click.userId, team_id: 'T0TEAM' },
    container: { type: 'message', message_ts: '1764000000.000100', channel_id: click.channel },
    actions: [
      {
        action_id: 'approve',
        block_id: 'decision',
        value: click.requestId,
        type: 'button',
        action_ts: click.actionTs ?? `${Date.now() / 1000}`,
      },
    ],
  };
  const body = new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
  const timestamp = String(Math.floor(Date.now() / 1000));
  return httpApiEvent({
    routeKey: 'POST /slack/interactions',
    headers: {
      'x-slack-request-timestamp': timestamp,
      'x-slack-signature': slackSignature(click.secret, timestamp, body),
    },
    body,
    sourceIp: '198.51.100.7',
    userAgent: 'Slackbot',
  });
}
