import { Readable, pipeline } from 'node:stream';
import { stringify } from 'csv-stringify';

/**
 * A cell a spreadsheet would run as a formula (`= + - @`, a tab or a carriage return first) is prefixed with an
 * apostrophe (CSV injection, OWASP's advice), and so is one that begins with an apostrophe itself: a reader takes one
 * leading apostrophe off any cell that has one and gets the value back. Before, `=1+1` and `'=1+1` were both written
 * `'=1+1` (probe 37 F5). Their full-width forms (`＝ ＋ － ＠`, which spreadsheets in East Asian locales may take as
 * the ASCII ones) and a NUL first (OWASP ASVS 1.2.10) are prefixed too (probe 79).
 */
export const safeCell = (value: string | null | undefined): string => {
  if (value === null || value === undefined) return '';
  return /^[=+\-@\t\r'\0\uFF1D\uFF0B\uFF0D\uFF20]/.test(value) ? `'${value}` : value;
};

export const list = (values: readonly string[] | null | undefined): string => (values ?? []).join(';');

export const restrictionsCell = (restrictions: Record<string, true | string> | null | undefined): string =>
  Object.entries(restrictions ?? {})
    .map(([name, value]) => (value === true ? name : `${name}=${value}`))
    .join(';');

/**
 * CSV with a header row, streamed: rows are pulled from `rows` as the consumer reads (backpressure), so memory
 * stays bounded whatever the number of rows. An error of the source destroys the returned stream with it.
 */
/** how a CSV download is written: `bom`, a UTF-8 byte order mark first, which Excel needs to read it as UTF-8 (probe 73 F2) */
export interface CsvOptions {
  bom?: boolean;
}

export function csvStream(columns: readonly string[], rows: AsyncIterable<string[]>, options: CsvOptions = {}): Readable {
  return pipeline(Readable.from(rows, { objectMode: true, highWaterMark: 256 }), stringify({ header: true, columns: [...columns], bom: options.bom === true }), () => {
    // errors reach the consumer through the returned stream
  });
}
