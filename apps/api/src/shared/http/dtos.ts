import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { applyDecorators } from '@nestjs/common';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsIn, IsInt, IsObject, IsOptional, IsString, Max, MaxLength, Min, ValidateBy } from 'class-validator';
import { checkEmail, type Restrictions } from '@rollcall/domain';
// class-validator's metadata lookups remembered (once per class, not per request): see validation-metadata.ts
import './validation-metadata';
import { Omittable } from './omittable';
import { ProblemException, problem } from './problem';

import { ID_PATTERN } from './id-pattern';

/** The domain's one email rule (checkEmail), the same for org admins, invitations and profile emails. */
export const IsEmailAddress = () =>
  ValidateBy({
    name: 'isEmailAddress',
    validator: {
      validate: (value: unknown) => checkEmail('email', value) === undefined,
      defaultMessage: (args) => checkEmail('email', args?.value)?.message ?? 'must be a valid email address',
    },
  });

export { ID_PATTERN };

/** a UUID, in either case: the ids this service makes (users, workspaces, invitations, teams, organizations) */
const UUID_ANY_CASE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * An id as this service wrote it: the ids it makes are lower-case UUIDs, and one pasted in upper case (Excel, .NET
 * tools) matched nothing — an empty history, a 404, a 403 "not an active member" (probe 80 F11). Any other id is kept
 * as given.
 */
export const foldIdCase = (value: string): string => (UUID_ANY_CASE.test(value) ? value.toLowerCase() : value);

/** `@FoldsIdCase()` on a DTO's id field: foldIdCase before it is validated and used */
export const FoldsIdCase = () => Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? foldIdCase(value) : value));

/** the largest log position a store can hold (SQLite's and EventStoreDB's 64-bit signed integers) */
export const LOG_POSITION_MAX = 2n ** 63n - 1n;
/**
 * A position in decimal digits no larger than LOG_POSITION_MAX: past it, the store could not even be asked (probe 45b
 * F1: `after=9223372036854775808` was a 500, "BigInt value is too large to bind"). Checked after the field's pattern.
 */
export const WithinLogPositions = () =>
  ValidateBy({
    name: 'withinLogPositions',
    validator: {
      validate: (value: unknown) => typeof value !== 'string' || !/^\d+$/.test(value) || BigInt(value) <= LOG_POSITION_MAX,
      defaultMessage: () => `must be at most ${LOG_POSITION_MAX} (a log position)`,
    },
  });

/**
 * A log position given as decimal digits, its leading zeros dropped ("0007" → "7", "00" → "0"), as the whole numbers
 * (`limit`, `treeSize`, `X-Min-Position`, `Last-Event-ID`) take them: `after` and `position` refused what those
 * accepted (probe 118 F7). The answers then name the position as the log writes it.
 */
export const LogPositionDigits = () => Transform(({ value }: { value: unknown }) => (typeof value === 'string' && /^\d+$/.test(value) ? BigInt(value).toString() : value));

/**
 * A query's whole number, as the document's `integer`: digits only ("50"), or a minus and digits, which the bounds
 * then name ("-1": "must not be less than 1", not "must be an integer number": probe 37 F6). A message's payload
 * (its envelope names an `apiKey`) is JSON: its number is one, and a string stays a string, refused by `@IsInt` as the
 * AsyncAPI document's `integer` says (probe 86 F4: `"limit": "1"` was taken). `@Type(() => Number)` took JavaScript's
 * number syntax, `0x10`, `0b11`, `1e1`, ` 5` (probe 36b #8); anything else stays as it came and `@IsInt` names it
 * ("must be an integer number").
 */
export const WholeNumber = () =>
  Transform(({ value, obj }: { value: unknown; obj: Record<string, unknown> }) => {
    if (typeof value !== 'string' || Object.hasOwn(obj, 'apiKey') || !/^-?\d+$/.test(value)) return value;
    // however many digits: past the bound it is the bound's sentence ("must not be greater than …"), not "must be an
    // integer number" (probe 115 F3: 17 digits and more stayed strings); every bound is within 2^53, where a number is
    // exact, and digits past a double's range stand at its largest
    const n = Number(value);
    return Number.isFinite(n) ? n : Math.sign(n) * Number.MAX_VALUE;
  });

/** A page's `limit` in a query string: optional, digits only, 1 to `max`. */
export const PageLimit = (max: number) => applyDecorators(IsOptional(), WholeNumber(), IsInt(), Min(1), Max(max));

/**
 * A filter by kinds of change (the history's, the organization's): optional, comma-separated in a query string, an
 * array in a message; at least one (probe 72 F6: an empty list over TCP matched nothing), each one of `kinds`.
 */
export const KindsOfChange = (kinds: readonly string[]) =>
  applyDecorators(
    IsOptional(),
    Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? value.split(',').map((kind) => kind.trim()) : value)),
    ArrayMinSize(1, { message: 'change must name at least one kind of change' }),
    ArrayMaxSize(kinds.length),
    IsIn(kinds, { each: true, message: `must each be a kind of change: ${kinds.join(', ')}` }),
  );

const RESTRICTIONS_DOC =
  'Restrictions of the member\'s role: switches are `true`, scopes carry their value, e.g. `{"data_export": true}` (manager) or `{"contact_visibility": "self_only", "mask_contact_info": true}` (agent). ' +
  'In an access change, the whole set when sent (it replaces the member\'s); left out, the member\'s are kept, and with new roles those the new level allows. `roles` and `grants` likewise: sent, they replace; left out, they stay.';

