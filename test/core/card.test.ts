import fc from 'fast-check';
import { parametersHash } from '../../lambdas/core/canonical';
import {
  approvalCard,
  DISPLAY_LIMITS,
  displayRefusal,
  parameterLines,
  worstCaseBytes,
} from '../../lambdas/core/card';
import type { RequestRecord } from '../../lambdas/core/lifecycle';
import type { ActionRequest } from '../../lambdas/core/types';

const FUNCTION_ARN = 'arn:aws:lambda:eu-west-1:111122223333:function:billing';

function aRequest(action: Partial<ActionRequest['action']> = {}, justification = 'Needed.'): ActionRequest {
  const parameters = action.parameters ?? { S3Bucket: 'exports' };
  return {
    requestId: 'req-1',
    agentId: 'reporting-bot',
    action: {
      operation: action.operation ?? 'dynamodb:ExportTableToPointInTime',
      resource: action.resource ?? 'arn:aws:dynamodb:eu-west-1:111122223333:table/orders',
      parameters,
      ...(action.companions ? { companions: action.companions } : {}),
    },
    parametersHash: parametersHash(parameters, action.companions),
    justification,
    context: {},
    requestedAt: '2026-11-24T10:00:00Z',
  };
}

function aRecord(request: ActionRequest): RequestRecord {
  return {
    requestId: request.requestId,
    agentId: request.agentId,
    state: 'awaiting-approval',
    version: 0,
    request,
    policy: { outcome: 'require-approval', reason: 'needs review', policyIds: ['p'] },
    createdAt: '2026-11-24T10:00:00Z',
    expiresAt: '2026-11-24T10:15:00Z',
  };
}

/** JSON values as an agent could send them, in printable text (invisible text is refused at parse). */
const jsonValue = fc.jsonValue({ maxDepth: 3 });
const parameters = fc.dictionary(fc.string({ minLength: 1, maxLength: 30 }), jsonValue, { maxKeys: 30 });

describe('Attack class 1: nothing runs that the reviewer could not see', () => {
  it('carries every parameter of thirty, each value in full however long', () => {
    // Prepare: more parameters than the old card showed (12), values longer than it kept (80).
    const many = Object.fromEntries(
      Array.from({ length: 30 }, (_, index) => [
        `Key${String(index).padStart(2, '0')}`,
        `v${'x'.repeat(500)}${index}`,
      ]),
    );

    // Act
    const card = approvalCard(aRecord(aRequest({ parameters: many })));

    // Assess
    expect(card.parameters.map((line) => line.key)).toEqual(Object.keys(many).sort());
    for (const line of card.parameters) expect(JSON.parse(line.value)).toBe(many[line.key]);
  });

  it('shows a NODE_OPTIONS hidden past the 80th character of the environment', () => {
    // Prepare
    const environment = {
      Variables: { A_LONG_PADDING: 'p'.repeat(120), NODE_OPTIONS: '--require /opt/evil.js' },
    };

    // Act
    const card = approvalCard(
      aRecord(
        aRequest({
          operation: 'lambda:UpdateFunctionConfiguration',
          resource: FUNCTION_ARN,
          parameters: { Environment: environment },
        }),
      ),
    );

    // Assess
    const [line] = card.parameters;
    expect(line.value).toContain('"NODE_OPTIONS": "--require /opt/evil.js"');
    expect(line.risky).toContain('NODE_OPTIONS');
    expect(card.parameterSummary[0].startsWith('⚠ Environment: ')).toBe(true);
  });

  it('flags a layer published by another account than the function’s', () => {
    const card = approvalCard(
      aRecord(
        aRequest({
          operation: 'lambda:UpdateFunctionConfiguration',
          resource: FUNCTION_ARN,
          parameters: { Layers: ['arn:aws:lambda:eu-west-1:999988887777:layer:shim:3'] },
        }),
      ),
    );

    expect(card.parameters[0].risky).toContain('published by account 999988887777');
  });

  it('flags an export encrypted with, or sent to, another account', () => {
    const card = approvalCard(
      aRecord(
        aRequest({
          parameters: {
            S3Bucket: 'exports',
            S3BucketOwner: '999988887777',
            S3SseAlgorithm: 'KMS',
            S3SseKmsKeyId: 'arn:aws:kms:eu-west-1:999988887777:key/1234',
          },
        }),
      ),
    );

    expect(card.parameters.filter((line) => line.risky).map((line) => line.key)).toEqual([
      'S3BucketOwner',
      'S3SseKmsKeyId',
    ]);
  });

  it('gives every key and the whole value of arbitrary parameters, as JSON that reads back to them', () => {
    fc.assert(
      fc.property(parameters, (generated) => {
        const lines = parameterLines(aRequest({ parameters: generated }));

        expect(lines.map((line) => line.key)).toEqual(Object.keys(generated).sort());
        for (const line of lines) {
          expect(JSON.parse(line.value)).toEqual(JSON.parse(JSON.stringify(generated[line.key])));
        }
      }),
      { numRuns: 200 },
    );
  });

  it('refuses, rather than cuts, parameters too large for a Teams card', () => {
    const card = approvalCard(
      aRecord(aRequest({ parameters: { S3Prefix: 'a'.repeat(DISPLAY_LIMITS.teamsCardBytes) } })),
    );

    expect(displayRefusal(card)).toMatch(/too large for a reviewer to read in full/);
  });

  it('accepts an ordinary request', () => {
    expect(displayRefusal(approvalCard(aRecord(aRequest())))).toBeUndefined();
  });
});

