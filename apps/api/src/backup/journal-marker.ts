import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../settings';

/**
 * `erasure-journal-used` in a data dir: it has written an erasure journal (its path the file's one line). Copied with
 * the data dir into its backups, so that a restored copy knows that erasures may have been decided after it.
 */
export const journalMarker = (dataDir: string): string => join(dataDir, 'erasure-journal-used');

/**
 * A data dir that used a journal, started without `ROLLCALL_ERASURE_JOURNAL`: refused (exit 78), before anything is
 * opened — a restored backup would serve again the users deleted, the addresses erased and the keys revoked since it
 * was taken (probe 116 F1: accepted silently; the refusal came only when the variable named a missing file). Removing
 * the marker is the operator's way to stop using a journal on purpose.
 */
export function refuseWithoutJournal(config: { dataDir: string; erasureJournal?: string }): void {
  if (config.erasureJournal) return;
  const marker = journalMarker(config.dataDir);
  if (!existsSync(marker)) return;
  const used = readFileSync(marker, 'utf8').trim();
  throw new ConfigError([
    `ROLLCALL_ERASURE_JOURNAL is not set, but this data dir has used an erasure journal${used ? ` (${used})` : ''} (${marker}): set it to that journal — started without it, a data dir restored from a backup serves again what was erased since. To stop using a journal, remove ${marker}`,
  ]);
}
