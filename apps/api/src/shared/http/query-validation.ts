import { ValidateBy } from 'class-validator';

export const STATUSES = ['pending', 'active', 'revoked'] as const;

/** A calendar date, or a date-time with a time zone (a time without one would mean the server's local time). */
const INSTANT = /^(\d{4})-(\d{2})-(\d{2})(?:[Tt](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:[Zz]|[+-](\d{2}):(\d{2})))?$/;

/** INSTANT for the document's `pattern` (probe 50 F2: the formats were in prose only); the calendar check is the server's */
export const INSTANT_PATTERN = INSTANT.source;

/**
 * An instant a query can be asked about. ISO-8601 has forms that are valid syntax but no instant for
 * `new Date()` (week dates 2021-W01, ordinal dates 2021-366, basic format 20210101) and Date.parse rolls
 * impossible days over (2021-02-30 is March 2nd): each field is checked against the calendar.
 */
export function isInstant(value: unknown): boolean {
  if (typeof value !== 'string') return false;
  const m = INSTANT.exec(value);
  if (!m) return false;
  const [year, month, day, hour = 0, minute = 0, second = 0, offsetHours = 0, offsetMinutes = 0] = m.slice(1).map((f) => (f === undefined ? undefined : Number(f))) as number[];
  const lastDay = new Date(0);
  lastDay.setUTCFullYear(year!, month!, 0);
  return (
    month! >= 1 && month! <= 12 && day! >= 1 && day! <= lastDay.getUTCDate() &&
    hour <= 23 && minute <= 59 && second <= 59 && offsetHours <= 23 && offsetMinutes <= 59 &&
    Number.isFinite(Date.parse(value))
  );
}

export const IsInstant = () =>
  ValidateBy({
    name: 'isInstant',
    validator: {
      validate: isInstant,
      // a `+` of an offset sent unencoded arrives as a space (a query string's `+`): said so (probe 89 F10)
      defaultMessage: (args) =>
        `must be an ISO-8601 date (2026-03-01) or date-time with a time zone (2026-03-01T09:00:00Z)${typeof args?.value === 'string' && isInstant(args.value.replace(/ (\d{2}:\d{2})$/, '+$1')) ? "; its offset's + arrived as a space: encode it as %2B in a query string" : ''}`,
    },
  });
