import { DatabaseSync } from 'node:sqlite';
import type { NewEvent } from '@rollcall/event-store';

/**
 * Commits `parts` to the embedded log in `file` at once, in one transaction of a connection of its own: another
 * process's commit landing at this very moment, within the current turn of the event loop (where no awaited append
 * can be placed). Each part goes at its stream's next revision, written as the store writes events; personal data is
 * not sealed (plain values, which the reading store passes through as they are).
 */
export function commitNow(file: string, parts: { stream: string; events: NewEvent[] }[]): void {
  const db = new DatabaseSync(file);
  try {
    const head = db.prepare('SELECT MAX(revision) AS head FROM events WHERE stream = ?');
    const insert = db.prepare('INSERT INTO events (id, stream, revision, type, data, metadata, created) VALUES (?, ?, ?, ?, ?, ?, ?)');
    db.exec('BEGIN IMMEDIATE');
    for (const { stream, events } of parts) {
      let revision = ((head.get(stream) as { head: number | null }).head ?? -1) + 1;
      for (const e of events) insert.run(e.id, stream, revision++, e.type, JSON.stringify(e.data ?? null), JSON.stringify(e.metadata ?? {}), Date.now());
    }
    db.exec('COMMIT');
  } finally {
    db.close();
  }
}
