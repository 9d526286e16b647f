// class-validator's errors as the fields at fault, each with one sentence: the API's 400s (app.module.ts) and the
// audit CLI's check of a proof file (apps/audit-cli/src/proofs.ts) name them alike.
import { type ValidationError, ValidationTypes } from 'class-validator';
import type { FieldError } from '@rollcall/domain';
import { ID_PATTERN } from './id-pattern';

/** class-validator's type checks: when one fails, the field's other constraints (bounds, sizes) say nothing more */
const TYPE_CONSTRAINTS = new Set(['isArray', 'isString', 'isInt', 'isNumber', 'isObject', 'isBoolean']);

/** class-validator's default sentence of `@Matches`: it quotes the regular expression, which tells a client nothing */
const MATCHES_DEFAULT = / must match \/.*\/\w* regular expression$/;
/** the ids of paths and payloads (shared/http/dtos.ts ID_PATTERN), as the HTTP path parameters name them (path-params.ts) */
export const ID_REGEX = String(ID_PATTERN);

/** class-validator's default sentence of `@MinLength` */
const MIN_LENGTH_DEFAULT = /must be longer than or equal to (\d+) characters$/;
/** class-validator's default sentence of `@MaxLength` */
const MAX_LENGTH_DEFAULT = /must be shorter than or equal to (\d+) characters$/;

/**
 * class-validator's sentence of a list's item check (`each: true`): "each value in roles must …", which the field's
 * name before it made "roles each value in roles must …" (probe 89 F10): "must each …"
 */
const eachValue = (message: string, property: string): string => {
  const prefix = `each value in ${property} must `;
  return message.startsWith(prefix) ? `must each ${message.slice(prefix.length)}` : message;
};

/** what a JSON value that is neither an object nor a list is, in a word */
const whatItIs = (value: unknown): string => (value === null ? 'null' : typeof value === 'string' ? 'text' : typeof value === 'number' ? 'a number' : typeof value === 'boolean' ? `${value}` : typeof value);

/** the first item of a list that is no string, as JSON (short) */
const itemShown = (list: unknown[]): string => (JSON.stringify(list.find((item) => typeof item !== 'string')) ?? 'undefined').slice(0, 40);

/**
 * `@Matches` without a message of its own: an id "must be a valid id", anything else "is not in the expected format"
 * (probe 16); `@MaxLength`'s in the domain's words, "must be at most N characters" (probe 31: the same limit answered in
 * two wordings, as the DTO or the domain refused it)
 */
const readable = (name: string, message: string, value: unknown): string => {
  if (name === 'maxLength') return message.replace(MAX_LENGTH_DEFAULT, 'must be at most $1 characters');
  // probe 36 F5: "must be longer than or equal to 1 characters"; "admin nested property admin must be either object or
  // array" (a number, true or null where an object goes); a parameter sent twice told "must be a string"
  if (name === 'minLength') return message.replace(MIN_LENGTH_DEFAULT, (_, n: string) => (n === '1' ? 'must not be empty' : `must be at least ${n} characters`));
  if (name === 'nestedValidation') return 'must be an object';
  if (name === 'isObject' && Array.isArray(value)) return /\blist\b/.test(message) ? message : `${message}, not a list`;
  // a message that names the list it is not, said of what was sent instead (probe 121 F8: `null` was "not a list")
  if (name === 'isObject') return message.replace(/, not a list\b/, `, not ${whatItIs(value)}`);
  // a list of the wrong items (`"roles": [1]`) is a list: its item is at fault, not its being one (probe 90 F1)
  if (TYPE_CONSTRAINTS.has(name) && Array.isArray(value) && name !== 'isArray' && /\blist\b/.test(message)) return `${message}, each a string (not ${itemShown(value)})`;
  if (TYPE_CONSTRAINTS.has(name) && Array.isArray(value) && name !== 'isArray') return `${message}, not ${value.length} values (a list, or a query parameter sent ${value.length} times)`;
  return name === 'matches' && MATCHES_DEFAULT.test(message) ? (message.endsWith(`${ID_REGEX} regular expression`) ? 'must be a valid id' : 'is not in the expected format') : message;
};

/** every field at fault (nested ones as `a.b`), with what is wrong with it */
export const fieldErrors = (errors: ValidationError[], prefix = ''): FieldError[] =>
  errors.flatMap((e) => {
    const field = prefix ? `${prefix}.${e.property}` : e.property;
    // a missing field fails every constraint of its type and bounds: "is required" says what to do
    if (e.value === undefined && e.constraints && !(ValidationTypes.WHITELIST in e.constraints)) return [{ field, message: 'is required' }];
    // a value of the wrong type fails its bounds too ("no more than 10 elements" for a string): its type is the news
    const constraints = e.constraints ?? {};
    // an unknown field or parameter: class-validator's "property x should not exist" read as "x property x should not exist"
    if (ValidationTypes.WHITELIST in constraints) return [{ field, message: 'is not allowed' }];
    // a length checked on something that is no text (a number where an address goes: probe 45 F11 read "must be at
    // most 254 characters"): its type is the news
    const wrongType = Object.keys(constraints).filter((name) => TYPE_CONSTRAINTS.has(name));
    const lengthOfNoText = wrongType.length === 0 && typeof e.value !== 'string' && !Array.isArray(e.value) && ('maxLength' in constraints || 'minLength' in constraints);
    if (lengthOfNoText) return [{ field, message: 'must be a string' }];
    // a value too long fails its format checks too (an http(s) URL of 2,100 characters "must be an http(s) URL":
    // probe 28): its length is the news, and the field's other sentences wait until it fits
    const tooLong = Object.keys(constraints).filter((name) => name === 'maxLength');
    const messages = (wrongType.length > 0 ? wrongType : tooLong.length > 0 ? tooLong : Object.keys(constraints))
      .map((name) => readable(name, constraints[name]!, e.value))
      .map((message) => (message.startsWith(e.property) ? message.slice(e.property.length).trim() : eachValue(message, e.property)));
    // one entry per sentence: `null` for a list fails its list check and its items' check, both with the shape's message
    const own = [...new Set(messages)].map((message) => ({ field, message }));
    // an object of the wrong type has no fields to speak of (a list where the admin goes: probe 45 F11)
    return wrongType.length > 0 ? own : [...own, ...fieldErrors(e.children ?? [], field)];
  });
