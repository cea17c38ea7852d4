/**
 * Rules for text an agent wrote, shared by the request contract (which refuses what a reviewer
 * could not see) and the card (which never shortens text in a way that changes what it says).
 */

// What a reviewer cannot see, or sees in another order than the one that runs: controls (Cc),
// format characters (Cf: bidi embeddings, overrides and isolates, zero-width spaces and joiners,
// U+FEFF, soft hyphen, tag characters), line and paragraph separators (Zl, Zp), lone surrogates
// (Cs), spaces other than U+0020 (Zs: no-break and ideographic spaces pass for an ordinary one or
// for nothing), and the letters and marks that render as blank: variation selectors, the
// combining grapheme joiner, Hangul fillers, Mongolian free variation selectors, Khmer inherent
// vowels and the braille blank.
const INVISIBLE =
  // eslint-disable-next-line no-misleading-character-class -- the marks are matched alone, on purpose
  /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000\u034f\u115f\u1160\u17b4\u17b5\u180b-\u180f\u2800\u3164\ufe00-\ufe0f\uffa0\u{e0000}-\u{e007f}\u{e0100}-\u{e01ef}]/gu;

/** A code point as a reviewer can read it in a reason or on a card: `\u202E`, `\u{E0041}`. */
export function escapedCodePoint(codePoint: number): string {
  const hex = codePoint.toString(16).toUpperCase();
  return codePoint > 0xffff ? `\\u{${hex}}` : `\\u${hex.padStart(4, '0')}`;
}

/**
 * The first character of `text` a reviewer could not see, as `{ codePoint, index }`; characters
 * in `allowed` (e.g. `\n` in prose) are let through.
 */
export function firstInvisibleCharacter(
  text: string,
  allowed: ReadonlySet<string> = new Set(),
): { readonly codePoint: number; readonly index: number } | undefined {
  for (const match of text.matchAll(INVISIBLE)) {
    if (allowed.has(match[0])) continue;
    return { codePoint: match[0].codePointAt(0) ?? 0, index: match.index };
  }
  return undefined;
}

/**
 * `text` with every invisible character replaced by its escape, so it reads as what it is.
 * Parsing already refuses such text; this is the renderers' second line for anything stored
 * before that rule, and for line breaks where one line is expected.
 */
export function visiblyEscaped(text: string, allowed: ReadonlySet<string> = new Set()): string {
  return text.replace(INVISIBLE, (character) =>
    allowed.has(character) ? character : escapedCodePoint(character.codePointAt(0) ?? 0),
  );
}

/**
 * The longest prefix of `text` of at most `maxUnits` UTF-16 code units that ends on a code point
 * boundary: a cut never leaves half a surrogate pair behind.
 */
export function codePointPrefix(text: string, maxUnits: number): string {
  if (text.length <= maxUnits) return text;
  let end = Math.max(0, maxUnits);
  const last = text.charCodeAt(end - 1);
  if (end > 0 && last >= 0xd800 && last <= 0xdbff) end -= 1;
  return text.slice(0, end);
}

/** `text` cut to at most `maxUnits` code units, marked with `…` when cut, never inside a pair. */
export function shortened(text: string, maxUnits: number): string {
  return text.length <= maxUnits ? text : `${codePointPrefix(text, maxUnits - 1)}…`;
}
