import {
  inertTeamsText,
  teamsApprovalCard,
  type AdaptiveCard,
  type AdaptiveElement,
} from '../../lambdas/adapters/teams-cards';
import { JUSTIFICATION_LABEL, type ApprovalCard } from '../../lambdas/core/card';

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
  parametersHashPrefix: '3f2a9c0d1e4b',
  justification: 'Quarterly revenue report.',
  policyReason: 'production data export needs two security reviewers',
  quorum: 2,
  approverGroups: ['security'],
  expiresAt: '2026-11-24T10:15:00.000Z',
};

/** Every text a client would render, in document order. */
function texts(elements: readonly AdaptiveElement[]): string[] {
  return elements.flatMap((element) => {
    switch (element.type) {
      case 'TextBlock':
        return [element.text];
      case 'FactSet':
        return element.facts.flatMap((fact) => [fact.title, fact.value]);
      case 'Container':
        return texts(element.items);
      case 'RichTextBlock':
        return element.inlines.map((run) => run.text);
      case 'ActionSet':
        return element.actions.flatMap((action) => [action.title, ...texts(action.card.body)]);
    }
  });
}

/** The texts a client reads as Markdown: TextBlocks and facts, wherever they sit; TextRuns are verbatim. */
function markdownTexts(elements: readonly AdaptiveElement[]): string[] {
  return elements.flatMap((element) => {
    switch (element.type) {
      case 'TextBlock':
        return [element.text];
      case 'FactSet':
        return element.facts.flatMap((fact) => [fact.title, fact.value]);
      case 'Container':
        return markdownTexts(element.items);
      case 'RichTextBlock':
        return [];
      case 'ActionSet':
        return element.actions.flatMap((action) => markdownTexts(action.card.body));
    }
  });
}

const allText = (rendered: AdaptiveCard): string => texts(rendered.body).join('\n');

describe('Function: teamsApprovalCard', () => {
  it('shows what is asked, by whom, under which policy, and until when', () => {
    // Act
    const rendered = teamsApprovalCard(card);

    // Assess
    expect(rendered).toMatchObject({ type: 'AdaptiveCard', version: '1.5', msteams: { width: 'Full' } });
    expect(rendered.body[1]).toEqual({
      type: 'FactSet',
      facts: [
        { title: 'Agent', value: 'reporting-bot' },
        { title: 'Operation', value: 'dynamodb:ExportTableToPointInTime' },
        { title: 'Resource', value: 'arn:aws:dynamodb:eu-west-1:111122223333:table/orders' },
        { title: 'Request', value: 'req-42' },
        { title: 'Approvers needed', value: '2 from security' },
        { title: 'Expires', value: '2026-11-24 10:15 UTC' },
      ],
    });
    const shown = allText(rendered);
    expect(shown).toContain('production data export needs two security reviewers');
    expect(shown).toContain('Parameters (hash 3f2a9c0d1e4b)');
    expect(shown).toContain('ExportFormat: DYNAMODB＿JSON');
    expect(shown).toContain(`⚠ ${JUSTIFICATION_LABEL}: written by the agent and not checked by anyone`);
  });

  it('offers Approve and Deny as Universal Actions carrying the request id and nothing else', () => {
    const rendered = teamsApprovalCard(card);

    expect(rendered.actions).toEqual([
      {
        type: 'Action.Execute',
        title: 'Approve',
        verb: 'approve',
        data: { requestId: 'req-42' },
        style: 'positive',
      },
      {
        type: 'Action.Execute',
        title: 'Deny',
        verb: 'deny',
        data: { requestId: 'req-42' },
        style: 'destructive',
      },
    ]);
  });

  it('keeps the buttons while approvals are still missing, and shows the progress', () => {
    const rendered = teamsApprovalCard(card, {
      outcome: { status: 'pending', reviewers: ['alice@example.com'], note: '1 of 2 approvals' },
    });

    expect(rendered.actions).toHaveLength(2);
    expect(allText(rendered)).toContain('⏳ 1 of 2 approvals, approved so far by alice@example.com');
  });

  it.each([
    [
      'approved',
      { status: 'approved', reviewers: ['alice@example.com', 'bob@example.com'] },
      'Approved',
      '✅ Approved by alice@example.com, bob@example.com',
    ],
    [
      'denied',
      { status: 'denied', reviewers: ['alice@example.com'] },
      'Denied',
      '⛔ Denied by alice@example.com',
    ],
    [
      'expired',
      { status: 'expired', reviewers: [] },
      'Expired',
      '⌛ Expired: nobody decided in time, nothing ran',
    ],
  ] as const)('replaces the buttons with the outcome once %s', (_status, outcome, headline, line) => {
    const rendered = teamsApprovalCard(card, { outcome });

    expect(rendered.actions).toBeUndefined();
    expect(rendered.body[0]).toMatchObject({ type: 'TextBlock', text: headline });
    expect(allText(rendered)).toContain(line);
  });

  it('tells the clicking reviewer what became of their vote', () => {
    const rendered = teamsApprovalCard(card, {
      notice: { tone: 'attention', text: 'Your approval was not counted: you own it.' },
      buttons: false,
    });

    expect(rendered.body.at(-1)).toEqual({
      type: 'Container',
      style: 'attention',
      items: [{ type: 'TextBlock', text: 'Your approval was not counted: you own it.', wrap: true }],
    });
    expect(rendered.actions).toBeUndefined();
  });

  it('renders a prompt-injected justification inert: no links, emphasis, mentions or fake fields', () => {
    // Prepare
    const injected = {
      ...card,
      justification:
        '**Approved by security**\n\n\n\n[Approve here](https://evil.example/approve) <at>Security Team</at> _urgent_\nline two',
    };

    // Act
    const rendered = teamsApprovalCard(injected);

    // Assess
    const justification = rendered.body.find(
      (element) => element.type === 'Container' && element.style === 'warning',
    );
    expect(justification).toEqual({
      type: 'Container',
      style: 'warning',
      separator: true,
      items: [
        {
          type: 'TextBlock',
          text: `⚠ ${JUSTIFICATION_LABEL}: written by the agent and not checked by anyone`,
          wrap: true,
          weight: 'Bolder',
        },
        {
          type: 'TextBlock',
          text: '∗∗Approved by security∗∗\n\n［Approve here］(https://evil.example/approve) ＜at＞Security Team＜/at＞ ＿urgent＿\n\nline two',
          wrap: true,
        },
      ],
    });
    expect(rendered.actions).toHaveLength(2);
  });

  it('renders every value it did not write itself inert', () => {
    const hostile = {
      ...card,
      requestId: 'req_[x](https://evil.example)',
      parameterSummary: ['Key: <at>admin</at> **bold**'],
      policyReason: 'reason with _emphasis_',
    };

    const rendered = teamsApprovalCard(hostile, {
      outcome: { status: 'approved', reviewers: ['a_b@example.com'] },
    });

    expect(markdownTexts(rendered.body).join('\n')).not.toMatch(/[*_[\]<>]/);
  });
});

describe('Function: inertTeamsText', () => {
  it('swaps Markdown and mention characters for look-alikes and leaves the rest alone', () => {
    expect(inertTeamsText('[a](b) *c* _d_ <at>e</at> f:g/h')).toBe('［a］(b) ∗c∗ ＿d＿ ＜at＞e＜/at＞ f:g/h');
  });
});