describe('Attack class 2: agent text is inert and honest', () => {
  it('shows a value’s line break as \\n, so it cannot forge another parameter line', () => {
    const [line] = parameterLines(
      aRequest({ parameters: { Description: 'fine\nS3BucketOwner: 111122223333' } }),
    );

    expect(line.value).toBe('"fine\\nS3BucketOwner: 111122223333"');
    expect(line.value).not.toContain('\n');
  });

  it('never lets a line break in a key or value start a line of its own, in the summary or the full view', () => {
    const withBreaks = fc.string({
      unit: fc.constantFrom('a', ':', ' ', '\n', '\r', '\u2028', '"'),
      maxLength: 40,
    });
    fc.assert(
      fc.property(
        fc.dictionary(withBreaks, fc.oneof(withBreaks, fc.array(withBreaks)), { maxKeys: 20 }),
        (generated) => {
          const card = approvalCard(aRecord(aRequest({ parameters: generated })));

          const count = Object.keys(generated).length;
          expect(card.parameterSummary).toHaveLength(count > 12 ? 13 : count);
          for (const line of card.parameterSummary) expect(line).not.toMatch(/[\n\r\u2028]/);
          const values = Object.entries(generated)
            .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
            .map(([, value]) => value);
          for (const [index, line] of card.parameters.entries()) {
            expect(line.key).not.toMatch(/[\n\r\u2028]/);
            // JSON admits no raw line break inside a string: reading the value back proves every break
            // within a string is escaped; the breaks left are the structure's, between members.
            expect(JSON.parse(line.value)).toEqual(values[index]);
            for (const text of line.value.split('\n')) expect(text).not.toMatch(/[\r\u2028]/);
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('never renders a raw invisible character, even from a record stored before parsing refused them', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', maxLength: 40 }),
        fc.constantFrom('\u202e', '\u200b', '\u2028', '\ufeff', '\u00ad', '\u{e0041}', '\u2066'),
        (text, hidden) => {
          const card = approvalCard(
            aRecord(
              aRequest({ parameters: { [`k${hidden}${text}`]: `${text}${hidden}` } }, `${hidden}${text}`),
            ),
          );

          const rendered = [
            card.justification,
            ...card.parameterSummary,
            ...card.parameters.flatMap((l) => [l.key, l.value]),
          ];
          for (const shown of rendered) expect(shown).not.toMatch(/[\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/u);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('never splits a surrogate pair when the summary shortens a value', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', minLength: 60, maxLength: 200 }), (text) => {
        const card = approvalCard(aRecord(aRequest({ parameters: { Key: `${'😀'.repeat(50)}${text}` } })));

        expect(card.parameterSummary[0]).not.toMatch(
          /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/,
        );
      }),
      { numRuns: 200 },
    );
  });
});

describe('Function: worstCaseBytes', () => {
  it('counts markup characters as their 3-byte look-alikes and escapes as 2 bytes', () => {
    expect(worstCaseBytes('a*"\\é😀')).toBe(1 + 3 + 2 + 2 + 2 + 4);
  });
});

describe('Companions, scope and preview on the card', () => {
  const SERVICE = 'arn:aws:ecs:eu-west-1:111122223333:service/prod/checkout';
  const TASK_ROLE = 'arn:aws:iam::111122223333:role/checkout-task';

  it('lists each companion the agent asked for as an action on a resource', () => {
    const request = aRequest({
      operation: 'ecs:UpdateService',
      resource: SERVICE,
      parameters: { service: 'checkout' },
      companions: [{ action: 'iam:PassRole', resource: TASK_ROLE }],
    });

    expect(approvalCard(aRecord(request)).companions).toEqual([`iam:PassRole on ${TASK_ROLE}`]);
  });

  it('says in words that IAM cannot limit an unscoped action to one resource', () => {
    const card = approvalCard({ ...aRecord(aRequest()), unscopedResource: true });

    expect(card.scopeWarning).toBe(
      'IAM cannot limit this action to one resource: the session may make this call on any resource the execution role reaches.',
    );
  });

  it('carries neither when the request has no companions and IAM scopes the action', () => {
    const card = approvalCard(aRecord(aRequest()));

    expect(card).not.toHaveProperty('companions');
    expect(card).not.toHaveProperty('scopeWarning');
  });

  it('carries the preview the request was read with', () => {
    const preview = {
      status: 'available',
      kind: 'ecs-service',
      lines: [{ subject: 'desiredCount', before: '2', after: '6' }],
      notes: [],
    } as const;

    expect(approvalCard({ ...aRecord(aRequest()), preview }).preview).toEqual(preview);
  });

  it('keeps as many preview lines as fit beside the largest parameters, counting the rest, so the card still shows', () => {
    // Prepare: parameters that leave little room, and a preview of many long lines.
    const record = aRecord(aRequest({ parameters: { Big: 'x'.repeat(16_000) } }));
    const lines = Array.from({ length: 20 }, (_, index) => ({
      subject: `Resource${index} (AWS::SQS::Queue)`,
      before: '(absent)',
      after: 'added'.padEnd(150, '!'),
    }));
    const preview = { status: 'available', kind: 'cloudformation-change-set', lines, notes: [] } as const;

    // Act
    const card = approvalCard({ ...record, preview });

    // Assess
    expect(displayRefusal(card)).toBeUndefined();
    expect(card.preview?.status === 'available' && card.preview.lines.length).toBeLessThan(20);
    expect(card.preview?.status === 'available' && card.preview.notes.at(-1)).toMatch(
      /^… \d+ more changes not shown: too many for a card$/,
    );
  });
});
