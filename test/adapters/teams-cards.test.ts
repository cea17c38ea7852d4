import {
  inertTeamsText,
  teamsApprovalCard,
  type AdaptiveCard,
  type AdaptiveElement,
} from '../../lambdas/adapters/teams-cards';
import fc from 'fast-check';
import { parametersHash } from '../../lambdas/core/canonical';
import {
  approvalCard,
  DISPLAY_LIMITS,
  displayRefusal,
  JUSTIFICATION_LABEL,
  type ApprovalCard,
} from '../../lambdas/core/card';
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

const FUNCTION_ARN = 'arn:aws:lambda:eu-west-1:111122223333:function:billing';

/** A card as the system builds it from a request, so the size bound is checked end to end. */
function cardFor(parameters: Record<string, unknown>, justification: string): ApprovalCard {
  const request = {
    requestId: 'req-0123456789-abcdefghij-0123456789-abcdefghij-0123456789-abcdefghij-012345678',
    agentId: 'reporting-bot-with-a-long-name-to-take-the-most-room-possible-x',
    action: { operation: 'lambda:UpdateFunctionConfiguration', resource: FUNCTION_ARN, parameters },
    parametersHash: parametersHash(parameters),
    justification,
    context: {},
    requestedAt: '2026-11-24T10:00:00Z',
  };
  return approvalCard({
    requestId: request.requestId,
    agentId: request.agentId,
    state: 'awaiting-approval',
    version: 0,
    request,
    policy: {
      outcome: 'require-approval',
      reason: 'changes to production functions need two reviewers from security or platform',
      policyIds: ['p'],
    },
    createdAt: '2026-11-24T10:00:00Z',
    expiresAt: '2026-11-24T10:15:00Z',
    rule: {
      quorum: 2,
      approverGroups: ['security', 'platform'],
      expiresAt: '2026-11-24T10:15:00Z',
      requesterId: 'agent:reporting-bot',
      ownerIds: ['owner@example.com'],
    },
  });
}

/** Text weighted to what costs the most bytes on a card: markup look-alikes, escapes, astral. */
const costlyText = (maxLength: number) =>
  fc.string({
    unit: fc.oneof(
      fc.constantFrom('*', '_', '"', '\\', '<', '😀', 'é', 'a', '\n'),
      fc.string({ maxLength: 1 }),
    ),
    maxLength,
  });

/** The full view's texts: the ShowCard's TextRuns, which no client formats. */
function fullViewRuns(rendered: AdaptiveCard): string[] {
  const set = rendered.body.find((element) => element.type === 'ActionSet');
  if (set?.type !== 'ActionSet') return [];
  return set.actions.flatMap((action) =>
    action.card.body.flatMap((element) =>
      element.type === 'RichTextBlock' ? element.inlines.map((run) => run.text) : [],
    ),
  );
}

describe('Attack class 1: nothing runs that the reviewer could not see', () => {
  it('shows every parameter whole behind "Show all parameters", key then value, verbatim', () => {
    const value = `"${'x'.repeat(500)} *not bold* [not](a link)"`;
    const rendered = teamsApprovalCard({ ...card, parameters: [{ key: 'S3Prefix', value }] });

    const set = rendered.body.find((element) => element.type === 'ActionSet');
    expect(set).toEqual({
      type: 'ActionSet',
      actions: [
        {
          type: 'Action.ShowCard',
          title: 'Show all parameters (1)',
          card: {
            type: 'AdaptiveCard',
            body: [
              {
                type: 'RichTextBlock',
                separator: true,
                inlines: [{ type: 'TextRun', text: 'S3Prefix', weight: 'Bolder', fontType: 'Monospace' }],
              },
              { type: 'RichTextBlock', inlines: [{ type: 'TextRun', text: value, fontType: 'Monospace' }] },
            ],
          },
        },
      ],
    });
  });

  it('flags a risky parameter on the card and gives the reason beside it in the full view', () => {
    const rendered = teamsApprovalCard({
      ...card,
      parameters: [{ key: 'Environment', value: '{}', risky: 'NODE_OPTIONS: loads any code' }],
    });

    expect(allText(rendered)).toContain(
      '⚠ Risky: these change how code runs or where data goes: Environment',
    );
    expect(fullViewRuns(rendered)).toContain('\n⚠ Risky: NODE_OPTIONS: loads any code');
  });

  it('keeps the full view once decided, so what was approved stays readable', () => {
    const rendered = teamsApprovalCard(card, {
      outcome: { status: 'approved', reviewers: ['a@example.com'] },
    });

    expect(fullViewRuns(rendered)).toEqual(['ExportFormat', '"DYNAMODB_JSON"', 'S3Bucket', '"exports"']);
  });

  it('either refuses a request or fits its whole card, every parameter verbatim, in a Teams message', () => {
    fc.assert(
      fc.property(
        fc.dictionary(
          costlyText(40).filter((key) => key.length > 0),
          costlyText(6_000),
          { maxKeys: 12 },
        ),
        costlyText(2_000),
        (parameters, justification) => {
          const built = cardFor(parameters, justification);
          fc.pre(displayRefusal(built) === undefined);

          const rendered = teamsApprovalCard(built, {
            outcome: { status: 'pending', reviewers: ['alice@example.com'], note: '1 of 2 approvals' },
            notice: { tone: 'attention', text: 'Your approve was not counted: you already voted.' },
          });

          expect(Buffer.byteLength(JSON.stringify(rendered), 'utf8')).toBeLessThanOrEqual(
            DISPLAY_LIMITS.teamsCardBytes,
          );
          const runs = fullViewRuns(rendered);
          for (const line of built.parameters) {
            expect(runs).toContain(line.key);
            expect(runs).toContain(line.value);
          }
        },
      ),
      { numRuns: 80 },
    );
  });
});

