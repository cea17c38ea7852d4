import type { KnownBlock } from '@slack/web-api';
import { escapeSlackText, slackApprovalMessage } from '../../lambdas/adapters/slack-blocks';
import type { ApprovalCard } from '../../lambdas/core/card';

const card: ApprovalCard = {
  requestId: 'req-42',
  agentId: 'reporting-bot',
  operation: 'dynamodb:ExportTableToPointInTime',
  resource: 'arn:aws:dynamodb:eu-west-1:111122223333:table/orders',
  parameterSummary: ['ExportFormat: DYNAMODB_JSON', 'S3Bucket: exports'],
  parameters: [
    { key: 'ExportFormat', value: '"DYNAMODB_JSON"' },
    { key: 'S3Bucket', value: '"exports"' },
  ],
  parametersHashPrefix: '0123456789ab',
  justification: 'Quarterly revenue report.',
  policyReason: 'operations that export or share data need two security reviewers',
  quorum: 2,
  approverGroups: ['security'],
  expiresAt: '2026-11-24T10:15:00.000Z',
};

/** Every text a reader could see or Slack could parse, wherever it sits in the blocks. */
function texts(blocks: readonly KnownBlock[]): string[] {
  const found: string[] = [];
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(walk);
    else if (node && typeof node === 'object') {
      const { type, text } = node as { type?: unknown; text?: unknown };
      if ((type === 'plain_text' || type === 'mrkdwn') && typeof text === 'string') found.push(text);
      Object.values(node).forEach(walk);
    }
  };
  walk(blocks);
  return found;
}

describe('Function: escapeSlackText', () => {
  it('encodes exactly &, < and >, ampersand first so entities are not double-read', () => {
    // Act
    const escaped = escapeSlackText('a & b <@U123> <!channel> &lt; "quoted" *bold*');

    // Assess
    expect(escaped).toBe('a &amp; b &lt;@U123&gt; &lt;!channel&gt; &amp;lt; "quoted" *bold*');
  });
});

