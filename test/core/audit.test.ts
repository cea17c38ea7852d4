import fc from 'fast-check';
import {
  appendRecord,
  AUDIT_RECORD_TYPES,
  TERMINAL_RECORD_TYPES,
  GENESIS_HASH,
  hashRecord,
  terminalRecord,
  verifyChain,
  type AuditEvent,
  type AuditRecord,
} from '../../lambdas/core/audit';

const event = (type: AuditEvent['type'], overrides: Partial<AuditEvent> = {}): AuditEvent => ({
  requestId: 'req-1',
  at: '2026-11-24T10:00:00.000Z',
  type,
  actor: { kind: 'system', id: 'evaluate' },
  parametersHash: 'a'.repeat(64),
  ...overrides,
});

const chainOf = (events: readonly AuditEvent[]): AuditRecord[] =>
  events.reduce<AuditRecord[]>((chain, next) => [...chain, appendRecord(chain.at(-1), next)], []);

const happyPath = chainOf([
  event('requested', { actor: { kind: 'agent', id: 'bot' } }),
  event('policy-evaluated', { details: { outcome: 'require-approval' } }),
  event('approval-requested'),
  event('vote', { actor: { kind: 'reviewer', id: 'alice@example.com' }, details: { decision: 'approve' } }),
  event('approved'),
  event('credentials-issued', { details: { accessKeyId: 'ASIAEXAMPLE' } }),
  event('executed'),
]);

describe('Function: appendRecord', () => {
  it('starts a chain at seq 0 pointing at the genesis hash', () => {
    const first = appendRecord(undefined, event('requested'));

    expect([first.seq, first.prevHash]).toEqual([0, GENESIS_HASH]);
  });

  it('links each record to the hash of the one before', () => {
    expect(happyPath.slice(1).every((record, i) => record.prevHash === happyPath[i].hash)).toBe(true);
  });

  it('seals the record with the SHA-256 of its content without the hash', () => {
    const { hash, ...unsealed } = happyPath[3];

    expect(hash).toBe(hashRecord(unsealed));
  });

  it('refuses to chain records of two different requests', () => {
    expect(() => appendRecord(happyPath[0], event('vote', { requestId: 'req-2' }))).toThrow(
      'cannot chain a record of req-2 after one of req-1',
    );
  });
});

describe('Function: verifyChain', () => {
  it('accepts an untouched chain', () => {
    expect(verifyChain(happyPath)).toEqual({ ok: true, records: 7 });
  });

  it('names the first edited record', () => {
    const edited = happyPath.map((record, i) =>
      i === 3 ? { ...record, actor: { kind: 'reviewer' as const, id: 'mallory' } } : record,
    );

    expect(verifyChain(edited)).toEqual({
      ok: false,
      index: 3,
      seq: 3,
      reason: 'hash does not match the record’s content',
    });
  });

  it('detects a deleted record', () => {
    const deleted = happyPath.filter((_, i) => i !== 2);

    expect(verifyChain(deleted)).toMatchObject({ ok: false, index: 2, reason: 'seq is 3, expected 2' });
  });

  it('detects a record re-sealed after an edit by its broken link', () => {
    const { hash: _hash, ...unsealed } = { ...happyPath[3], details: { decision: 'deny' } };
    const resealed = [
      ...happyPath.slice(0, 3),
      { ...unsealed, hash: hashRecord(unsealed) },
      ...happyPath.slice(4),
    ];

    expect(verifyChain(resealed)).toMatchObject({
      ok: false,
      index: 4,
      reason: 'prevHash does not match the previous record’s hash',
    });
  });

  it('detects a record after the terminal one', () => {
    const extended = [...happyPath, appendRecord(happyPath.at(-1), event('vote'))];

    expect(verifyChain(extended)).toMatchObject({
      ok: false,
      index: 7,
      reason: 'follows the terminal record "executed"',
    });
  });

  it('detects a record of another request spliced in', () => {
    const other = chainOf([
      event('requested', { requestId: 'req-2' }),
      event('denied', { requestId: 'req-2' }),
    ]);
    const spliced = [happyPath[0], { ...other[1], seq: 1, prevHash: happyPath[0].hash }];
    const { hash: _hash, ...unsealed } = spliced[1];
    spliced[1] = { ...unsealed, hash: hashRecord(unsealed) };

    expect(verifyChain(spliced)).toMatchObject({
      ok: false,
      index: 1,
      reason: 'belongs to request req-2, not req-1',
    });
  });

  const anEvent = fc.record({
    type: fc.constantFrom(...AUDIT_RECORD_TYPES.filter((type) => !TERMINAL_RECORD_TYPES.has(type))),
    at: fc
      .date({ min: new Date('2026-01-01'), max: new Date('2027-01-01'), noInvalidDate: true })
      .map((d) => d.toISOString()),
    actor: fc.record({
      kind: fc.constantFrom('agent' as const, 'reviewer' as const, 'system' as const),
      id: fc.string({ minLength: 1 }),
    }),
    details: fc.dictionary(fc.string(), fc.oneof(fc.string(), fc.integer(), fc.boolean())),
  });
  const aChain = fc
    .array(anEvent, { minLength: 2, maxLength: 12 })
    .map((events) =>
      chainOf(events.map((e) => ({ ...e, requestId: 'req-p', parametersHash: 'b'.repeat(64) }))),
    );

  it('detects any edit of any field of any record', () => {
    fc.assert(
      fc.property(aChain, fc.nat(), fc.string(), (chain, position, text) => {
        const index = position % chain.length;
        const original = chain[index];
        fc.pre(original.actor.id !== text);
        const tampered = chain.map((record, i) =>
          i === index ? { ...record, actor: { ...record.actor, id: text } } : record,
        );
        expect(verifyChain(tampered)).toMatchObject({ ok: false, index });
      }),
      { numRuns: 1000 },
    );
  });

  it('detects any deletion', () => {
    fc.assert(
      fc.property(aChain, fc.nat(), (chain, position) => {
        const index = position % (chain.length - 1);
        expect(verifyChain(chain.filter((_, i) => i !== index)).ok).toBe(false);
      }),
      { numRuns: 1000 },
    );
  });

  it('detects any insertion, even of a correctly sealed record', () => {
    fc.assert(
      fc.property(aChain, fc.nat(), anEvent, (chain, position, extra) => {
        const index = position % chain.length;
        const intruder = appendRecord(chain[index - 1], { ...extra, requestId: 'req-p' });
        expect(verifyChain([...chain.slice(0, index), intruder, ...chain.slice(index)]).ok).toBe(false);
      }),
      { numRuns: 1000 },
    );
  });

  it('detects any reordering', () => {
    fc.assert(
      fc.property(aChain, fc.nat(), fc.nat(), (chain, a, b) => {
        const [i, j] = [a % chain.length, b % chain.length];
        fc.pre(i !== j);
        const swapped = [...chain];
        [swapped[i], swapped[j]] = [swapped[j], swapped[i]];
        expect(verifyChain(swapped).ok).toBe(false);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('Function: terminalRecord', () => {
  it('returns the record that ended the request', () => {
    expect(terminalRecord(happyPath)?.type).toBe('executed');
  });

  it('returns nothing while the request is still open', () => {
    expect(terminalRecord(happyPath.slice(0, 4))).toBeUndefined();
  });
});
