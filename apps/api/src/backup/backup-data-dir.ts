import { DATA_FORMAT, dataFormatOf } from '../infrastructure/data-format';
import { chmodSync, closeSync, copyFileSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { isWithin } from './real-path';
import { DatabaseSync } from 'node:sqlite';

/**
 * A copy of a live embedded data dir that starts as the data dir did at one moment (docs/adr/0031). A file copy of a
 * running data dir (`cp -a`, `tar`) is not one: a database and its write-ahead log are copied at different moments, and
 * the files are copied at different moments too, so a read model or the notary's tree can end past the log (a start
 * then refuses the copy: docs/replicas-and-faults.md) and a kept idempotency answer can name a write the copy lacks.
 *
 * Each database is copied with `VACUUM INTO`, one read transaction of its own: a consistent snapshot of that file,
 * written compact — the pages SQLite left unused are not copied, so no erased user's data rides along in them (rule 12
 * at rest; a page-wise copy carries them). The files are taken in an order that keeps them consistent with each other
 * while writes go on:
 * 1. the files written once (secrets.json, the notary's name and keys) and everything derived from the log — the read
 *    models, the notary's tree, presence, the kept answers (api.sqlite), the mail dispatcher's position: each copy is
 *    of a moment before the log's, so none is ahead of the log's copy;
 * 2. the event log;
 * 3. the data keys last: every event in the copied log was sealed under a key created before it, so its key is in the
 *    copy unless a deletion forgot it meanwhile (the deleted user's data is then unreadable in the copy, as it should
 *    be, though the copied log ends before the deletion's event).
 * Leases (`*-lease.sqlite`) are not copied: a restored data dir starts without holders; nor the development mailer's
 * `outbox.jsonl`. The copy is written beside its
 * destination (`<destination>.partial`), checked as a start checks a data dir (keys belong to the log, nothing derived
 * is past it, every notarized event kept), flushed to disk, then renamed into place: a destination that exists is a
 * whole, checked backup.
 */
export interface BackupStep {
  file: string;
  bytes: number;
  ms: number;
}

/** the order of the copies (above): higher later */
const phaseOf = (file: string): number => (file === 'keys.sqlite' ? 2 : file === 'events.sqlite' ? 1 : 0);
const isDatabase = (file: string) => file.endsWith('.sqlite');
/**
 * what is not copied: SQLite's side files (their content is in each database's snapshot), the leases, and the
 * development mailer's outbox (mails as sent, addresses and links in clear: nothing the service reads back, and no
 * erasure reaches it)
 */
const skipped = (file: string) => /-(wal|shm|journal)$/.test(file) || file.endsWith('-lease.sqlite') || file === 'outbox.jsonl';

export class BackupProblem extends Error {
  override readonly name = 'BackupProblem';
}

/** The files of `dataDir` to copy, in the order they must be copied. */
export function backupPlan(dataDir: string): string[] {
  if (!existsSync(join(dataDir, 'events.sqlite'))) throw new BackupProblem(`${dataDir} holds no events.sqlite: not an embedded data dir (with EVENTSTORE_URL and MONGO_URL, back up those servers with their own tools)`);
  const files = readdirSync(dataDir, { withFileTypes: true })
    .filter((entry) => entry.isFile() && !skipped(entry.name))
    .map((entry) => entry.name);
  return files.sort((a, b) => phaseOf(a) - phaseOf(b) || a.localeCompare(b));
}

/**
 * Copies `dataDir` to `destination` (which must not exist), then runs `check` on the copy before it is put in place.
 * `onStep` is told of each file as it is copied.
 */
export async function backupDataDir(
  dataDir: string,
  destination: string,
  check: (copy: string) => Promise<void>,
  onStep: (step: BackupStep) => void = () => undefined,
): Promise<{ steps: BackupStep[]; lastPosition: bigint | undefined }> {
  const source = resolve(dataDir);
  const target = resolve(destination);
  const partial = `${target}.partial`;
  if (existsSync(target)) throw new BackupProblem(`${target} exists: give a new path (a backup is never written over another)`);
  // a path that is, or is in, the data dir — or holds it — as they really are (links followed: probe 63 F7)
  if (isWithin(target, source) || isWithin(partial, source) || isWithin(source, partial) || isWithin(source, target))
    throw new BackupProblem(`${target} and the data dir ${source} overlap: give a path outside the data dir`);
  // never removed here: a directory of that name may be anything (probe 63 F2: it was the data dir itself)
  if (existsSync(partial)) throw new BackupProblem(`${partial} exists (a backup that stopped half-way?): remove it, or give another path`);
  // (after the plan: a path that holds no data dir is told so first, probe 94 F2)
  const plan = backupPlan(source);
  // a data dir of another version is not this tool's to copy: checking the copy as a start would convert it (an earlier
  // version's keys moved into this version's layout), and that version could not restore it (probe 93 F2)
  const format = dataFormatOf(source);
  if (format !== DATA_FORMAT)
    throw new BackupProblem(
      format > DATA_FORMAT
        ? `${source} was written by a later version of Rollcall (data format ${format}; this tool's is ${DATA_FORMAT}): back it up with that version's npm run backup`
        : `${source} was written by an earlier version of Rollcall (${format === 0 ? 'no data-format mark' : `data format ${format}`}; this tool's is ${DATA_FORMAT}): a copy made here would be converted to this version's layout, which that version cannot restore. Stop its processes and copy the directory whole (cp -a) as its backup, or use its own backup command`,
    );
  mkdirSync(partial, { recursive: true, mode: 0o700 });
  const steps: BackupStep[] = [];
  try {
    for (const file of plan) {
      const started = performance.now();
      const to = join(partial, file);
      if (isDatabase(file)) snapshotDatabase(join(source, file), to);
      else copyFileSync(join(source, file), to);
      chmodSync(to, 0o600); // as the data dir's: secrets.json and the keys are in it
      flush(to);
      const step = { file, bytes: statSync(to).size, ms: Math.round(performance.now() - started) };
      steps.push(step);
      onStep(step);
    }
    const lastPosition = lastPositionOf(join(partial, 'events.sqlite'));
    await check(partial);
    flush(partial);
    renameSync(partial, target);
    flush(resolve(target, '..'));
    return { steps, lastPosition };
  } catch (error) {
    rmSync(partial, { recursive: true, force: true });
    throw error;
  }
}

/** One database's consistent snapshot, compact (`VACUUM INTO`: its own read transaction, writers go on meanwhile). */
function snapshotDatabase(from: string, to: string): void {
  const db = new DatabaseSync(from, { readOnly: true });
  try {
    db.exec('PRAGMA busy_timeout = 5000');
    db.prepare('VACUUM INTO ?').run(to);
  } finally {
    db.close();
  }
}

/** the copy's last log position: what the operator tells auditors and consumers after a restore (probe 63 F8) */
function lastPositionOf(file: string): bigint | undefined {
  // not read-only: closing the only connection takes its -wal and -shm away with it
  const db = new DatabaseSync(file);
  try {
    const row = db.prepare('SELECT max(position) AS last FROM events').get() as { last: number | bigint | null };
    return row.last === null ? undefined : BigInt(row.last);
  } finally {
    db.close();
  }
}

function flush(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export const describeStep = (step: BackupStep) => `${basename(step.file)}: ${step.bytes.toLocaleString('en-US')} bytes in ${step.ms} ms`;