describe('Attack class 2: agent text is inert and honest', () => {
  it('renders a forged line in a value as \\n inside one TextRun, never as a line of its own', () => {
    const built = cardFor({ Description: 'ok\nRole: arn:aws:iam::111122223333:role/admin' }, 'Needed.');

    const runs = fullViewRuns(teamsApprovalCard(built));

    expect(runs).toContain('"ok\\nRole: arn:aws:iam::111122223333:role/admin"');
    expect(runs.some((run) => run.startsWith('Role:'))).toBe(false);
  });

  it('keeps the resource, operation and agent out of reach of Markdown', () => {
    const rendered = teamsApprovalCard({
      ...card,
      resource: 'arn:aws:s3:::bucket/**bold**_it_[link](https://evil.example)<at>x</at>',
    });

    const facts = rendered.body[1];
    expect(facts.type === 'FactSet' && facts.facts[2].value).toBe(
      'arn:aws:s3:::bucket/∗∗bold∗∗＿it＿［link］(https://evil.example)＜at＞x＜/at＞',
    );
  });
});

describe('Function: teamsApprovalCard, with what the session holds and what will change', () => {
  /** The elements between the full parameters and the justification: where these sit. */
  function sessionAndPreviewElements(shown: ApprovalCard): readonly AdaptiveElement[] {
    const { body } = teamsApprovalCard(shown);
    const start = body.findIndex((element) => element.type === 'ActionSet') + 1;
    const end = body.findIndex(
      (element, index) => index >= start && element.type === 'Container' && element.style === 'warning',
    );
    return body.slice(start, end);
  }
  const heading = (text: string) => ({
    type: 'TextBlock',
    text,
    wrap: true,
    weight: 'Bolder',
    spacing: 'Medium',
  });
  const runs = (text: string, color?: 'Attention') => ({
    type: 'RichTextBlock',
    inlines: [{ type: 'TextRun', text, ...(color ? { color } : {}) }],
  });

  it.each([
    [
      'Lambda configuration',
      [
        heading('What will change: Function configuration'),
        runs(
          'MemorySize: 128 → 512\nenvironment variable API_KEY: set (value hidden) → changed (value hidden)',
        ),
      ],
    ],
    [
      'IAM policy attachment',
      [
        heading('What will change: Policy attachment'),
        runs(
          'policies attached to app: (none) → IAMFullAccess\nIAMFullAccess grants on iam: (not attached) → List, Permissions management',
        ),
        runs(
          '⚠ IAMFullAccess grants permissions management: whoever holds it can change permissions',
          'Attention',
        ),
      ],
    ],
    [
      'EC2 security group rule',
      [
        heading('What will change: Security group rules'),
        runs('ingress tcp port 443 from 0.0.0.0/0: not allowed → allowed'),
        runs('⚠ opens sg-0abc to the whole internet: tcp port 443', 'Attention'),
      ],
    ],
    [
      'ECS service',
      [
        heading('What will change: ECS service'),
        runs('desiredCount: 2 → 6\ntaskDefinition: checkout:7 → checkout:8'),
      ],
    ],
    [
      'CloudFormation change set',
      [
        heading('What will change: Stack change set'),
        runs('Db (AWS::RDS::DBInstance): present → modified, replaced'),
        runs('⚠ 1 resource(s) replaced: their data and physical ids may not survive', 'Attention'),
      ],
    ],
  ])('shows the %s preview before → after as TextRuns, which no client formats', (name, expected) => {
    const preview = PREVIEWS.find(([kind]) => kind === name)![1];

    expect(sessionAndPreviewElements({ ...card, preview })).toEqual(expected);
  });

  it('says the preview is unavailable and why', () => {
    expect(
      sessionAndPreviewElements({
        ...card,
        preview: { status: 'unavailable', reason: 'the current state could not be read (AccessDenied: no)' },
      }),
    ).toEqual([
      heading('What will change'),
      runs('Preview unavailable: the current state could not be read (AccessDenied: no)'),
    ]);
  });

  it('lists the companions the agent asked for, and says when IAM cannot scope the action', () => {
    expect(
      sessionAndPreviewElements({
        ...card,
        companions: ['iam:PassRole on arn:aws:iam::111122223333:role/checkout-task'],
        scopeWarning:
          'IAM cannot limit this action to one resource: the session may make this call on any resource the execution role reaches.',
      }),
    ).toEqual([
      heading('Also allowed: listed by the agent, bound to the approval'),
      runs('iam:PassRole on arn:aws:iam::111122223333:role/checkout-task'),
      {
        type: 'Container',
        style: 'attention',
        items: [
          {
            type: 'TextBlock',
            text: '⚠ IAM cannot limit this action to one resource: the session may make this call on any resource the execution role reaches.',
            wrap: true,
            weight: 'Bolder',
          },
        ],
      },
    ]);
  });
});
