import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';

/**
 * Why a data dir was started before, if it was: its notary's tree is there (written after the secrets at every first
 * start), or its embedded event log holds events (probe 62 F7: the tree moved aside, a backup without secrets.json
 * started as a new install). Undefined for a data dir no start has written to. secrets.ts refuses to make new secrets
 * in one that was.
 */
export function whyStartedBefore(dataDir: string): string | undefined {
  if (existsSync(join(dataDir, 'audit.sqlite'))) return 'its audit.sqlite is there';
  if (holdsEvents(join(dataDir, 'events.sqlite'))) return 'its events.sqlite holds events';
  return undefined;
}

/** whether an embedded event log holds an event (read-only: nothing is made where there was nothing) */
function holdsEvents(file: string): boolean {
  if (!existsSync(file)) return false;
  const db = new DatabaseSync(file, { readOnly: true });
  try {
    return db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'events'").get() !== undefined && db.prepare('SELECT 1 FROM events LIMIT 1').get() !== undefined;
  } finally {
    db.close();
  }
}
