import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../settings';
import { realPathOf } from './real-path';

/**
 * `erasure-journal-used` in a data dir: it has written an erasure journal (its path the file's one line). Copied with
 * the data dir into its backups, so that a restored copy knows that erasures may have been decided after it.
 */
export const journalMarker = (dataDir: string): string => join(dataDir, 'erasure-journal-used');

/** the marker and the journal it records ('' for a marker without a path); undefined for a data dir that used none */
export function journalUsedBy(dataDir: string): { marker: string; journal: string } | undefined {
  const marker = journalMarker(dataDir);
  if (!existsSync(marker)) return undefined;
  try {
    return { marker, journal: readFileSync(marker, 'utf8').trim() };
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
}
