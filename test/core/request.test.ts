import fc from 'fast-check';
import { IamDataReference } from '../../lambdas/adapters/iam-reference';
import { parametersHash } from '../../lambdas/core/canonical';
import { arnTemplateMatcher, parseActionRequest } from '../../lambdas/core/request';

const iam = new IamDataReference();

function anEvent(
  overrides: { source?: unknown; detail?: Record<string, unknown>; action?: Record<string, unknown> } = {},
) {
  return {
    version: '0',
    id: 'c6f1a1f4-0000-4000-8000-000000000001',
    'detail-type': 'Action Requested',
    source: 'source' in overrides ? overrides.source : 'agent.reporting-bot',
    account: '111122223333',
    time: '2026-11-24T10:00:00Z',
    region: 'eu-west-1',
    resources: [],
    detail: {
      requestId: 'req-0001',
      action: {
        operation: 'dynamodb:ExportTableToPointInTime',
        resource: 'arn:aws:dynamodb:eu-west-1:111122223333:table/orders',
        parameters: { S3Bucket: 'exports-bucket', ExportFormat: 'DYNAMODB_JSON' },
        ...overrides.action,
      },
      justification: 'Quarterly revenue report needs a snapshot of orders.',
      ...overrides.detail,
    },
  };
}

describe('Function: parseActionRequest', () => {
  it('leaves an action IAM cannot scope to the policy, which decides at evaluation', async () => {
    const result = await parseActionRequest(
      anEvent({ action: { operation: 's3:ListAllMyBuckets', resource: 'arn:aws:s3:::reports' } }),
      iam,
    );

    expect(result.ok && result.value.action.operation).toBe('s3:ListAllMyBuckets');
  });

  describe('companions', () => {
    const SERVICE = 'arn:aws:ecs:eu-west-1:111122223333:service/prod/checkout';
    const TASK_ROLE = 'arn:aws:iam::111122223333:role/checkout-task';
    const update = (companions: unknown) =>
      anEvent({
        action: {
          operation: 'ecs:UpdateService',
          resource: SERVICE,
          parameters: { service: 'checkout' },
          companions,
        },
      });

    it('keeps listed companions under their canonical action name and binds them into the parameters hash', async () => {
      const result = await parseActionRequest(update([{ action: 'iam:passrole', resource: TASK_ROLE }]), iam);

      const companions = [{ action: 'iam:PassRole', resource: TASK_ROLE }];
      expect(result.ok && result.value.action.companions).toEqual(companions);
      expect(result.ok && result.value.parametersHash).toBe(
        parametersHash({ service: 'checkout' }, companions),
      );
    });

    it('leaves companions out, and the hash as before, when none are listed', async () => {
      const result = await parseActionRequest(update([]), iam);

      expect(result.ok && result.value.action).toEqual({
        operation: 'ecs:UpdateService',
        resource: SERVICE,
        parameters: { service: 'checkout' },
      });
      expect(result.ok && result.value.parametersHash).toBe(parametersHash({ service: 'checkout' }));
    });

    it('refuses a companion whose resource is not of a type its action accepts', async () => {
      const result = await parseActionRequest(update([{ action: 'iam:PassRole', resource: SERVICE }]), iam);

      expect(!result.ok && result.error.reasons).toEqual([
        `action.companions: companion 1 (iam:PassRole): "${SERVICE}" is not a resource type that iam:PassRole accepts`,
      ]);
    });

    it('refuses a companion with a wildcard resource', async () => {
      const result = await parseActionRequest(
        update([{ action: 'iam:PassRole', resource: 'arn:aws:iam::111122223333:role/*' }]),
        iam,
      );

      expect(!result.ok && result.error.reasons).toEqual([
        'detail.action.companions.0.resource: resource must name one resource: wildcards are not allowed',
      ]);
    });

    it('refuses more companions than the limit', async () => {
      const six = Array.from({ length: 6 }, () => ({ action: 'iam:PassRole', resource: TASK_ROLE }));
      const result = await parseActionRequest(update(six), iam);

      expect(!result.ok && result.error.reasons).toEqual([
        'detail.action.companions: companions may list at most 5 permissions',
      ]);
    });
  });

  it('accepts a well-formed request and takes the agent id from source', async () => {
    const result = await parseActionRequest(anEvent(), iam);

    expect(result).toEqual({
      ok: true,
      value: {
        requestId: 'req-0001',
        agentId: 'reporting-bot',
        action: {
          operation: 'dynamodb:ExportTableToPointInTime',
          resource: 'arn:aws:dynamodb:eu-west-1:111122223333:table/orders',
          parameters: { S3Bucket: 'exports-bucket', ExportFormat: 'DYNAMODB_JSON' },
        },
        parametersHash: parametersHash({ ExportFormat: 'DYNAMODB_JSON', S3Bucket: 'exports-bucket' }),
        justification: 'Quarterly revenue report needs a snapshot of orders.',
        context: {},
        requestedAt: '2026-11-24T10:00:00Z',
      },
    });
  });

  it('normalizes the operation to the case IAM publishes', async () => {
    const result = await parseActionRequest(
      anEvent({ action: { operation: 'dynamodb:exporttabletopointintime' } }),
      iam,
    );

    expect(result.ok && result.value.action.operation).toBe('dynamodb:ExportTableToPointInTime');
  });

  it('keeps the requested ttl and context', async () => {
    const result = await parseActionRequest(
      anEvent({ detail: { ttlSeconds: 600, context: { ticket: 'OPS-1' } } }),
      iam,
    );

    expect(result.ok && [result.value.ttlSeconds, result.value.context]).toEqual([600, { ticket: 'OPS-1' }]);
  });

  it('accepts an S3 object key that holds slashes', async () => {
    const result = await parseActionRequest(
      anEvent({
        action: { operation: 's3:GetObject', resource: 'arn:aws:s3:::reports/2026/q3/summary.csv' },
      }),
      iam,
    );

    expect(result.ok).toBe(true);
  });

  const malformed: ReadonlyArray<[string, unknown, string]> = [
    ['a missing source', anEvent({ source: undefined }), 'source: source is missing'],
    [
      'a source that is not an agent',
      anEvent({ source: 'aws.s3' }),
      'source: source must be "agent.<agentId>"',
    ],
    [
      'a wrong detail-type',
      { ...anEvent(), 'detail-type': 'Action Approved' },
      'detail-type: detail-type must be "Action Requested"',
    ],
    ['a missing detail', { ...anEvent(), detail: undefined }, 'detail: detail must be an object'],
    [
      'a numeric requestId',
      anEvent({ detail: { requestId: 42 } }),
      'detail.requestId: requestId must be a string',
    ],
    [
      'an empty requestId',
      anEvent({ detail: { requestId: '' } }),
      'detail.requestId: requestId must not be empty',
    ],
    [
      'an oversize requestId',
      anEvent({ detail: { requestId: 'r'.repeat(81) } }),
      'detail.requestId: requestId must be at most 80 characters',
    ],
    [
      'a requestId with a slash',
      anEvent({ detail: { requestId: 'a/b' } }),
      'detail.requestId: requestId may contain only letters',
    ],
    [
      'a requestId with a control character',
      anEvent({ detail: { requestId: 'a\u0000b' } }),
      'detail.requestId: requestId may contain only letters',
    ],
    [
      'an agent id smuggled into detail',
      anEvent({ detail: { agentId: 'admin-bot' } }),
      'detail: Unrecognized key: "agentId"',
    ],
    [
      'a missing action',
      anEvent({ detail: { action: undefined } }),
      'detail.action: action must be an object',
    ],
    [
      'an operation that is not an action name',
      anEvent({ action: { operation: 'ExportTable' } }),
      'detail.action.operation: operation must be an IAM action name',
    ],
    [
      'a wildcard operation',
      anEvent({ action: { operation: 'dynamodb:*' } }),
      'detail.action.operation: operation must be an IAM action name',
    ],
    [
      'an operation with a control character',
      anEvent({ action: { operation: 'dynamodb:Scan\u0007' } }),
      'detail.action.operation: operation contains the invisible or control character \\u0007 at position 13',
    ],
    [
      'an unknown operation',
      anEvent({ action: { operation: 'dynamodb:DropEverything' } }),
      'action.operation: "dynamodb:DropEverything" is not an IAM action',
    ],
    [
      'an unknown service',
      anEvent({ action: { operation: 'nosuchservice:DoThing' } }),
      'action.operation: "nosuchservice:DoThing" is not an IAM action',
    ],
    [
      'a resource that is not an ARN',
      anEvent({ action: { resource: 'orders' } }),
      'detail.action.resource: resource must be an ARN',
    ],
    [
      'a wildcard resource',
      anEvent({ action: { resource: 'arn:aws:dynamodb:eu-west-1:111122223333:table/*' } }),
      'wildcards are not allowed',
    ],
    [
      'an ARN of the wrong type',
      anEvent({ action: { resource: 'arn:aws:s3:::exports-bucket' } }),
      'is not a resource type that dynamodb:ExportTableToPointInTime accepts',
    ],
    [
      'an oversize resource',
      anEvent({ action: { resource: `arn:aws:s3:::b/${'k'.repeat(2100)}` } }),
      'detail.action.resource: resource must be at most 2048 characters',
    ],
    [
      'parameters that are not an object',
      anEvent({ action: { parameters: ['a'] } }),
      'detail.action.parameters: parameters must be an object',
    ],
    [
      'oversize parameters',
      anEvent({ action: { parameters: { blob: 'x'.repeat(17_000) } } }),
      'parameters must be at most 16384 bytes as canonical JSON',
    ],
    [
      'an empty justification',
      anEvent({ detail: { justification: '' } }),
      'detail.justification: justification must not be empty',
    ],
    [
      'an oversize justification',
      anEvent({ detail: { justification: 'j'.repeat(2001) } }),
      'justification must be at most 2000 characters',
    ],
    [
      'a justification with an escape sequence',
      anEvent({ detail: { justification: 'ok\u001b[31m' } }),
      'detail.justification: justification contains the invisible or control character \\u001B at position 2',
    ],
    [
      'a justification with a bidi override',
      anEvent({ detail: { justification: 'approve \u202e' } }),
      'detail.justification: justification contains the invisible or control character \\u202E at position 8',
    ],
    [
      'a ttl below the minimum',
      anEvent({ detail: { ttlSeconds: 5 } }),
      'detail.ttlSeconds: ttlSeconds must be at least 60',
    ],
    [
      'a ttl above the maximum',
      anEvent({ detail: { ttlSeconds: 86400 } }),
      'detail.ttlSeconds: ttlSeconds must be at most 3600',
    ],
    [
      'a fractional ttl',
      anEvent({ detail: { ttlSeconds: 90.5 } }),
      'detail.ttlSeconds: ttlSeconds must be a whole number',
    ],
    [
      'a ttl given as text',
      anEvent({ detail: { ttlSeconds: '600' } }),
      'detail.ttlSeconds: ttlSeconds must be a number',
    ],
    [
      'a context value that is not text',
      anEvent({ detail: { context: { ticket: 7 } } }),
      'detail.context.ticket: context value must be a string',
    ],
    [
      'a context with too many entries',
      anEvent({
        detail: { context: Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`k${i}`, 'v'])) },
      }),
      'context may have at most 20 entries',
    ],
  ];

  it.each(malformed)('rejects %s with a specific reason', async (_case, event, reason) => {
    const result = await parseActionRequest(event, iam);

    expect(result.ok).toBe(false);
    expect(!result.ok && result.error.reasons.join('\n')).toContain(reason);
  });

  it('rejects a value that is not an event at all', async () => {
    const result = await parseActionRequest('not an event', iam);

    expect(!result.ok && result.error.reasons).toEqual([
      'the event must be an EventBridge event object',
      'detail: detail must be an object',
    ]);
  });

  it('reports every problem at once, not only the first', async () => {
    const result = await parseActionRequest(anEvent({ detail: { justification: '', ttlSeconds: 1 } }), iam);

    expect(!result.ok && result.error.reasons).toHaveLength(2);
  });

  it('keeps the request and agent ids of a rejected request so the rejection can be attributed', async () => {
    const result = await parseActionRequest(anEvent({ detail: { justification: '' } }), iam);

    expect(!result.ok && [result.error.requestId, result.error.agentId]).toEqual([
      'req-0001',
      'reporting-bot',
    ]);
  });
});

