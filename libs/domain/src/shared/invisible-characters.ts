/**
 * Which invisible characters a name may hold (rule 6): none that hides something between letters ("Sales\u200BEU" looks
 * like "SalesEU"), but those that emoji and some scripts need, where they need them. Unicode's properties say what is
 * invisible (every format and default-ignorable character, so that the next hidden one is not let through as a
 * hand-made list did); the context says whether it is needed, after the joining rules of IDNA (RFC 5892, CONTEXTJ) and
 * Unicode's emoji sequences (UTS #51). Reviews of session 16 found each case below.
 */

/** every character that shows nothing: format (Cf) and default-ignorable characters, and two blank symbols */
const SHOWS_NOTHING = /[\p{Cf}\p{Default_Ignorable_Code_Point}\u2800\u{1D159}]/u;
/** the three subdivision flags Unicode recommends (England, Scotland, Wales): 🏴 + tag letters + cancel tag */
const FLAG_TAG_SEQUENCE = /\u{1F3F4}\u{E0067}\u{E0062}(?:\u{E0065}\u{E006E}\u{E0067}|\u{E0073}\u{E0063}\u{E0074}|\u{E0077}\u{E006C}\u{E0073})\u{E007F}/gu;

const PICTOGRAPH = /[\p{Extended_Pictographic}\p{Emoji_Modifier}\uFE0F]/u;
const EMOJI_AFTER_JOINER = /\p{Extended_Pictographic}/u;
/** the viramas of the Brahmic scripts: a ZWJ or ZWNJ beside one shapes a conjunct (क्‍ष, Bengali র‍্য) */
const VIRAMA = /[\u094D\u09CD\u0A4D\u0ACD\u0B4D\u0BCD\u0C4D\u0CCD\u0D4D\u0DCA\u0E3A\u0F84\u1039\u103A\u1714\u1734\u17D2\u1A60\u1B44\u1BAA\uA806\uA8C4\uA953\uA9C0\uABED]/u;
const DIGIT = /\p{Nd}/u;
const EMOJI_OR_SYMBOL = /[\p{Emoji}\p{S}]/u;
const MARK = /\p{M}/u;
const HAN = /\p{Script=Han}/u;
const MONGOLIAN = /\p{Script=Mongolian}/u;
/** scripts whose letters join: ZWNJ keeps two of them apart (Persian "می‌خواهم") */
const JOINING = /[\p{Script=Arabic}\p{Script=Syriac}\p{Script=Nko}\p{Script=Mongolian}\p{Script=Adlam}\p{Script=Mandaic}\p{Script=Hanifi_Rohingya}]/u;
/** right-to-left scripts: a bidi mark (LRM, RLM, ALM) beside one of their letters orders mixed text */
const RIGHT_TO_LEFT = /[\p{Script=Hebrew}\p{Script=Arabic}\p{Script=Syriac}\p{Script=Thaana}\p{Script=Nko}\p{Script=Samaritan}\p{Script=Mandaic}\p{Script=Adlam}]/u;

/**
 * Whether this invisible character is needed where it stands, between `before` and `after` (undefined at an end), in a
 * name that holds right-to-left letters or not.
 */
function needed(c: string, before: string | undefined, after: string | undefined, rightToLeft: boolean): boolean {
  const is = (pattern: RegExp, neighbour: string | undefined) => neighbour !== undefined && pattern.test(neighbour);
  switch (c) {
    case '\u200D': // ZWJ: between two emoji of a sequence (👩‍💻), or beside a virama (Indic conjuncts: क्‍ष, র‍্য)
      return (is(PICTOGRAPH, before) && is(EMOJI_AFTER_JOINER, after)) || is(VIRAMA, before) || is(VIRAMA, after);
    case '\u200C': // ZWNJ: beside a virama, or after a letter of a joining script
      return is(VIRAMA, before) || is(VIRAMA, after) || is(MARK, before) || is(JOINING, before);
    case '\u200E': // LRM, RLM, ALM: beside a right-to-left letter (copy-pasted Hebrew and Arabic names carry them), or
    case '\u200F': // beside a digit in a name that has such letters ("חדר 5" + RLM)
    case '\u061C':
      return is(RIGHT_TO_LEFT, before) || is(RIGHT_TO_LEFT, after) || (rightToLeft && (is(DIGIT, before) || is(DIGIT, after)));
    case '\u034F': // the combining grapheme joiner: between marks (Hebrew pointing)
      return is(MARK, before);
  }
  const code = c.codePointAt(0)!;
  if (code >= 0xfe00 && code <= 0xfe0f) return is(EMOJI_OR_SYMBOL, before) || is(HAN, before); // ❤️, 1️⃣, standardized variants
  if (code >= 0xe0100 && code <= 0xe01ef) return is(HAN, before); // ideographic variants (葛󠄀)
  if (code >= 0x180b && code <= 0x180f) return is(MONGOLIAN, before); // Mongolian free variation selectors, vowel separator
  return false;
}

/** Whether the name holds an invisible character that no emoji or script needs where it stands. */
export function hidesSomething(name: string): boolean {
  if (!SHOWS_NOTHING.test(name)) return false;
  const chars = Array.from(name.replace(FLAG_TAG_SEQUENCE, '\u{1F3F4}'));
  const rightToLeft = RIGHT_TO_LEFT.test(name);
  return chars.some((c, i) => SHOWS_NOTHING.test(c) && !needed(c, chars[i - 1], chars[i + 1], rightToLeft));
}
