import { domainToUnicode } from 'node:url';

/**
 * The combining marks that are accents of Latin, Greek and Cyrillic letters (combining diacritical marks and their
 * supplements and extensions, the marks for symbols, the half marks), and the optional vowel points of Hebrew (niqqud,
 * cantillation) and Arabic (harakat, Quranic marks), which people leave out when they type a name. Not every mark: an
 * Indic vowel sign, a kana's voicing mark or a Hangul syllable's jamo is part of the letter (removing every `\p{M}`
 * made "सीता" find "सतीश" and "ガ" find "カトウ": review, session 16).
 */
const ACCENTS =
  // the class holds combining marks on purpose: each is removed on its own (`g`), never matched as part of a letter
  // eslint-disable-next-line no-misleading-character-class
  /[\u0300-\u036F\u1AB0-\u1AFF\u1DC0-\u1DFF\u20D0-\u20FF\uFE20-\uFE2F\u0591-\u05BD\u05BF\u05C1\u05C2\u05C4\u05C5\u05C7\u0610-\u061A\u064B-\u065F\u0670\u06D6-\u06DC\u06DF-\u06E4\u06E7\u06E8\u06EA-\u06ED]/gu;
/**
 * Letters a search reads as the Latin letter people type for them, which have no decomposition to fold: Turkish
 * dotless ı (`IŞIK` typed in capitals lower-cases to `işik`), ø, ł, đ, æ, œ (probe 14). The sort keeps them apart.
 */
const SEARCH_LETTERS: Record<string, string> = { ı: 'i', ø: 'o', ł: 'l', đ: 'd', æ: 'ae', œ: 'oe', ß: 'ss', ς: 'σ' };
const SEARCH_LETTER = /[ıøłđæœßς]/g;
/** printable ASCII, which folding leaves as it is (most addresses, many names): no normalization to run */
const PLAIN_ASCII = /^[\x20-\x7e]*$/;
/** compatibility forms decomposed (`ﬁ` → `fi`, full-width letters), accents removed, the rest composed again */
const fold = (text: string): string => (PLAIN_ASCII.test(text) ? text : text.normalize('NFKD').replace(ACCENTS, '').normalize('NFC'));
/** characters that show nothing (ZWNJ, ZWJ, variation selectors…): a name found whether typed with them or not */
const IGNORABLE = /\p{Default_Ignorable_Code_Point}/gu;

/**
 * The key a list sorts names by: case and accents folded (`Émile` with `emile`, between `Emil` and `Eva`), so that the
 * stores' plain binary order of the key is alphabetical for Latin, Greek and Cyrillic names, the same in SQLite and
 * MongoDB and in every replica (no locale of the machine involved). Compatibility forms are folded too (`ﬁ` → `fi`).
 * Not a full Unicode collation: `ß` sorts after `s…` words, `ø` after `z`; ties keep the list's own next key.
 */
export const sortKey = (text: string): string => fold(text).toLowerCase();

/**
 * The text a search matches, and what it is matched with (a member's `searchText`, the query's `q`): the sort key's
 * folding (case, accents, compatibility forms: `emile` finds `Émile`, `ince` finds `İnce`), lower-cased letter by
 * letter (an all-caps Greek word's last `Σ` is `σ`, not the final `ς` a whole-word lower-casing writes), without the
 * characters that show nothing (Persian "علیرضا" typed without its ZWNJ finds "علی‌رضا"), and a few letters folded:
 * `ς` → `σ`, `ß` → `ss` (`STRASSE` finds `Straße`), and those of SEARCH_LETTERS; the Arabic tatweel left out, hiragana
 * read as katakana (members version 10).
 */
export const searchKey = (text: string): string => {
  const lower = fold(text).toLowerCase();
  if (PLAIN_ASCII.test(lower)) return lower;
  // lower-casing a whole text writes a word-final Σ as ς, its only context-dependent mapping: every ς is σ here anyway,
  // so this equals lower-casing letter by letter
  return lower
    .replace(IGNORABLE, '')
    .replace(SEARCH_LETTER, (c) => SEARCH_LETTERS[c]!)
    .replace(TATWEEL, '')
    .replace(HIRAGANA, (c) => String.fromCharCode(c.charCodeAt(0) + KANA_OFFSET));
};

/** the Arabic elongation, which only draws a word longer: "سالم" finds "سـالم" (probe 73 F7) */
const TATWEEL = /\u0640/g;
/**
 * hiragana as katakana, the same syllables in the other script (ひろし / ヒロシ, a name written either way: probe 73 F7);
 * the voicing marks are part of the letter and stay
 */
const HIRAGANA = /[\u3041-\u3096\u309D\u309E]/g;
const KANA_OFFSET = 0x60;

/** separates a document's searched values in its `searchText`: a control character, which no query holds */
export const SEARCH_SEPARATOR = '\u0001';

/**
 * A member's (or an invitation's) `searchText`: the search keys of its address, name and alias, and of the address's
 * domain as people type it (`bücher.example` for `xn--bcher-kva.example`: addresses are stored in punycode, rule 6).
 */
export function searchTextOf(values: { email: string | null; displayName: string | null; alias: string | null }): string {
  const texts: string[] = [];
  for (const value of [values.email, values.displayName, values.alias]) if (value) texts.push(value);
  const at = values.email?.lastIndexOf('@') ?? -1;
  if (values.email && at >= 0 && values.email.includes('xn--', at)) {
    const unicode = domainToUnicode(values.email.slice(at + 1));
    if (unicode) texts.push(`${values.email.slice(0, at)}@${unicode}`);
  }
  return texts.map(searchKey).join(SEARCH_SEPARATOR);
}
