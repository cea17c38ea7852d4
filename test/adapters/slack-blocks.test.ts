import type { KnownBlock } from '@slack/web-api';
import fc from 'fast-check';
import {
  escapeSlackText,
  slackApprovalMessage,
  slackChunks,
  slackParameterPages,
} from '../../lambdas/adapters/slack-blocks';
import type { ApprovalCard } from '../../lambdas/core/card';
import { PREVIEWS } from '../support/previews';

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
              text: { type: 'plain_text', text: 'Show all parameters (2)', emoji: false },
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

/** What Slack shows for an escaped text: the three entities read back as their characters. */
const unescapeSlack = (text: string): string =>
  text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Text an agent could put in a parameter, weighted to what escaping and cutting get wrong. */
const hostileText = (maxLength: number) =>
  fc.string({
    unit: fc.oneof(
      fc.constantFrom('&', '<', '>', '*', '_', '~', '`', ':', '\n', '😀', 'é', 'a'),
      fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
    ),
    maxLength,
  });

const parameterLine = fc.record(
  {
    key: hostileText(60).filter((key) => key.length > 0),
    value: hostileText(9_000),
    risky: hostileText(200),
  },
  { requiredKeys: ['key', 'value'] },
);

describe('Attack class 1: nothing runs that the reviewer could not see', () => {
  it('offers "Show all parameters" on the card, carrying the request id alone', () => {
    const { blocks } = slackApprovalMessage(card);

    const parameters = blocks.find((block) => block.type === 'actions' && block.block_id === 'parameters');
    expect(parameters).toEqual({
      type: 'actions',
      block_id: 'parameters',
      elements: [
        {
          type: 'button',
          action_id: 'show_parameters',
          text: { type: 'plain_text', text: 'Show all parameters (2)', emoji: false },
          value: 'req-42',
        },
      ],
    });
  });

  it('flags risky parameters on the card itself', () => {
    const risky = {
      ...card,
      parameters: [{ key: 'Environment', value: '{}', risky: 'NODE_OPTIONS: loads any code' }],
    };

    expect(texts(slackApprovalMessage(risky).blocks).join('\n')).toContain(
      '⚠ Risky: these change how code runs or where data goes: Environment',
    );
  });

  it('shows every key, risk and whole value across the modal pages, within Block Kit’s limits', () => {
    fc.assert(
      fc.property(fc.array(parameterLine, { maxLength: 40 }), (lines) => {
        const pages = slackParameterPages({ ...card, parameters: lines });

        const shown = pages.flatMap((page) =>
          page.blocks.flatMap((block) =>
            block.type === 'section' && block.text && block.text.text !== '(none)' ? [block.text.text] : [],
          ),
        );
        const expected = lines
          .map(({ key, value, risky }) => `${key}${risky ? `\n⚠ Risky: ${risky}` : ''}\n${value}`)
          .join('');
        expect(unescapeSlack(shown.join(''))).toBe(expected);
        for (const page of pages) {
          expect(page.blocks.length).toBeLessThanOrEqual(100);
          expect(page.title.text.length).toBeLessThanOrEqual(24);
          for (const text of texts(page.blocks)) {
            expect(text.length).toBeLessThanOrEqual(3000);
            expect(text).not.toMatch(LONE_SURROGATE);
            expect(text).not.toMatch(/&[a-z]{0,3}$/);
          }
        }
        // Agent text is only ever plain text in the modal.
        for (const page of pages) {
          for (const block of page.blocks) {
            if (block.type === 'section') expect(block.text?.type).toBe('plain_text');
          }
        }
      }),
      { numRuns: 60 },
    );
  });

  it('links the pages with Previous and Next buttons naming the request and the page', () => {
    const lines = Array.from({ length: 120 }, (_, index) => ({ key: `K${index}`, value: '"v"' }));

    const pages = slackParameterPages({ ...card, parameters: lines });

    expect(pages.length).toBeGreaterThan(1);
    const buttonsOf = (page: (typeof pages)[number]) =>
      page.blocks.flatMap((block) =>
        block.type === 'actions'
          ? block.elements.map((element) => ('value' in element ? element.value : undefined))
          : [],
      );
    expect(buttonsOf(pages[0])).toEqual(['req-42 1']);
    expect(buttonsOf(pages[1])).toEqual(pages.length > 2 ? ['req-42 0', 'req-42 2'] : ['req-42 0']);
  });
});

