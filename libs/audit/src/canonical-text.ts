/**
 * RFC 8785 straight from a stored JSON text, for the verifier's hot path (docs/rules.md#verifiable-history,
 * docs/adr/0007-verifiable-history.md §6): `canonicalJsonText(text)` is always `canonicalJson(JSON.parse(text))`
 * (checked in canonical-text.spec.ts against that and the `canonicalize` package), but for the texts Rollcall writes it
 * never builds the parsed value: it scans the text once, keeps every already-canonical stretch as a slice of it and
 * only rewrites the objects whose members are out of order.
 *
 * The scan takes only a strict subset of JSON whose canonical form is the text itself, token by token:
 * - no backslash, no control character and no surrogate anywhere in the text (then a string's canonical form is
 *   its own text between its quotes: JSON.stringify would escape nothing in it);
 * - no whitespace between tokens;
 * - numbers that are integers of at most 15 digits, other than -0 (ECMAScript prints those digit for digit);
 * - objects without a repeated member name (JSON.parse keeps the last value, at the first one's place).
 * Anything else — and any text that is not JSON at all — goes through JSON.parse and `canonicalJson`, so a stored text
 * that is not JSON throws exactly the SyntaxError the event store's own read would.
 */
import { canonicalJson } from './entry';

/** characters after which a text's tokens may need rewriting (escapes, controls and whitespace, surrogates) */
// oxlint-disable-next-line no-control-regex -- control characters are exactly what this looks for
const NOT_VERBATIM = /[\\\u0000-\u001f\ud800-\udfff]/;
/** thrown inside the scan when the text leaves the verbatim subset */
const LEAVE = Symbol('leave the verbatim subset');
/** objects are rewritten only when a member is out of order, or above 16 members */
const INSERTION_SORT_MAX = 16;

let text = '';
let at = 0;
/** how many objects the scan has rewritten so far: an array or object whose count did not move is its own slice */
let rewrites = 0;

export function canonicalJsonText(json: string): string {
  if (!NOT_VERBATIM.test(json)) {
    text = json;
    at = 0;
    try {
      const out = value();
      if (at === json.length) return out;
    } catch {
      // LEAVE, or a nesting deeper than the stack (JSON.parse and canonicalJson below decide about that one)
    } finally {
      text = '';
    }
  }
  return canonicalJson(JSON.parse(json));
}

function value(): string {
  const c = text.charCodeAt(at);
  if (c === 0x22) {
    const end = text.indexOf('"', at + 1);
    if (end < 0) throw LEAVE;
    const start = at;
    at = end + 1;
    return text.slice(start, at);
  }
  if (c === 0x7b) return object();
  if (c === 0x5b) return array();
  if (c === 0x2d || (c >= 0x30 && c <= 0x39)) return integer();
  if (c === 0x74 && text.startsWith('true', at)) return literal('true');
  if (c === 0x66 && text.startsWith('false', at)) return literal('false');
  if (c === 0x6e && text.startsWith('null', at)) return literal('null');
  throw LEAVE;
}

function literal(word: string): string {
  at += word.length;
  return word;
}

const isDigit = (c: number) => c >= 0x30 && c <= 0x39;

function integer(): string {
  const start = at;
  const negative = text.charCodeAt(at) === 0x2d;
  if (negative) at++;
  const first = text.charCodeAt(at);
  if (first === 0x30) {
    if (negative) throw LEAVE; // -0 is written 0
    at++;
  } else if (first >= 0x31 && first <= 0x39) {
    at++;
    while (isDigit(text.charCodeAt(at))) at++;
  } else throw LEAVE;
  const next = text.charCodeAt(at);
  // fractions and exponents have other shortest forms; more than 15 digits may not be exact
  if (next === 0x2e || next === 0x65 || next === 0x45 || at - start - (negative ? 1 : 0) > 15) throw LEAVE;
  return text.slice(start, at);
}

function array(): string {
  const start = at;
  const before = rewrites;
  at++;
  if (text.charCodeAt(at) === 0x5d) {
    at++;
    return '[]';
  }
  let out = '[';
  for (;;) {
    out += value();
    const c = text.charCodeAt(at++);
    if (c === 0x5d) break;
    if (c !== 0x2c) throw LEAVE;
    out += ',';
  }
  return rewrites === before ? text.slice(start, at) : `${out}]`;
}

function object(): string {
  const start = at;
  const before = rewrites;
  at++;
  if (text.charCodeAt(at) === 0x7d) {
    at++;
    return '{}';
  }
  const names: string[] = [];
  const values: string[] = [];
  for (;;) {
    if (text.charCodeAt(at) !== 0x22) throw LEAVE;
    const end = text.indexOf('"', at + 1);
    if (end < 0 || text.charCodeAt(end + 1) !== 0x3a) throw LEAVE;
    names.push(text.slice(at + 1, end));
    at = end + 2;
    values.push(value());
    const c = text.charCodeAt(at++);
    if (c === 0x7d) break;
    if (c !== 0x2c) throw LEAVE;
  }
  let inOrder = true;
  for (let i = 1; i < names.length; i++) {
    if (names[i - 1]! < names[i]!) continue;
    if (names[i - 1] === names[i]) throw LEAVE;
    inOrder = false;
  }
  if (inOrder) return rewrites === before ? text.slice(start, at) : members(names, values);
  rewrites++;
  if (names.length <= INSERTION_SORT_MAX) sortMembers(names, values);
  else {
    const order = names.map((_, i) => i).sort((a, b) => (names[a]! < names[b]! ? -1 : names[a]! > names[b]! ? 1 : 0));
    const sortedNames = order.map((i) => names[i]!);
    const sortedValues = order.map((i) => values[i]!);
    for (let i = 0; i < order.length; i++) {
      names[i] = sortedNames[i]!;
      values[i] = sortedValues[i]!;
    }
  }
  // a repeated name (JSON.parse keeps its last value at its first place) is left to JSON.parse
  for (let i = 1; i < names.length; i++) if (names[i - 1] === names[i]) throw LEAVE;
  return members(names, values);
}

/** in place, by UTF-16 code units (names are distinct, see `object`) */
function sortMembers(names: string[], values: string[]): void {
  for (let i = 1; i < names.length; i++) {
    const name = names[i]!;
    const v = values[i]!;
    let j = i - 1;
    for (; j >= 0 && names[j]! > name; j--) {
      names[j + 1] = names[j]!;
      values[j + 1] = values[j]!;
    }
    names[j + 1] = name;
    values[j + 1] = v;
  }
}

function members(names: string[], values: string[]): string {
  let out = `{"${names[0]}":${values[0]}`;
  for (let i = 1; i < names.length; i++) out += `,"${names[i]}":${values[i]}`;
  return `${out}}`;
}
