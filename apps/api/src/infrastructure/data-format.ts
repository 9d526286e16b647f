import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { DataDirProblem, openDatabase, processRunning } from '@rollcall/event-store';
import { type LeaseJob, lapsed } from './lease';

/**
 * The version of what this code writes to a data dir and expects of it, as one number (docs/adr/0020). Raise it when a
 * version appends an event type, or changes a file's layout, that an earlier one would misread or ignore: processes of
 * two numbers must not serve one data dir (an earlier one decides as if the events it does not know had not happened:
 * probe 37b, an org admin demoted on the new replica invited through the old one), and an earlier one must not start
 * on what a later one wrote. Versions before session 37 wrote no number (0): they check nothing.
 *
 * 1 (session 37): `ApiKeyRevoked`. 2 (session 41): invitations sealed under their own key (`addressKey: 'invitation'`,
 * docs/adr/0024), which an earlier version reads as the shared key (its resend refused, its deletion leaving the address
 * readable), and the address erasures of session 40 (`AddressErased`, `InvitationAddressErased`), which ran under 1.
 * 3 (session 42): events.sqlite's data keys spread over 256 tables (docs/adr/0026), where an earlier version looks
 * for them in one (`subject_keys`, dropped): it would read every key as forgotten. 4 (session 43): a workspace's
 * snapshots sealed under a key of its own epoch (docs/adr/0013), which an earlier version's deletion does not forget:
 * the snapshots of the workspaces it reached would stay readable. 5 (session 46): `InvitationMailRefused` and
 * `EmailConfirmationMailRefused` (the mail stream, a relay's refusal for good recorded), which an earlier version's mail dispatcher ignores: it mailed the refused
 * link again (probe 48 F1), and its projector stopped at it. 6 (session 54): `ApiKeyLabelChanged` (a key named again: probe 75 F4),
 * which an earlier version ignores — its list of keys would show the old label —, and `OrganizationClosing`,
 * `OrganizationClosed` (docs/adr/0035), past which an earlier version would still decide in a closed organization,
 * and `DataExported` (a download recorded), whose organization's changes an earlier version could not list. 7 (session 56):
`InvitationLinkCopied` (a copied link recorded on the mail stream: probe 83 F4), at which an earlier version's projector
would stop. 8 (session 61): the email-change mails counted in api.sqlite (`email_change_mails`, docs/adr/0038), which an
earlier version ignores: beside this one it kept its own count in memory and let a user past the limit, its mails
counted nowhere (probe 99 F2). 9 (session 62): `TeamShared` and `TeamUnshared` at schema version 2, naming the partners
(docs/adr/0040), which an earlier version would read as a sharing with every partner. Each format's event types and schema versions are pinned
 * by data-format.spec.ts, which fails when one is added without a new format.
 */
export const DATA_FORMAT = 9;

const FILE = 'data-format.sqlite';
const JOBS: readonly LeaseJob[] = ['projector', 'notary', 'publisher', 'publisher_tcp', 'mail'];

/** what the data dir says of a process serving it: registered with its format, or holding a lease without (earlier) */
interface Serving {
  who: string;
  format: number | undefined;
  job?: LeaseJob;
}

/**
 * A process (the API, the projector worker, the rebuild, the audit tool comparing read models) claims the data dir
 * before it serves it: refused when the dir was written by a later format, or while a process of another format serves
 * it (it holds a job's lease without being registered with this format: the earlier versions register nothing). Then registered (host, pid, format), and the
 * dir marked with this format. A process gone is forgotten by the next claim on its host. Over MongoDB the job leases
 * live there and are not looked at.
 */
/** a process of this host registered on the data dir that is gone without forgetting its registration: killed or crashed */
export interface UncleanStop {
  pid: number;
  role: string;
  /** epoch ms */
  started: number;
}