describe('Attack class 2: agent text is inert and honest', () => {
  it('renders resource, operation and agent as plain text, so mrkdwn cannot apply inside them', () => {
    const hostile = {
      ...card,
      resource: 'arn:aws:s3:::bucket/*bold* _it_ ~strike~ `code` :white_check_mark: <!here> &amp;',
    };

    const { text, blocks } = slackApprovalMessage(hostile);

    const facts = blocks[1];
    expect(facts.type === 'section' && facts.fields?.[2]).toEqual({
      type: 'plain_text',
      text: 'Resource\narn:aws:s3:::bucket/*bold* _it_ ~strike~ `code` :white_check_mark: &lt;!here&gt; &amp;amp;',
      emoji: false,
    });
    // No mrkdwn text anywhere carries the agent's resource.
    const mrkdwnTexts: string[] = [];
    JSON.stringify(blocks, (_key, value: unknown) => {
      if (value && typeof value === 'object' && (value as { type?: unknown }).type === 'mrkdwn') {
        mrkdwnTexts.push((value as { text: string }).text);
      }
      return value;
    });
    for (const shown of [text, ...mrkdwnTexts]) expect(shown).not.toContain('bucket/');
  });

  it('shows a resource too long for a field whole, below the facts, instead of cutting it', () => {
    const resource = `arn:aws:s3:::bucket/${'&'.repeat(2_000)}`;

    const { blocks } = slackApprovalMessage({ ...card, resource });

    const shown = texts(blocks).filter((text) => text.startsWith('Resource\narn') || /^(&amp;)+$/.test(text));
    expect(unescapeSlack(shown.join(''))).toBe(`Resource\n${resource}`);
  });

  it('never cuts a surrogate pair or an entity when it splits text into pieces', () => {
    fc.assert(
      fc.property(hostileText(10_000), fc.integer({ min: 6, max: 3000 }), (text, max) => {
        const escaped = escapeSlackText(text);

        const pieces = slackChunks(escaped, max);

        expect(pieces.join('')).toBe(escaped);
        for (const piece of pieces) {
          expect(piece.length).toBeLessThanOrEqual(max);
          expect(piece).not.toMatch(LONE_SURROGATE);
        }
      }),
      { numRuns: 200 },
    );
  });
});

describe('Function: slackApprovalMessage, with what the session holds and what will change', () => {
  /** The blocks between the parameters and the justification: where these sit. */
  function sessionAndPreviewBlocks(shown: ApprovalCard): KnownBlock[] {
    const { blocks } = slackApprovalMessage(shown);
    const start = blocks.findIndex((block) => block.block_id === 'parameters') + 1;
    const end = blocks.findIndex((block, index) => index >= start && block.type === 'divider');
    return blocks.slice(start, end);
  }
  const section = (text: string) => ({ type: 'section', text: { type: 'plain_text', text, emoji: false } });
  const caption = (text: string) => ({
    type: 'context',
    elements: [{ type: 'mrkdwn', text, verbatim: true }],
  });

  it.each([
    [
      'Lambda configuration',
      caption('*What will change*: Function configuration'),
      [
        section(
          'MemorySize: 128 → 512\nenvironment variable API_KEY: set (value hidden) → changed (value hidden)',
        ),
      ],
    ],
    [
      'IAM policy attachment',
      caption('*What will change*: Policy attachment'),
      [
        section(
          'policies attached to app: (none) → IAMFullAccess\nIAMFullAccess grants on iam: (not attached) → List, Permissions management',
        ),
        section('⚠ IAMFullAccess grants permissions management: whoever holds it can change permissions'),
      ],
    ],
    [
      'EC2 security group rule',
      caption('*What will change*: Security group rules'),
      [
        section('ingress tcp port 443 from 0.0.0.0/0: not allowed → allowed'),
        section('⚠ opens sg-0abc to the whole internet: tcp port 443'),
      ],
    ],
    [
      'ECS service',
      caption('*What will change*: ECS service'),
      [section('desiredCount: 2 → 6\ntaskDefinition: checkout:7 → checkout:8')],
    ],
    [
      'CloudFormation change set',
      caption('*What will change*: Stack change set'),
      [
        section('Db (AWS::RDS::DBInstance): present → modified, replaced'),
        section('⚠ 1 resource(s) replaced: their data and physical ids may not survive'),
      ],
    ],
  ])('shows the %s preview before → after as plain text', (name, heading, sections) => {
    const preview = PREVIEWS.find(([kind]) => kind === name)![1];

    expect(sessionAndPreviewBlocks({ ...card, preview })).toEqual([heading, ...sections]);
  });

  it('says the preview is unavailable and why', () => {
    expect(
      sessionAndPreviewBlocks({
        ...card,
        preview: { status: 'unavailable', reason: 'the current state could not be read (AccessDenied: no)' },
      }),
    ).toEqual([
      caption('*What will change*'),
      section('Preview unavailable: the current state could not be read (AccessDenied: no)'),
    ]);
  });

  it('keeps a preview read from AWS inert: no mention, link or formatting', () => {
    const blocks = sessionAndPreviewBlocks({
      ...card,
      preview: {
        status: 'available',
        kind: 'ecs-service',
        lines: [{ subject: '<!channel> *now*', before: '<https://evil.example|ok>', after: '1' }],
        notes: [],
      },
    });

    expect(blocks[1]).toEqual(section('&lt;!channel&gt; *now*: &lt;https://evil.example|ok&gt; → 1'));
  });

  it('lists the companions the agent asked for, and says when IAM cannot scope the action', () => {
    expect(
      sessionAndPreviewBlocks({
        ...card,
        companions: ['iam:PassRole on arn:aws:iam::111122223333:role/checkout-task'],
        scopeWarning:
          'IAM cannot limit this action to one resource: the session may make this call on any resource the execution role reaches.',
      }),
    ).toEqual([
      caption('*Also allowed*: listed by the agent, bound to the approval'),
      section('iam:PassRole on arn:aws:iam::111122223333:role/checkout-task'),
      section(
        '⚠ IAM cannot limit this action to one resource: the session may make this call on any resource the execution role reaches.',
      ),
    ]);
  });
});