/**
 * Each restriction's value as the schema says: `true` (a switch) or a string (a scope's value). Any other JSON value
 * (`false`, a number, null, a list) is a malformed request, 400 like any schema-invalid field (probe 50 F2: it was the
 * domain's 422 INVALID_RESTRICTION); whether the name and the string are the access model's is the domain's 422.
 */
const IsRestrictionValues = () =>
  ValidateBy({
    name: 'isRestrictionValues',
    validator: {
      validate: (value: unknown) =>
        typeof value !== 'object' || value === null || Array.isArray(value) || Object.values(value).every((v) => v === true || typeof v === 'string'),
      defaultMessage: (args) => {
        const [name, v] = Object.entries(args?.value as object).find(([, v]) => v !== true && typeof v !== 'string')!;
        return `values must be true (a switch) or a string (a scope's value): ${name} is ${JSON.stringify(v)}${v === false ? '; leave a switch out to turn it off' : ''}`;
      },
    },
  });

/**
 * An address as sent: spaces around it are trimmed (rule 6), so the limit of 254 characters is the domain's, on the
 * address as mailed (checkEmail: "must be at most 254 characters"); the DTO's bound leaves room for the spaces (probe
 * 90 F2: 254 characters with a space on each side were refused though 254 would be stored).
 */
export const ADDRESS_MAX_SENT = 320;
export const ADDRESS_LENGTH = 'at most 254 characters as mailed (trimmed, lower-cased, its domain in ASCII); up to 320 as sent, spaces around it included';

/** Wrong shapes are answered with the expected one and an example (a list where an object is expected, and so on). */
export const SHAPE_MESSAGES = {
  roles: 'must be a list of role names, e.g. ["agent"]',
  grants: 'must be a list of permission names, e.g. ["reporting"]',
  restrictions: 'must be an object of restrictions, not a list: switches are true, scopes carry their value, e.g. {"data_export": true} or {"contact_visibility": "self_only"}',
};

export class AccessDto {
  @ApiPropertyOptional({ type: [String], uniqueItems: true, example: ['agent'], description: 'roles of the workspace\'s access model (levels: exactly one of owner, manager, agent); none repeated. Omitted: on an invitation, the preset\'s default (the catalog\'s `defaultRoles`: agent under levels, member under permissions, operator under studio); on a change of access, the roles held are kept' })
  @Omittable()
  @IsArray({ message: SHAPE_MESSAGES.roles })
  @ArrayMaxSize(10)
  @IsString({ each: true, message: SHAPE_MESSAGES.roles })
  @MaxLength(64, { each: true })
  roles?: string[];

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: { oneOf: [{ type: 'boolean', enum: [true] }, { type: 'string' }] },
    description: RESTRICTIONS_DOC,
    // valid with the example's role in the default preset (levels), as a body built from the examples is sent verbatim
    example: { contact_visibility: 'self_only' },
  })
  @Omittable()
  @IsObject({ message: SHAPE_MESSAGES.restrictions })
  @IsRestrictionValues()
  // the client's own object as parsed: class-transformer would copy it key by key, dropping keys named like
  // Object.prototype members (toString, constructor) and turning "__proto__" into a prototype; the domain
  // refuses such names as INVALID_RESTRICTION
  @Transform(({ obj }: { obj: { restrictions?: unknown } }) => obj.restrictions)
  restrictions?: Restrictions;

  @ApiPropertyOptional({ type: [String], uniqueItems: true, example: [], description: 'extra permissions, none repeated (preset `permissions` only: reporting, users, settings, ib_designer, ib_publisher, ib_data, wfb_user; the other presets grant none)' })
  @Omittable()
  @IsArray({ message: SHAPE_MESSAGES.grants })
  @ArrayMaxSize(20)
  @IsString({ each: true, message: SHAPE_MESSAGES.grants })
  @MaxLength(64, { each: true })
  grants?: string[];
}

/**
 * `bom=true` on a CSV download: a UTF-8 byte order mark first, which Excel needs to read the file as UTF-8 (without it,
 * Excel on Windows reads names in other scripts as the system's code page: probe 73 F2, "Strauß" as "Strauﾃ�"). Off by
 * default: scripts and most CSV readers take the mark as part of the first column's name.
 */
export const CsvBom = () =>
  applyDecorators(
    ApiPropertyOptional({
      enum: ['true', 'false'],
      default: 'false',
      description: 'CSV only: start with a UTF-8 byte order mark, for Excel (which otherwise reads non-Latin names in the system code page); scripts usually want it off',
    }),
    IsOptional(),
    IsIn(['true', 'false']),
  );

/** the CSV options a download's query asks for */
export const csvOptions = (query: { bom?: 'true' | 'false' }) => ({ bom: query.bom === 'true' });

/** a read that answers JSON pages or a CSV, answering JSON: `bom` is the CSV's, refused rather than ignored */
export function refuseBomOnJson(query: { bom?: 'true' | 'false' }): void {
  if (query.bom !== undefined)
    throw new ProblemException(problem(400, 'VALIDATION_FAILED', 'bom applies to format=csv only: leave it out of JSON pages.', [{ field: 'bom', message: 'only with format=csv' }]));
}
