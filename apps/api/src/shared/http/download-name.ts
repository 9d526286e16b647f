import contentDisposition from 'content-disposition';

/** what a file name may not hold on the systems people save downloads to (Windows' reserved characters, controls) */
// eslint-disable-next-line no-control-regex
const NOT_IN_A_FILE_NAME = /[\u0000-\u001f\u007f<>:"/\\|?*]+/gu;

/**
 * at most this many bytes of UTF-8 of the name in a file name: with the kind and the day the whole stays far below the
 * 255 bytes file systems take (probe 98 F2: 58 emoji made a 255-byte name, and Chromium cancelled the download)
 */
const NAME_BYTES = 100;

/** what a reader sees as one character: a letter with its accents, an emoji of several code points (ICU's rules) */
const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/** a workspace's or organization's name as part of a file name: none of what a file system refuses, cut at a character */
const fileNamePart = (name: string): string => {
  const cleaned = name.normalize('NFC').replace(NOT_IN_A_FILE_NAME, '_').replace(/\s+/gu, ' ').trim();
  let kept = '';
  let bytes = 0;
  // by what a reader sees as characters, never part of one (probe 99 F8: a family emoji cut after its joiner)
  for (const { segment } of graphemes.segment(cleaned)) {
    bytes += Buffer.byteLength(segment);
    if (bytes > NAME_BYTES) break;
    kept += segment;
  }
  return kept.replace(/^[. ]+|[. ]+$/gu, '');
};

/**
 * The plain `filename` for clients that do not read `filename*` (curl -OJ): accents dropped ("Équipe" → "Equipe"), a
 * run of other characters outside ASCII one underscore; a name with no letter or digit left is named by its id's
 * first 8 characters instead (probe 98 F2: every Hebrew or emoji name was underscores of its length, and they
 * collided). The package's own fallback keeps ISO-8859-1 letters as they are, which browsers decode differently.
 */
const asciiPart = (part: string, id: string): string => {
  const ascii = part
    .normalize('NFKD')
    .replace(/\p{Mn}/gu, '')
    .replace(/[^ -~]+/gu, '_');
  return /[A-Za-z0-9]/.test(ascii) ? ascii : id.slice(0, 8);
};

/**
 * The `Content-Disposition` of a download named after what it holds and the day it was taken:
 * `members-Support-2026-12-07.csv` — eleven downloads named `members.csv` could not be told apart in an access review's
 * folder (probe 82 F2). A name outside ASCII is sent as RFC 5987's `filename*` (UTF-8) beside an ASCII fallback, as
 * RFC 6266 says; the `content-disposition` package writes both. `of`: the workspace or organization, its name and id
 * (a name of nothing a file name keeps is named by its id).
 */
export function downloadDisposition(kind: string, of: { name: string; id: string }, at: Date, extension: 'csv' | 'json'): string {
  const part = fileNamePart(of.name) || of.id.slice(0, 8);
  const day = at.toISOString().slice(0, 10);
  const name = `${kind}-${part}-${day}.${extension}`;
  return contentDisposition(name, { fallback: `${kind}-${asciiPart(part, of.id)}-${day}.${extension}` });
}
