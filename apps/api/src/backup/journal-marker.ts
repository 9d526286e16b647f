import { closeSync, existsSync, openSync, readFileSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../settings';
import { realPathOf } from './real-path';

/** how a journal's first line begins (erasure-journal.ts writes it; its id follows) */
export const JOURNAL_MADE = '{"kind":"JournalMade","journalId":';

/**
 * `erasure-journal-used` in a data dir: it has written an erasure journal (the file's first line its path, the second
 * its id, since session 67). Copied with the data dir into its backups, so that a restored copy knows that erasures
 * may have been decided after it.
 */
export const journalMarker = (dataDir: string): string => join(dataDir, 'erasure-journal-used');

/**
 * The marker, the journal it records ('' for a marker without a path) and that journal's id (its first line's, since
 * session 67; '' before); undefined for a data dir that used none.
 */
export function journalUsedBy(dataDir: string): { marker: string; journal: string; journalId: string } | undefined {
  const marker = journalMarker(dataDir);
  if (!existsSync(marker)) return undefined;
  try {
    const [journal = '', journalId = ''] = readFileSync(marker, 'utf8').split('\n').map((line) => line.trim());
    return { marker, journal, journalId };
  } catch (error) {
    // (probe 117 F3: a marker that was a directory stopped the start with a stack, exit 1)
    throw new ConfigError([
      `${marker} cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}): it records the erasure journal this data dir used; make it a file holding that journal's path, or remove it to stop using a journal`,
    ]);
  }
}

/**
 * A data dir that used a journal is started with that journal, or refused (exit 78) before anything is opened: a
 * restored backup started without it, or with another file, would serve again the users deleted, the addresses erased
 * and the keys revoked since it was taken (probe 116 F1: without the variable; probe 117 F1: with another, empty
 * file). Paths are compared as they really are (links followed). Removing the marker is the operator's way to stop
 * using a journal on purpose; writing another path into it, to move the journal (its lines with it).
 */
export function refuseUnlessItsJournal(config: { dataDir: string; erasureJournal?: string }): void {
  const used = journalUsedBy(config.dataDir);
  if (!used) return;
  const named = used.journal ? ` (${used.journal})` : '';
  if (!config.erasureJournal)
    throw new ConfigError([
      `ROLLCALL_ERASURE_JOURNAL is not set, but this data dir has used an erasure journal${named} (${used.marker}): set it to that journal — started without it, a data dir restored from a backup serves again what was erased since. To stop using a journal, remove ${used.marker}`,
    ]);
  if (used.journal && realPathOf(used.journal) !== realPathOf(config.erasureJournal))
    throw new ConfigError([
      `ROLLCALL_ERASURE_JOURNAL is ${config.erasureJournal}, but this data dir used the erasure journal ${used.journal} (${used.marker}): set it to that one — started with another, a data dir restored from a backup serves again what was erased since. If the journal was moved, with its lines, write its new path into ${used.marker}`,
    ]);
  // the same path, another file: one made anew (an empty file where the lost journal was) holds another id, or none
  // (a missing file is reapply-journal.ts's to refuse)
  const held = existsSync(config.erasureJournal) ? (journalIdOf(config.erasureJournal) ?? 'none') : undefined;
  if (used.journalId && held !== undefined && held !== used.journalId)
    throw new ConfigError([
      `ROLLCALL_ERASURE_JOURNAL ${config.erasureJournal} is not the erasure journal this data dir wrote to (${used.marker} records the journal ${used.journalId}; this file's first line names ${held === 'none' ? 'no journal' : held}): a journal made anew would not re-apply what was erased since a backup — restore the journal, or remove ${used.marker} to start with this one`,
    ]);
}

/**
 * The journal's id, from its first line (made by `create` since session 67); undefined for a file without one (made
 * before, or by someone else), or none.
 */
export function journalIdOf(file: string): string | undefined {
  let head: string;
  try {
    const fd = openSync(file, 'r');
    try {
      const buffer = Buffer.alloc(256);
      head = buffer.subarray(0, readSync(fd, buffer, 0, buffer.length, 0)).toString('utf8');
    } finally {
      closeSync(fd);
    }
  } catch {
    return undefined;
  }
  if (!head.startsWith(JOURNAL_MADE)) return undefined;
  try {
    const made = JSON.parse(head.slice(0, head.indexOf('\n'))) as { journalId?: unknown };
    return typeof made.journalId === 'string' ? made.journalId : undefined;
  } catch {
    return undefined;
  }
}