describe('Function: arnTemplateMatcher', () => {
  it('keeps names without a path to one segment', () => {
    const table = arnTemplateMatcher('arn:${Partition}:dynamodb:${Region}:${Account}:table/${TableName}');

    expect([
      table.test('arn:aws:dynamodb:us-east-1:111122223333:table/orders'),
      table.test('arn:aws:dynamodb:us-east-1:111122223333:table/orders/index/byDate'),
    ]).toEqual([true, false]);
  });

  it('lets role paths hold slashes', () => {
    const role = arnTemplateMatcher('arn:${Partition}:iam::${Account}:role/${RoleNameWithPath}');

    expect(role.test('arn:aws:iam::111122223333:role/service/deployer')).toBe(true);
  });
});

describe('Attack class 2: agent text is inert and honest', () => {
  // One of each family a reviewer cannot see: controls, bidi overrides and isolates, zero-width
  // characters, separators, BOM, soft hyphen, tag characters, variation selectors, fillers.
  const INVISIBLE = [
    '\u0000',
    '\u0007',
    '\u000d',
    '\u001b',
    '\u007f',
    '\u0085',
    '\u00a0',
    '\u00ad',
    '\u034f',
    '\u061c',
    '\u115f',
    '\u180e',
    '\u200b',
    '\u200c',
    '\u200d',
    '\u200e',
    '\u200f',
    '\u2028',
    '\u2029',
    '\u202a',
    '\u202e',
    '\u2060',
    '\u2066',
    '\u2069',
    '\u3164',
    '\ufe0f',
    '\ufeff',
    '\u{e0001}',
    '\u{e0041}',
    '\u{e007f}',
    '\u{e0100}',
  ];
  const escaped = (character: string): string => {
    const codePoint = character.codePointAt(0) ?? 0;
    const hex = codePoint.toString(16).toUpperCase();
    return codePoint > 0xffff ? `\\u{${hex}}` : `\\u${hex.padStart(4, '0')}`;
  };
  const inject = (text: string, at: number, character: string): string =>
    `${text.slice(0, at)}${character}${text.slice(at)}`;

  // Each field the agent writes, and how to put a text in it.
  const FIELDS: readonly [string, (text: string) => ReturnType<typeof anEvent>, string][] = [
    ['justification', (text) => anEvent({ detail: { justification: `ok ${text}` } }), 'detail.justification'],
    ['a context key', (text) => anEvent({ detail: { context: { [`k${text}`]: 'v' } } }), 'detail.context'],
    ['a context value', (text) => anEvent({ detail: { context: { ticket: `v${text}` } } }), 'detail.context'],
    [
      'a top-level parameter value',
      (text) => anEvent({ action: { parameters: { S3Bucket: `exports${text}` } } }),
      'detail.action.parameters.S3Bucket',
    ],
    [
      'a nested parameter value',
      (text) =>
        anEvent({
          action: {
            operation: 'lambda:UpdateFunctionConfiguration',
            resource: 'arn:aws:lambda:eu-west-1:111122223333:function:billing',
            parameters: { Environment: { Variables: { MODE: `fast${text}` } } },
          },
        }),
      'detail.action.parameters.Environment.Variables.MODE',
    ],
    [
      'a parameter value inside an array',
      (text) => anEvent({ action: { parameters: { Tags: ['a', `b${text}`] } } }),
      'detail.action.parameters.Tags.[1]',
    ],
    [
      'a nested parameter key',
      (text) =>
        anEvent({
          action: {
            operation: 'lambda:UpdateFunctionConfiguration',
            resource: 'arn:aws:lambda:eu-west-1:111122223333:function:billing',
            parameters: { Environment: { Variables: { [`MODE${text}`]: 'fast' } } },
          },
        }),
      'detail.action.parameters.Environment.Variables',
    ],
    [
      'a top-level parameter key',
      (text) => anEvent({ action: { parameters: { [`S3Bucket${text}`]: 'exports' } } }),
      'detail.action.parameters',
    ],
    [
      'the resource',
      (text) =>
        anEvent({ action: { resource: `arn:aws:dynamodb:eu-west-1:111122223333:table/orders${text}` } }),
      'detail.action.resource',
    ],
    [
      'the operation',
      (text) => anEvent({ action: { operation: `dynamodb:Scan${text}` } }),
      'detail.action.operation',
    ],
  ];

  it.each(FIELDS)(
    'refuses a right-to-left override in %s, naming the field and \\u202E',
    async (_, build, path) => {
      // Act
      const result = await parseActionRequest(build('\u202e'), iam);

      // Assess
      expect(result.ok).toBe(false);
      const reasons = result.ok ? [] : result.error.reasons;
      expect(reasons.some((reason) => reason.startsWith(path) && reason.includes('\\u202E'))).toBe(true);
      // The reason names the character without carrying it.
      for (const reason of reasons) expect(reason).not.toContain('\u202e');
    },
  );

  it('refuses any invisible or control character injected anywhere into any agent field', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...FIELDS),
        fc.constantFrom(...INVISIBLE),
        fc.stringMatching(/^[A-Za-z0-9]{0,20}$/),
        fc.nat(),
        async ([name, build], character, text, at) => {
          // Parameter values may hold line breaks: cards show them escaped (tested on the card).
          fc.pre(!(name.includes('parameter value') && character === '\r'));
          const result = await parseActionRequest(
            build(inject(text, at % (text.length + 1), character)),
            iam,
          );

          expect(result.ok).toBe(false);
          const reasons = result.ok ? [] : result.error.reasons;
          expect(reasons.join('\n')).toContain(escaped(character));
          for (const reason of reasons) expect(reason).not.toContain(character);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('keeps line breaks and tabs in the justification, which cards show in its own block', async () => {
    const result = await parseActionRequest(
      anEvent({ detail: { justification: 'Line one.\n\tLine two.' } }),
      iam,
    );

    expect(result.ok && result.value.justification).toBe('Line one.\n\tLine two.');
  });

  it('keeps line breaks in parameter values, which cards show escaped as \\n', async () => {
    const result = await parseActionRequest(
      anEvent({ action: { parameters: { S3Bucket: 'exports', Description: 'a\nb' } } }),
      iam,
    );

    expect(result.ok).toBe(true);
  });

  it('refuses a line break in a parameter key, which would forge a line on the card', async () => {
    const result = await parseActionRequest(
      anEvent({ action: { parameters: { 'S3Bucket\nS3BucketOwner': 'exports' } } }),
      iam,
    );

    expect(!result.ok && result.error.reasons.join('\n')).toContain('\\u000A');
  });

  it('refuses a lone surrogate, which renders as a replacement character', async () => {
    const result = await parseActionRequest(anEvent({ detail: { justification: 'ok \ud800 ok' } }), iam);

    expect(!result.ok && result.error.reasons.join('\n')).toContain('\\uD800');
  });
});

describe('Attack class 4: a failure touches only its own request', () => {
  it.each([
    ['s3:constructor'],
    ['s3:__proto__'],
    ['constructor:GetObject'],
    ['__proto__:x'],
    ['s3:toString'],
    ['s3:hasOwnProperty'],
    ['hasOwnProperty:GetObject'],
  ])('rejects the operation "%s" with a reason instead of failing the workflow', async (operation) => {
    const parsed = await parseActionRequest(anEvent({ action: { operation } }), iam);

    expect(parsed).toEqual({
      ok: false,
      error: expect.objectContaining({ reasons: [expect.stringContaining('action.operation')] }),
    });
  });
});