export function claimDataDir(dataDir: string, role: 'api' | 'projector' | 'rebuild' | 'audit', now = Date.now()): { upgradedFrom?: number; uncleanStops?: UncleanStop[] } {
  const self = `${hostname()}|${process.pid}`;
  // the audit tool refuses a dir without a mark before it writes one there (probe 58 F7: the refusal left a new file)
  if (role === 'audit' && !existsSync(join(dataDir, FILE))) throw new DataDirProblem(earlierForAudit(dataDir, 0));
  const db = openDatabase(join(dataDir, FILE), {
    setUp: `CREATE TABLE IF NOT EXISTS data_format (id INTEGER PRIMARY KEY CHECK (id = 1), format INTEGER NOT NULL, since INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS processes (process TEXT PRIMARY KEY, format INTEGER NOT NULL, role TEXT NOT NULL, started INTEGER NOT NULL)`,
  });
  try {
    db.exec('BEGIN IMMEDIATE');
    try {
      const written = (db.prepare('SELECT format FROM data_format WHERE id = 1').get() as { format: number } | undefined)?.format ?? 0;
      // the audit tool compares read models and would upgrade the dir to do so: a verification changes nothing (probe
      // 57 F3: it moved an earlier version's keys and raised the mark, and that version no longer started there)
      if (role === 'audit' && written < DATA_FORMAT) throw new DataDirProblem(earlierForAudit(dataDir, written));
      if (written > DATA_FORMAT)
        throw new DataDirProblem(
          `${dataDir} was written by a later version of Rollcall (data format ${written}; this one reads ${DATA_FORMAT} and earlier): start that version, or restore a backup taken before it ran. An earlier version would ignore what it does not know`,
        );
      const rows = db.prepare('SELECT process, format, role, started FROM processes').all() as { process: string; format: number; role: string; started: number | bigint }[];
      const registered = new Map(rows.map((r) => [r.process, r.format]));
      for (const who of registered.keys()) if (who === self || gone(who)) db.prepare('DELETE FROM processes WHERE process = ?').run(who);
      // a process forgets its registration when it stops (releaseDataDir, since session 59): one still here, gone, did
      // not stop — killed or crashed (or a version before 2026-12-07 stopped) — which the start says (probe 95 F6)
      const uncleanStops = rows
        .filter((r) => r.process !== self && gone(r.process))
        .map((r) => ({ pid: Number(r.process.split('|')[1]), role: r.role, started: Number(r.started) }));
      const other = [...leaseHolders(dataDir, now), ...[...registered].map(([who, format]) => ({ who, format }))].find(
        (s) => s.who !== self && !gone(s.who) && (s.format ?? registered.get(s.who)) !== DATA_FORMAT,
      );
      if (other) throw new DataDirProblem(otherVersion(dataDir, other, registered.get(other.who), role));
      db.prepare('INSERT INTO processes (process, format, role, started) VALUES (?, ?, ?, ?)').run(self, DATA_FORMAT, role, now);
      db.prepare('INSERT INTO data_format (id, format, since) VALUES (1, ?, ?) ON CONFLICT (id) DO UPDATE SET format = excluded.format, since = excluded.since WHERE format < excluded.format').run(DATA_FORMAT, now);
      db.exec('COMMIT');
      // a dir an earlier version served (unmarked before session 38: its api.sqlite or read.sqlite, which an API makes
      // as it starts, after this claim; events.sqlite is made before it, by the start's checks): the start says it
      // upgraded it (probe 57 F6: nothing told the operator when the point past which only a backup rolls back was passed)
      const served = existsSync(join(dataDir, 'api.sqlite')) || existsSync(join(dataDir, 'read.sqlite'));
      if (written < DATA_FORMAT && (written > 0 || served)) return { upgradedFrom: written, ...(uncleanStops.length > 0 && { uncleanStops }) };
      if (uncleanStops.length > 0) return { uncleanStops };
    } catch (error) {
      if (db.isTransaction) db.exec('ROLLBACK');
      throw error;
    }
  } finally {
    db.close();
  }
  return {};
}

/**
 * Forgets this process's registration (claimDataDir) once it stopped: kept after a stop, it was taken for a live process
 * of its version once its pid was reused, and a start of the next version was refused naming an unrelated process
 * (probe 94 F1). Never throws (a process exiting has nothing better to do about it; the next claim forgets a process gone).
 */
export function releaseDataDir(dataDir: string): void {
  try {
    // (another process stopping at the same time may hold the file's write lock a moment)
    const db = new DatabaseSync(join(dataDir, FILE), { timeout: 2_000 });
    try {
      db.prepare('DELETE FROM processes WHERE process = ?').run(`${hostname()}|${process.pid}`);
    } finally {
      db.close();
    }
  } catch {
    // (the next claim on this host forgets a process gone, as before)
  }
}

/**
 * The data format a data dir is marked with, read without writing anything: 0 when it has no mark (never served by a
 * version since session 38, or by none at all).
 */
