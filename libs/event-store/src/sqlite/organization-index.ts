import type { DatabaseSync, StatementSync } from 'node:sqlite';

/**
 * The log indexed by organization, for an organization's feed (`GET /v1/organizations/{org}/events`): without it a page
 * of a quiet organization in a busy log read 1,000 events of the others' to find a few or none of its own, and catching
 * up from the start of a log of N events took N / 1,000 pages (ADR 0021, "Session 63").
 *
 * An event's organization, as the integration event names it (apps/api/src/infrastructure/integration-event.ts): its
 * metadata's `organizationId` (written since session 58), else its stream's (`organization-<id>`, `mail-<id>`), else its
 * data's `organizationId`. An expression index over it (SQLite computes it at each insert: no column to fill, no
 * migration; the first start of a data dir written before builds it, once). `json_valid` first: json_extract raises on
 * text that is not JSON, and an index expression that raises fails the statement that writes the row — a damaged row
 * (or an auditor's test forging one: test/audit.e2e-spec.ts, libs/audit) could then not be written, nor the index be
 * built over it. Its price, measured (quick `bench:http` runs alternated with the code before, load ~2): the indexes
 * add ~0.04 ms of the commit thread's CPU per command with it (0.13 → 0.17), ~0.025 without (0.135–0.152 →
 * 0.163–0.172): ~0.015 ms, ~1 % of a command's CPU, for an index that never stands in the way. Where the indexes cannot be built (createOrganizationIndexes:
 * a connection that may not write), the reads go without them, as over EventStoreDB.
 *
 * Some events name no organization that way: a workspace's or a presence stream's written before session 58 whose data
 * does not name it either (the feed finds their organization by their workspace). A partial index keeps where they are;
 * a page after the last of them reads by the index, one before it reads the log as before (every event, its caller
 * keeps the organization's). The last of them is looked up at every page (the partial index's last entry), so an event
 * that names no organization appended later moves the boundary forward rather than being missed.
 */
const ORGANIZATION_OF_EVENT = `coalesce(
  CASE WHEN json_valid(metadata) THEN json_extract(metadata, '$.organizationId') END,
  CASE WHEN instr(stream, 'organization-') = 1 THEN substr(stream, 14) WHEN instr(stream, 'mail-') = 1 THEN substr(stream, 6) END,
  CASE WHEN json_valid(data) THEN json_extract(data, '$.organizationId') END)`;

const ORGANIZATION_INDEX_SCHEMA = `
  CREATE INDEX IF NOT EXISTS events_by_organization ON events (${ORGANIZATION_OF_EVENT}, position);
  CREATE INDEX IF NOT EXISTS events_of_no_organization ON events (position) WHERE ${ORGANIZATION_OF_EVENT} IS NULL;
`;

const indexed = new WeakSet<DatabaseSync>();
/**
 * Creates the indexes (once per data dir). When it cannot (a connection that may not write opened a data dir written
 * before them), its reads go without, and a warning says why.
 */
export function createOrganizationIndexes(db: DatabaseSync, onBuilt?: (ms: number) => void): void {
  try {
    // (told when a log that holds events gets them: the first start of a data dir written before them, ~9 s per million)
    const built = onBuilt && db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'events_by_organization'").get() === undefined && db.prepare('SELECT 1 FROM events LIMIT 1').get() !== undefined;
    const started = performance.now();
    db.exec(ORGANIZATION_INDEX_SCHEMA);
    indexed.add(db);
    if (built) onBuilt(performance.now() - started);
  } catch (error) {
    process.emitWarning(`the event log is not indexed by organization (its feeds read the log): ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** the position of the last event that names no organization (-1: none), by the partial index */
const LAST_OF_NO_ORGANIZATION = `SELECT coalesce(max(position), -1) AS position FROM events WHERE ${ORGANIZATION_OF_EVENT} IS NULL`;

/** the WHERE term of a read of one organization's events (by the expression index) */
export const OF_ORGANIZATION = `${ORGANIZATION_OF_EVENT} = ?`;

const lastOfNoOrganization = new WeakMap<DatabaseSync, StatementSync>();
/** whether a read after `after` may use the organization index: no event that names no organization comes after it */
export function indexedAfter(db: DatabaseSync, after: bigint): boolean {
  if (!indexed.has(db)) return false;
  let stmt = lastOfNoOrganization.get(db);
  if (!stmt) {
    lastOfNoOrganization.set(db, (stmt = db.prepare(LAST_OF_NO_ORGANIZATION)));
    stmt.setReadBigInts(true);
  }
  return after >= (stmt.get() as { position: bigint }).position;
}
