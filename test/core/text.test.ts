import fc from 'fast-check';
import {
  codePointPrefix,
  escapedCodePoint,
  firstInvisibleCharacter,
  shortened,
  visiblyEscaped,
} from '../../lambdas/core/text';

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

describe('Attack class 2: agent text is inert and honest', () => {
  it('never leaves half a surrogate pair when it cuts text', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), fc.nat(220), (text, max) => {
        fc.pre(!LONE_SURROGATE.test(text));

        const prefix = codePointPrefix(text, max);

        expect(prefix.length).toBeLessThanOrEqual(max);
        expect(text.startsWith(prefix)).toBe(true);
        expect(prefix).not.toMatch(LONE_SURROGATE);
        expect(shortened(text, Math.max(max, 1))).not.toMatch(LONE_SURROGATE);
      }),
    );
  });

  it('cuts before an emoji rather than through it', () => {
    expect(shortened('ab😀cd', 4)).toBe('ab…');
  });

  it('escapes every invisible character it is given, leaving the rest as it was', () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 30 }),
        fc.constantFrom(
          '\u202e',
          '\u2066',
          '\u200b',
          '\u200d',
          '\u2028',
          '\ufeff',
          '\u00ad',
          '\u{e0041}',
          '\ufe0f',
          '\u0000',
        ),
        (text, hidden) => {
          const shown = visiblyEscaped(`${text}${hidden}${text}`);

          expect(shown).toContain(escapedCodePoint(hidden.codePointAt(0) ?? 0));
          expect(firstInvisibleCharacter(shown)).toBeUndefined();
        },
      ),
    );
  });

  it('writes astral code points in the braced form a reader can type back', () => {
    expect(escapedCodePoint(0xe0041)).toBe('\\u{E0041}');
    expect(escapedCodePoint(0x202e)).toBe('\\u202E');
  });

  it('lets through only the characters a field allows', () => {
    expect(firstInvisibleCharacter('a\nb', new Set(['\n']))).toBeUndefined();
    expect(firstInvisibleCharacter('a\nb\u200bc', new Set(['\n']))).toEqual({ codePoint: 0x200b, index: 3 });
  });
});
