import fc from 'fast-check';
import { AUDIT_RECORD_TYPES, type AuditRecord, type JsonValue } from '../../lambdas/core/audit';
import { canonicalJson } from '../../lambdas/core/canonical';
import { canonicalPlainJson, unsealedCanonicalJson } from '../../lambdas/compliance/canonical-record';

const json: fc.Arbitrary<JsonValue> = fc.jsonValue() as fc.Arbitrary<JsonValue>;
const hex64 = fc.stringMatching(/^[0-9a-f]{64}$/);

const record: fc.Arbitrary<AuditRecord> = fc
  .record(
    {
      requestId: fc.string(),
      seq: fc.nat(),
      at: fc.string(),
      type: fc.constantFrom(...AUDIT_RECORD_TYPES),
      actor: fc.record({ kind: fc.constantFrom('agent', 'reviewer', 'system' as const), id: fc.string() }),
      parametersHash: hex64,
      details: fc.dictionary(fc.string(), json),
      prevHash: hex64,
      hash: hex64,
    },
    { requiredKeys: ['requestId', 'seq', 'at', 'type', 'actor', 'prevHash', 'hash'] },
  )
  .map((fields) => fields as AuditRecord);

/** A record with fields this version does not know, on the record or on its actor. */
const unknownShape: fc.Arbitrary<AuditRecord> = fc
  .tuple(record, fc.dictionary(fc.string(), json, { minKeys: 1 }), fc.boolean())
  .map(([known, extra, onActor]) =>
    onActor
      ? ({ ...known, actor: { ...extra, ...known.actor } } as AuditRecord)
      : ({ ...extra, ...known } as AuditRecord),
  );

const unsealed = ({ hash: _hash, ...rest }: AuditRecord) => rest;

describe('Function: canonicalPlainJson', () => {
  it('writes every JSON value byte for byte as canonicalJson does', () => {
    fc.assert(fc.property(json, (value) => canonicalPlainJson(value) === canonicalJson(value)));
  });
});

describe('Function: unsealedCanonicalJson', () => {
  it('is canonicalJson of the record without its hash, for records of the written shape', () => {
    fc.assert(
      fc.property(record, (value) => unsealedCanonicalJson(value) === canonicalJson(unsealed(value))),
      { numRuns: 500 },
    );
  });

  it('is canonicalJson of the record without its hash, for records with fields it does not know', () => {
    fc.assert(
      fc.property(unknownShape, (value) => unsealedCanonicalJson(value) === canonicalJson(unsealed(value))),
      { numRuns: 500 },
    );
  });

  it('is canonicalJson of the record without its hash, whatever order its fields were read in', () => {
    fc.assert(
      fc.property(record, fc.infiniteStream(fc.nat()), (value, order) => {
        const keys = Object.keys(value).sort(() => (order.next().value % 3) - 1);
        const shuffled = Object.fromEntries(keys.map((key) => [key, value[key as keyof AuditRecord]]));
        return unsealedCanonicalJson(shuffled as unknown as AuditRecord) === canonicalJson(unsealed(value));
      }),
    );
  });
});
