import fc from 'fast-check';
import { canonicalJson, parametersHash, sha256Hex } from '../../lambdas/core/canonical';

describe('Function: canonicalJson', () => {
  // The examples of RFC 8785 §3.2.2 (sorting) and §3.2.3 (numbers and strings).
  it('serializes the RFC 8785 structure example byte for byte', () => {
    const input = JSON.parse(
      '{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],' +
        '"string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/",' +
        '"literals": [null, true, false]}',
    );

    expect(canonicalJson(input)).toBe(
      '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],' +
        '"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}',
    );
  });

  it('sorts keys by UTF-16 code units as RFC 8785 §3.2.3 requires', () => {
    const input = JSON.parse(
      '{"\\u20ac": "Euro Sign", "\\r": "Carriage Return", "\\ufb33": "Hebrew Letter Dalet With Dagesh",' +
        '"1": "One", "\\ud83d\\ude00": "Emoji: Grinning Face", "\\u0080": "Control",' +
        '"\\u00f6": "Latin Small Letter O With Diaeresis"}',
    );

    const output = canonicalJson(input);

    // Object.keys would reorder the integer-like key, so read the order off the text itself.
    const order = ['"\\r"', '"1"', '"\u0080"', '"\u00f6"', '"\u20ac"', '"\ud83d\ude00"', '"\ufb33"'].map(
      (key) => output.indexOf(key),
    );
    expect(order.every((position) => position >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
  });

  it('throws on a value that has no JSON form', () => {
    expect(() => canonicalJson(undefined)).toThrow('value has no JSON representation');
  });
});

describe('Function: parametersHash', () => {
  const json = fc.jsonValue({ maxDepth: 3 });
  const parameters = fc.dictionary(fc.string({ minLength: 1, maxLength: 12 }), json, { minKeys: 1 });

  it('does not depend on key order', () => {
    fc.assert(
      fc.property(parameters, (params) => {
        const reversed = Object.fromEntries(Object.entries(params).reverse());
        expect(parametersHash(reversed)).toBe(parametersHash(params));
      }),
      { numRuns: 1000 },
    );
  });

  it('changes when any parameter value changes', () => {
    fc.assert(
      fc.property(parameters, json, (params, replacement) => {
        const key = Object.keys(params)[0];
        fc.pre(canonicalJson(params[key]) !== canonicalJson(replacement));
        expect(parametersHash({ ...params, [key]: replacement })).not.toBe(parametersHash(params));
      }),
      { numRuns: 1000 },
    );
  });

  it('changes when a parameter is added or removed', () => {
    fc.assert(
      fc.property(parameters, fc.string({ minLength: 1 }), json, (params, key, value) => {
        fc.pre(!(key in params));
        expect(parametersHash({ ...params, [key]: value })).not.toBe(parametersHash(params));
      }),
      { numRuns: 1000 },
    );
  });

  it('is the SHA-256 of the canonical JSON', () => {
    expect(parametersHash({ b: 1, a: [true] })).toBe(sha256Hex('{"a":[true],"b":1}'));
  });

  const companion = fc.record({
    action: fc.stringMatching(/^[a-z0-9]{1,8}:[A-Za-z]{1,12}$/),
    resource: fc.stringMatching(/^arn:aws:[a-z]{1,5}::\d{12}:[a-z/]{1,20}$/),
  });

  it('is the hash of the parameters alone when no companions are listed, as before companions existed', () => {
    fc.assert(
      fc.property(parameters, (params) => {
        expect(parametersHash(params, [])).toBe(sha256Hex(canonicalJson(params)));
        expect(parametersHash(params, undefined)).toBe(sha256Hex(canonicalJson(params)));
      }),
      { numRuns: 200 },
    );
  });

  it('changes when a companion is listed, added or changed', () => {
    fc.assert(
      fc.property(parameters, companion, companion, (params, first, second) => {
        fc.pre(canonicalJson(first) !== canonicalJson(second));
        const withFirst = parametersHash(params, [first]);
        expect(withFirst).not.toBe(parametersHash(params));
        expect(parametersHash(params, [first, second])).not.toBe(withFirst);
        expect(parametersHash(params, [second])).not.toBe(withFirst);
      }),
      { numRuns: 500 },
    );
  });

  it('cannot be matched by parameters that spell out a parameters-and-companions pair', () => {
    fc.assert(
      fc.property(parameters, companion, (params, listed) => {
        const lookalike = { parameters: params, companions: [listed] };
        expect(parametersHash(lookalike)).not.toBe(parametersHash(params, [listed]));
        expect(parametersHash({ 0: params, 1: [listed] })).not.toBe(parametersHash(params, [listed]));
      }),
      { numRuns: 200 },
    );
  });
});
