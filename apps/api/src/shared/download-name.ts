import contentDisposition from 'content-disposition';

/** what a file name may not hold on the systems people save downloads to (Windows' reserved characters, controls) */
// eslint-disable-next-line no-control-regex
const NOT_IN_A_FILE_NAME = /[\u0000-\u001f\u007f<>:"/\\|?*]+/gu;

/** a workspace's or organization's name as part of a file name: at most 80 characters, none a file system refuses */
const fileNamePart = (name: string) => {
  const cleaned = name.normalize('NFC').replace(NOT_IN_A_FILE_NAME, '_').replace(/\s+/gu, ' ').trim();
  // cut by code points, not UTF-16 units: half a surrogate pair is no character
  return [...cleaned].slice(0, 80).join('').replace(/^[. ]+|[. ]+$/gu, '') || 'unnamed';
};

/**
 * The `Content-Disposition` of a download named after what it holds and the day it was taken:
 * `members-Sales-2026-12-07.csv` — eleven downloads named `members.csv` could not be told apart in an access review's
 * folder (probe 82 F2). A name outside ASCII is sent as RFC 5987's `filename*` (UTF-8) beside an ASCII fallback, as
 * RFC 6266 says; the `content-disposition` package writes both.
 */
export function downloadDisposition(kind: string, of: string, at: Date, extension: 'csv' | 'json'): string {
  const name = `${kind}-${fileNamePart(of)}-${at.toISOString().slice(0, 10)}.${extension}`;
  return contentDisposition(name, { fallback: asciiFallback(name) });
}

/**
 * The plain `filename` for clients that do not read `filename*`: accents dropped ("Équipe" → "Equipe"), any other
 * character outside ASCII an underscore. The package's own fallback keeps ISO-8859-1 letters as they are, which
 * browsers decode differently; given an ASCII one, it sends every name outside ASCII as `filename*` too.
 */
const asciiFallback = (name: string) =>
  [...name.normalize('NFKD').replace(/\p{Mn}/gu, '')].map((c) => (c >= ' ' && c <= '~' ? c : '_')).join('');
