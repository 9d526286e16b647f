// A projection's checkpoint in `rs_checkpoints`: written by a commit (commit.ts) and by a bulk load's writes (bulk-load.ts).
import type { SqliteConnection } from './connection';

/** moves the projection's checkpoint forward to `checkpoint` (never back), in the caller's transaction; none: untouched */
export function moveCheckpoint(conn: SqliteConnection, projection: string, checkpoint: bigint | undefined): void {
  if (checkpoint === undefined) return;
  conn
    .stmt(
      `INSERT INTO rs_checkpoints (projection, position) VALUES (?, ?)
       ON CONFLICT (projection) DO UPDATE SET position = excluded.position
       WHERE excluded.position > rs_checkpoints.position`,
    )
    .run(projection, checkpoint);
}
