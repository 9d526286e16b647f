import { domainToASCII, domainToUnicode } from 'node:url';
import type { FieldError } from './errors';
import { hidesSomething } from './invisible-characters';

/**
 * Characters no address may hold, anywhere: controls (NUL, line feeds), format characters (bidi overrides and
 * isolates, zero-width spaces and joiners, the byte-order mark, soft hyphens), separators other than the ends'
 * ASCII spaces, private-use, unassigned and lone-surrogate code points, every other default-ignorable
 * (invisible) one, and the blank Braille pattern U+2800, a symbol that shows nothing (probe 27: `\u2800jane@…` looked
 * like `jane@…`). They make two addresses that look alike differ, or one that looks harmless carry more.
 */
const INVISIBLE = /[\p{Cc}\p{Cf}\p{Z}\p{Co}\p{Cn}\p{Cs}\p{Default_Ignorable_Code_Point}\u2800]/u;
/** an atom of a local part that starts with a combining mark: an accent on nothing (`\u0301@…` showed no name: probe 27) */
const MARK_FIRST = /(?:^|\.)\p{M}/u;
/** Surrounding whitespace a form may add; any other invisible character is refused, not trimmed. */
const EDGE_SPACE = /^[ \t\r\n]+|[ \t\r\n]+$/g;
/** An unquoted local part: RFC 5322 atext (plus any visible non-ASCII letter, RFC 6531) in dot-separated atoms. */
const LOCAL_ATOM = /^(?:[\w!#$%&'*+/=?^`{|}~-]|\P{ASCII})+$/u;
const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const TOP_LABEL = /^(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})$/;
/** What a domain as typed may hold before IDNA maps it (no percent-escapes, brackets, ports or paths). */
const RAW_DOMAIN = /^[^%[\]:/\\?#@]+$/u;

const splitAt = (email: string): [local: string, domain: string] | undefined => {
  const at = email.lastIndexOf('@');
  return at < 0 ? undefined : [email.slice(0, at), email.slice(at + 1)];
};

/**
 * THE email normalization (rule 6), used by every path that takes an address (invitations, profile emails,
 * org admins): trimmed of surrounding spaces, the local part composed (NFC) and lower-cased, the domain mapped by
 * IDNA (UTS #46) to its ASCII form, lower-case punycode, so `Jane@Bücher.example` and `jane@xn--bcher-kva.example`
 * are one person. What events store, what mails go to, and what an address's data key subject is computed from.
 * Total: an address whose domain IDNA refuses keeps it lower-cased (checkEmail refuses such an address).
 * Addresses are COMPARED by emailKey, which also folds what lower-casing keeps apart (session 27, ADR 0017).
 */
export function normalizeEmail(raw: string): string {
  const known = normalized.get(raw);
  return known ?? remember(normalized, raw, normalizeOnce(raw));
}

/**
 * Who a normalized address is, to compare it ("already a member", "already invited", "taken", maps keyed by address):
 * its local part case-folded, so `οδυσσευς@…` (a word-final ς, as lower-casing `ΟΔΥΣΣΕΥΣ` writes it) and `οδυσσευσ@…`,
 * `ſam@…` and `sam@…`, `µu@…` and `μu@…` are one address (probe 27). Only compared, never stored or mailed: a mail
 * server may keep `straße` and `strasse` apart (review, session 27). Cheap for ASCII (nearly every address): as it is.
 */
export function emailKey(email: string): string {
  if (ASCII.test(email)) return email;
  const known = keyed.get(email);
  if (known !== undefined) return known;
  const parts = splitAt(email);
  return remember(keyed, email, parts ? `${caseFold(parts[0])}@${parts[1]}` : caseFold(email));
}

function normalizeOnce(raw: string): string {
  const email = raw.replace(EDGE_SPACE, '').normalize('NFC');
  const parts = splitAt(email);
  if (!parts) return dottedI(email.toLowerCase());
  const [local, domain] = parts;
  return `${dottedI(local.toLowerCase())}@${(RAW_DOMAIN.test(domain) && asciiDomain(domain)) || dottedI(domain.toLowerCase())}`;
}

/**
 * A domain's ASCII form (IDNA, UTS #46), an `i` with a dot above in a label read as the `i` it stands for: the same
 * Caps Lock writes `GMAİL.TEST`, which IDNA maps to `xn--gmail-bgd.test` ("gmai̇l", a domain nobody holds) — mailed
 * there, and a second user of the same person (probe 121 F7; probe 73 F1 did the local part only). Typed as `İ`, as `i`
 * and a combining dot, or as that punycode: one address. Only a domain with a punycode label pays for the look (`''`
 * where IDNA refuses the domain). Also what the upcasters make of an address stored before (upcasting.ts).
 */
export function asciiDomain(domain: string): string {
  const ascii = domainToASCII(domain);
  if (!ascii.includes('xn--')) return ascii;
  const unicode = domainToUnicode(ascii);
  return unicode.includes('\u0307') ? domainToASCII(withoutDottedI(unicode)) || ascii : ascii;
}

/**
 * The Turkish capital `İ` lower-cased: `i` and a combining dot above, which nobody types in an address; Caps Lock on a
 * Turkish keyboard writes `İSMAİL` for `ismail` (probe 73 F1: it made a second user of the same person, addressed as
 * `i̇smai̇l`). Taken as the `i` it stands for, as a Turkish lower-casing and the search's folding do.
 */
const dottedI = (text: string): string => (text.includes('\u0307') ? withoutDottedI(text) : text);

/**
 * `text` with every dot above an `i` carries removed (decomposed, so that a mark below between them — `İ` with a dot
 * below — does not hide it), composed again: `İ́PEK` lower-cased is `ípek`, one letter, as typed precomposed (probe 74
 * F2: the acute stayed apart and made a second address that looks the same). Also what the upcasters make of an
 * address stored before this (upcasting.ts).
 */
export const withoutDottedI = (text: string): string => text.normalize('NFD').replace(/i(\p{M}*?)\u0307/gu, 'i$1').normalize('NFC');

/**
 * An address stored normalized before the dotted `i` was read as `i` — in its local part before session 53 (probe 73
 * F1), in its domain before session 69 (probe 121 F7) — as normalizeEmail makes it now; anything else as it is. For the
 * upcasters (upcasting.ts): an address whose domain has no punycode label and no dot above costs two `includes`.
 */
export function undottedAddress(email: string): string {
  const dotted = email.includes('\u0307');
  if (!dotted && !email.includes('xn--')) return email;
  const parts = splitAt(email);
  if (!parts) return dotted ? withoutDottedI(email) : email;
  const domain = parts[1].includes('xn--') ? asciiDomain(parts[1]) || parts[1] : parts[1];
  return `${dotted ? withoutDottedI(parts[0]) : parts[0]}@${domain}`;
}

const ASCII = /^\p{ASCII}*$/u;
/**
 * Unicode case folding, one character at a time: upper-cased then lower-cased (the runtime's Unicode data), then
 * composed. It matches CaseFolding.txt's full folding (`ς`→`σ`, `ſ`→`s`, `µ`→`μ`, `ϐ`→`β`, `ß`→`ss`, `ᾳ`→`αι`)
 * except for the dotless `ı`, which folding keeps apart from `i` (so does this), and the dotted `İ`, which it folds to
 * `i` and a combining dot, and this to `i` (as the search does: probe 73 F1). Per character, not per word: the
 * word-final `Σ` → `ς` of lower-casing a whole text is the one context it must not see. (The npm packages for this
 * ship tables of Unicode 7 and are unmaintained; the runtime's own mappings follow its Unicode version.)
 */
export function caseFold(text: string): string {
  if (ASCII.test(text)) return text.toLowerCase();
  // Nearly every text is folded already (a lower-cased local part): two native calls tell it (~0.2 µs, where the
  // per-character walk costs ~8: review, session 27). Whole-text lower-casing differs from the per-character one only
  // by a word-final ς, which a text without ς gets only if it differs from the text.
  if (!text.includes('ς') && !text.includes('\u0307') && text.toUpperCase().toLowerCase() === text) return text;
  return dottedI(Array.from(text, (c) => (c === 'ı' ? c : c.toUpperCase().toLowerCase())).join('').normalize('NFC'));
}

/**
 * What makes two names one name, where names are unique (teams in a workspace, API key labels in an organization):
 * NFKC and spaces as one, so names that read alike are one name — full-width `ＳＡＬＥＳ`, half-width `ｻﾎﾟｰﾄ`, `Ⅳ` and
 * `IV`, a no-break or ideographic space, two spaces, an Arabic elongation (tatweel) (probe 73 F3) — then case-folded.
 */
export const nameKey = (name: string): string => caseFold(name.normalize('NFKC').replace(/\u0640/g, '').replace(/\s+/gu, ' ')).normalize('NFKC');

/**
 * The answers for the latest addresses seen: a command checks and normalizes its address 3–4 times (the DTO, the
 * decider, the organization's index, the data key's subject), each an IDNA mapping (bench:http's profile, session 18:
 * ~2 % of the main thread). Both functions are pure; the memory is dropped whole when full.
 */
const RECENT = 512;
const normalized = new Map<string, string>();
const keyed = new Map<string, string>();
const checked = new Map<string, string | null>();
const remember = <V>(memo: Map<string, V>, raw: string, value: V): V => {
  if (memo.size >= RECENT) memo.clear();
  memo.set(raw, value);
  return value;
};

const INVALID = 'must be a valid email address';
const TOO_LONG = 'must be at most 254 characters (as it is mailed: lower-cased, its domain in ASCII)';

/** The one email rule: what normalizeEmail makes of `raw` must be a plain, visible, deliverable address. */
export const checkEmail = (field: string, raw: unknown): FieldError | undefined => {
  if (typeof raw !== 'string') return { field, message: 'must be an email address' };
  let message = checked.get(raw);
  if (message === undefined) message = remember(checked, raw, emailProblem(raw));
  return message === null ? undefined : { field, message };
};

/** What is wrong with `raw` as an address (checkEmail's message), or null. */
function emailProblem(raw: string): string | null {
  const trimmed = raw.replace(EDGE_SPACE, '');
  // a plain space inside is the common case (a typo): say so before the invisible ones
  if (/\p{Zs}/u.test(trimmed)) return 'must not contain spaces';
  if (INVISIBLE.test(trimmed)) return 'must not contain control or invisible characters';
  const parts = splitAt(trimmed.normalize('NFC'));
  if (!parts) return INVALID;
  const [local, domain] = parts;
  if (!RAW_DOMAIN.test(domain) || Buffer.byteLength(local, 'utf8') > 64) return INVALID;
  if (!local.split('.').every((atom) => LOCAL_ATOM.test(atom))) return INVALID;
  if (MARK_FIRST.test(local)) return 'must not start a part of the address with a combining mark (an accent on nothing)';
  const ascii = asciiDomain(domain);
  const labels = ascii.split('.');
  if (!ascii || ascii.length > 253 || labels.length < 2 || !labels.every((l) => LABEL.test(l)) || !TOP_LABEL.test(labels.at(-1)!)) return INVALID;
  // the length of normalizeEmail(raw), which is `${local.toLowerCase()}@${ascii}` here (the same trim, NFC and split, a
  // domain IDNA maps), without mapping the domain a second time
  // (said as a length: a well-formed address of 255 or more characters read "not a valid email address", probe 89 F2)
  return dottedI(local.toLowerCase()).length + 1 + ascii.length > 254 ? TOO_LONG : null;
}

/**
 * Control characters (NUL, line breaks, escapes; the line and paragraph separators U+2028 and U+2029 too) and bidi
 * overrides, which make a name display as something else or break the exports. The invisible characters emoji and
 * scripts need are allowed where they need them (invisible-characters.ts).
 */
const CONTROL_OR_OVERRIDE = /[\p{Cc}\u2028\u2029\u202A-\u202E\u2066-\u2069]/u;
/** half of a UTF-16 surrogate pair alone: no character at all, which a strict JSON reader refuses and a CSV writes as U+FFFD */
const LONE_SURROGATE = /\p{Cs}/u;
const NONCHARACTER = /\p{Noncharacter_Code_Point}/u;
/** a name that starts with a combining mark (`\u0301abc`) */
const MARK_FIRST_IN_NAME = /^\p{M}/u;
/** a character that shows something: not a space, a format or combining character (variation selectors are), a blank filler */
const VISIBLE = /[^\s\p{Cc}\p{Cf}\p{Mn}\p{Me}\u115F\u1160\u2800\u3164\uFFA0]/u;

/**
 * What is wrong with a name people type (trimmed), if anything (rule 6): it must not display as something else
 * (control characters, direction overrides, invisible characters between letters: "Sales\u200BEU" looks like
 * "SalesEU") and must show something (a name of joiners or selectors alone looks empty).
 */
export function nameProblem(name: string): string | undefined {
  if (LONE_SURROGATE.test(name)) return 'must be valid Unicode text (it holds half of a surrogate pair)';
  // U+FFFE, U+FFFF and their kin are not characters to exchange (probe 14: "Sales\uFFFFEU" was a team name)
  if (NONCHARACTER.test(name)) return 'must be valid Unicode text (it holds a noncharacter such as U+FFFF)';
  if (CONTROL_OR_OVERRIDE.test(name)) return 'must not contain control characters or direction overrides';
  if (hidesSomething(name)) return 'must not contain invisible characters such as zero-width spaces';
  if (name.length > 0 && !VISIBLE.test(name)) return 'must contain a visible character';
  // an accent on nothing, which a console draws onto whatever precedes the name (a quote, a bullet, an avatar's
  // initial): refused as in an address's part (probe 65 F5)
  if (MARK_FIRST_IN_NAME.test(name)) return 'must not start with a combining mark (an accent on nothing)';
  // probe 73 F4: "Z" under 100 strike-throughs drew over the rows around it in a list; an accent after a space sat on
  // nothing; U+FFFD and U+FFFC are what a broken encoding or a pasted object leave, no one's name
  if (MARK_AFTER_SPACE.test(name)) return 'must not put a combining mark after a space (an accent on nothing)';
  if (MARK_STACK.test(name.normalize('NFC'))) return `must not stack more than ${MARKS_PER_LETTER} combining marks on one letter`;
  if (REPLACEMENT.test(name)) return 'must not contain U+FFFD or U+FFFC (what a broken encoding or a pasted object leaves)';
  return undefined;
}

/**
 * combining marks one letter may carry, composed: Vietnamese needs two, pointed Hebrew and Tibetan stacks up to four;
 * Unicode's stream-safe limit (UAX #15) is thirty, where a name is long drawn over its neighbours
 */
const MARKS_PER_LETTER = 6;
const MARK_STACK = new RegExp(`\\p{M}{${MARKS_PER_LETTER + 1},}`, 'u');
const MARK_AFTER_SPACE = /\s\p{M}/u;
const REPLACEMENT = /[\uFFFC\uFFFD]/u;

/**
 * A name as stored: trimmed, and in Unicode's composed form (NFC), so that "José" typed with a combining accent is
 * the same text as "José" precomposed: it is found by the same search and sorts in the same place.
 */
export const cleanName = (raw: string): string => raw.trim().normalize('NFC');

/**
 * The length of a name in characters, as the DTOs' `@MaxLength` counts it (validator's isLength): a character outside
 * the BMP (two UTF-16 units) is one, and so is one followed by a variation selector (U+FE0E/U+FE0F: "❤️"). Counted in
 * UTF-16 units, 150 characters outside the BMP were refused as "more than 200 characters" (probe 31); in code points,
 * 150 "❤️" (review of session 31): the DTO had let both through.
 */
export function characterCount(text: string): number {
  let count = 0;
  for (const c of text) if (c !== '\uFE0E' && c !== '\uFE0F') count++;
  return count;
}

export const checkText = (field: string, raw: unknown, max: number, allowEmpty = false): FieldError | undefined => {
  if (typeof raw !== 'string') return { field, message: 'must be text' };
  const trimmed = raw.trim();
  if (!allowEmpty && trimmed.length === 0) return { field, message: 'must not be empty' };
  if (characterCount(trimmed) > max) return { field, message: `must be at most ${max} characters` };
  const problem = nameProblem(trimmed);
  return problem ? { field, message: problem } : undefined;
};

/**
 * An avatar URL as stored and shown: its WHATWG serialization, which percent-encodes what is no URI character (a
 * `"` that would end an HTML attribute in a console building markup by hand: probe 37 F10), writes the `//` a
 * `https:host` left out and an internationalized host in punycode, as addresses' domains are stored. Checked first
 * (checkUrl).
 */
export const normalizeUrl = (raw: string): string => new URL(raw).href;

export const checkUrl = (field: string, raw: unknown): FieldError | undefined => {
  if (typeof raw !== 'string') return { field, message: 'must be a URL' };
  try {
    const url = new URL(raw);
    if (url.protocol !== 'https:' && url.protocol !== 'http:')
      return { field, message: 'must be an http(s) URL' };
    // shown to everyone in every workspace: a user name or password in it would be published (probe 26); a backslash
    // is a slash to this parser and may end a user name to another (`https://cdn.x\\@evil.x/`: host evil.x there)
    if (url.username !== '' || url.password !== '') return { field, message: 'must not contain a user name or password' };
    if (raw.includes('\\')) return { field, message: 'must not contain a backslash (write / for a path)' };
    // the limit holds for the form stored and shown (normalizeUrl): percent-encoding made 2,030 × `é` a URL of 12,195
    // characters, and a page of 500 such members 6 MB (probe 59)
    if (url.href.length > 2048)
      return { field, message: raw.length > 2048 ? 'must be at most 2048 characters' : `must be at most 2048 characters once percent-encoded as it is stored (this one is ${url.href.length})` };
  } catch {
    return { field, message: 'must be a valid URL' };
  }
  return raw.length > 2048 ? { field, message: 'must be at most 2048 characters' } : undefined;
};