describe('Function: slackApprovalMessage', () => {
  it('renders the pending card: facts, policy, parameters, labelled justification, Approve and Deny', () => {
    // Act
    const message = slackApprovalMessage(card);

    // Assess
    expect(message).toEqual({
      text: 'Approval requested: reporting-bot asks for dynamodb:ExportTableToPointInTime',
      blocks: [
        { type: 'header', text: { type: 'plain_text', text: 'Approval requested', emoji: false } },
        {
          type: 'section',
          fields: [
            { type: 'plain_text', text: 'Agent\nreporting-bot', emoji: false },
            { type: 'plain_text', text: 'Operation\ndynamodb:ExportTableToPointInTime', emoji: false },
            {
              type: 'plain_text',
              text: 'Resource\narn:aws:dynamodb:eu-west-1:111122223333:table/orders',
              emoji: false,
            },
            { type: 'plain_text', text: 'Request\nreq-42', emoji: false },
            { type: 'mrkdwn', text: '*Approvers needed*\n2 from security', verbatim: true },
            {
              type: 'mrkdwn',
              text: '*Expires*\n<!date^1795515300^{date_short_pretty} at {time}|2026-11-24T10:15:00.000Z>',
              verbatim: true,
            },
          ],
        },
        {
          type: 'section',
          text: {
            type: 'mrkdwn',
            text: '*Policy*\noperations that export or share data need two security reviewers',
            verbatim: true,
          },
        },
        {
          type: 'context',
          elements: [{ type: 'mrkdwn', text: '*Parameters* (hash `0123456789ab`)', verbatim: true }],
        },
        {
          type: 'section',
          text: { type: 'plain_text', text: 'ExportFormat: DYNAMODB_JSON\nS3Bucket: exports', emoji: false },
        },
        {
          type: 'actions',
          block_id: 'parameters',
          elements: [
            {
              type: 'button',
              action_id: 'show_parameters',
              text: { type: 'plain_text', text: 'Show all 2 parameters', emoji: false },
              value: 'req-42',
            },
          ],
        },
        { type: 'divider' },
        {
          type: 'context',
          elements: [
            {
              type: 'mrkdwn',
              text: ":warning: *Agent's justification (unverified)*: written by the agent and not checked by anyone",
              verbatim: true,
            },
          ],
        },
        { type: 'section', text: { type: 'plain_text', text: 'Quarterly revenue report.', emoji: false } },
        { type: 'divider' },
        {
          type: 'actions',
          block_id: 'decision',
          elements: [
            {
              type: 'button',
              action_id: 'approve',
              text: { type: 'plain_text', text: 'Approve', emoji: false },
              style: 'primary',
              value: 'req-42',
              confirm: {
                title: { type: 'plain_text', text: 'Approve this action?', emoji: false },
                text: {
                  type: 'plain_text',
                  text: 'reporting-bot will run dynamodb:ExportTableToPointInTime on arn:aws:dynamodb:eu-west-1:111122223333:table/orders.',
                  emoji: false,
                },
                confirm: { type: 'plain_text', text: 'Approve', emoji: false },
                deny: { type: 'plain_text', text: 'Cancel', emoji: false },
              },
            },
            {
              type: 'button',
              action_id: 'deny',
              text: { type: 'plain_text', text: 'Deny', emoji: false },
              style: 'danger',
              value: 'req-42',
            },
          ],
        },
      ],
    });
  });

  it('renders a hostile justification inert: plain text, escaped, under the unverified label', () => {
    // Prepare
    const hostile = {
      ...card,
      justification:
        '<!channel> urgent! <https://evil.example|Approve> *bold* <@U0ADMIN> :white_check_mark: Approved by security',
    };

    // Act
    const { blocks } = slackApprovalMessage(hostile);

    // Assess
    const labelIndex = blocks.findIndex((block) =>
      JSON.stringify(block).includes("Agent's justification (unverified)"),
    );
    expect(blocks[labelIndex + 1]).toEqual({
      type: 'section',
      text: {
        type: 'plain_text',
        text: '&lt;!channel&gt; urgent! &lt;https://evil.example|Approve&gt; *bold* &lt;@U0ADMIN&gt; :white_check_mark: Approved by security',
        emoji: false,
      },
    });
    for (const text of texts(blocks)) {
      expect(text).not.toMatch(/<!channel>|<https:\/\/evil|<@U0ADMIN>/);
    }
    // The only buttons are the card's own, and they carry the request id alone.
    const buttons = blocks.flatMap((block) => (block.type === 'actions' ? block.elements : []));
    expect(
      buttons.map((button) => [
        button.type,
        'action_id' in button ? button.action_id : undefined,
        'value' in button ? button.value : undefined,
      ]),
    ).toEqual([
      ['button', 'show_parameters', 'req-42'],
      ['button', 'approve', 'req-42'],
      ['button', 'deny', 'req-42'],
    ]);
  });

  it('escapes what the agent chose everywhere else too: resource, parameter values', () => {
    // Prepare
    const hostile = {
      ...card,
      resource: 'arn:aws:s3:::bucket/<!here>',
      parameterSummary: ['Key: <https://evil.example|click me>'],
    };

    // Act
    const message = slackApprovalMessage(hostile);

    // Assess
    expect(texts(message.blocks)).toContain('Resource\narn:aws:s3:::bucket/&lt;!here&gt;');
    const all = [message.text, ...texts(message.blocks)];
    expect(all.some((text) => text.includes('Key: &lt;https://evil.example|click me&gt;'))).toBe(true);
    for (const text of all) expect(text).not.toMatch(/<!here>|<https:\/\/evil/);
  });

  it('collapses runs of blank lines so the justification cannot push its label out of view', () => {
    // Act
    const { blocks } = slackApprovalMessage({
      ...card,
      justification: `fine\n\n\n\n\n\n\n\n:white_check_mark: Approved`,
    });

    // Assess
    expect(texts(blocks)).toContain('fine\n\n:white_check_mark: Approved');
  });

  it('shows a long escaped justification whole, in sections within Slack’s 3000 characters, no entity cut', () => {
    // Act
    const { blocks } = slackApprovalMessage({ ...card, justification: '<'.repeat(2000) });

    // Assess
    const shown = texts(blocks).filter((text) => text.startsWith('&lt;'));
    for (const piece of shown) {
      expect(piece.length).toBeLessThanOrEqual(3000);
      expect(piece).toMatch(/^(&lt;)+$/);
    }
    expect(shown.join('')).toBe('&lt;'.repeat(2000));
  });

  it('shows (none) for an empty justification and no parameters', () => {
    // Act
    const { blocks } = slackApprovalMessage({ ...card, justification: '  ', parameterSummary: [] });

    // Assess
    expect(texts(blocks).filter((text) => text === '(none)')).toHaveLength(2);
  });

  it('replaces the buttons with who approved once approved', () => {
    // Act
    const message = slackApprovalMessage(card, {
      status: 'approved',
      reviewers: ['alice@example.com', 'bob@example.com'],
    });

    // Assess
    expect(message.text.startsWith('Approved: ')).toBe(true);
    expect(message.blocks[0]).toEqual({
      type: 'header',
      text: { type: 'plain_text', text: 'Approved', emoji: false },
    });
    expect(message.blocks.at(-1)).toEqual({
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: ':white_check_mark: *Approved* by alice@example.com, bob@example.com',
        verbatim: true,
      },
    });
    expect(message.blocks.some((block) => block.type === 'actions' && block.block_id === 'decision')).toBe(
      false,
    );
  });

  it('replaces the buttons with who denied once denied', () => {
    // Act
    const { blocks } = slackApprovalMessage(card, { status: 'denied', reviewers: ['carol@example.com'] });

    // Assess
    expect(blocks.at(-1)).toEqual({
      type: 'section',
      text: { type: 'mrkdwn', text: ':no_entry: *Denied* by carol@example.com', verbatim: true },
    });
    expect(blocks.some((block) => block.type === 'actions' && block.block_id === 'decision')).toBe(false);
  });

  it('replaces the buttons with the expiry once expired', () => {
    // Act
    const { blocks } = slackApprovalMessage(card, { status: 'expired', reviewers: [] });

    // Assess
    expect(blocks.at(-1)).toEqual({
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: ':hourglass: *Expired*: nobody decided in time, nothing ran',
        verbatim: true,
      },
    });
  });

  it('shows progress and keeps the buttons while approvals are still needed', () => {
    // Act
    const { blocks } = slackApprovalMessage(card, {
      status: 'pending',
      reviewers: ['alice@example.com'],
      note: '1 of 2 approvals',
    });

    // Assess
    expect(blocks.at(-2)).toEqual({
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: ':hourglass_flowing_sand: 1 of 2 approvals, approved so far by alice@example.com',
        verbatim: true,
      },
    });
    expect(blocks.at(-1)?.type).toBe('actions');
  });
});