export function dataFormatOf(dataDir: string): number {
  const file = join(dataDir, FILE);
  if (!existsSync(file)) return 0;
  const db = new DatabaseSync(file, { readOnly: true });
  try {
    const table = db.prepare("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'data_format'").get();
    return table ? ((db.prepare('SELECT format FROM data_format WHERE id = 1').get() as { format: number } | undefined)?.format ?? 0) : 0;
  } finally {
    db.close();
  }
}

/** the audit tool's refusal of a dir an earlier version wrote (`written`: its mark, 0 for none) */
const earlierForAudit = (dataDir: string, written: number): string =>
  `${dataDir} was written by an earlier version of Rollcall (${written === 0 ? 'no data-format mark' : `data format ${written}`}; this tool's is ${DATA_FORMAT}): comparing its read models would upgrade it, and a verification changes nothing. Verify it with the rollcall-audit of the version that wrote it, or a copy of it once this version's API has started on that copy (plain verify, without --read-models, reads any version's log)`;

/** how often `watchOtherProcesses` reads the registry: well within the ~1 s a process takes from its claim to serving */
const WATCH_MS = 250;

/**
 * Calls `othersServe` with whether another live process is registered on the data dir (claimDataDir), now and every
 * WATCH_MS while it changes: the embedded event store then knows whether another process may commit to its log
 * (EventStore.othersMayWrite). A process registers before it opens any store, and answers nothing before its app has
 * started, so this one learns of it before anyone could have been answered by it. Stops with the returned function.
 */
export function watchOtherProcesses(dataDir: string, othersServe: (others: boolean) => void): () => void {
  const self = `${hostname()}|${process.pid}`;
  const db = openDatabase(join(dataDir, FILE));
  const registered = db.prepare('SELECT process FROM processes');
  let last: boolean | undefined;
  const look = () => {
    let others = true;
    try {
      others = (registered.all() as { process: string }[]).some((r) => r.process !== self && !gone(r.process));
    } catch {
      // unreadable for a moment (locked): assume others, as before the first look
    }
    if (others !== last) othersServe((last = others));
  };
  look();
  const timer = setInterval(look, WATCH_MS).unref();
  return () => {
    clearInterval(timer);
    db.close();
  };
}

/** a process of this host that no longer runs (another host's cannot be looked at: its lease's expiry tells) */
const gone = (who: string): boolean => {
  const [host, pid] = who.split('|');
  return host === hostname() && !processRunning(Number(pid));
};

/** the live holders of the data dir's job leases (files an earlier version wrote too: lease.ts) */
function leaseHolders(dataDir: string, now: number): Serving[] {
  const held: Serving[] = [];
  for (const job of JOBS) {
    const file = join(dataDir, `${job}-lease.sqlite`);
    if (!existsSync(file)) continue;
    const db = new DatabaseSync(file, { readOnly: true, timeout: 5_000 });
    try {
      const row = db.prepare(`SELECT holder, expires FROM ${job}_lease WHERE id = 1`).get() as { holder: string; expires: number } | undefined;
      if (row && !lapsed(row.holder, Number(row.expires), now)) held.push({ who: row.holder.split('|').slice(0, 2).join('|'), format: undefined, job });
    } catch {
      // no lease table yet (a file being created): nobody holds it
    } finally {
      db.close();
    }
  }
  return held;
}

function otherVersion(dataDir: string, other: Serving, format: number | undefined, role: string): string {
  const [host, pid] = other.who.split('|');
  const which = format === undefined ? 'an earlier version of Rollcall' : format > DATA_FORMAT ? `a later version of Rollcall (data format ${format})` : `an earlier version of Rollcall (data format ${format})`;
  // an auditor stops nobody's processes: a copy taken at rest, verified with the tool of the version that serves it
  if (role === 'audit')
    return `Process ${pid} on ${host} serves ${dataDir} with ${which}; this tool reads data format ${DATA_FORMAT}: verify a copy of the data dir taken at rest with the rollcall-audit of that version`;
  return (
    `Process ${pid} on ${host}${other.job ? `, holding the ${other.job} lease,` : ''} serves ${dataDir} with ${which}; this one writes data format ${DATA_FORMAT}. ` +
    'Processes of two versions must not serve one data dir (the earlier decides as if the events it does not know had not happened): stop every process of the other version, then start this one (README, Upgrading)'
  );
}
