import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { SqliteTreeStore, holdsTree } from '@rollcall/audit';
import { DataDirProblem, type EventStore, createRollcallEventStore } from '@rollcall/event-store';
import type { Config } from '../config';

/**
 * Before the app is made (a provider's error is Nest's to report, with a stack): the data dir's files belong together.
 * Opening the stores refuses a keys.sqlite that is not the log's (createRollcallEventStore; probe 33 F5); then the log
 * must not be older than what was built on it (assertLogNotBehind). Throws DataDirProblem: main.ts exits 78.
 */
export async function checkDataDir(config: Pick<Config, 'dataDir' | 'eventstoreUrl' | 'mongoUrl'>): Promise<void> {
  const { store } = await createRollcallEventStore({ dataDir: config.dataDir, eventstoreUrl: config.eventstoreUrl, mongoUrl: config.mongoUrl });
  try {
    await assertLogNotBehind(config.dataDir, store, Boolean(config.mongoUrl));
    if (!config.eventstoreUrl) assertNotarizedEventsKept(config.dataDir);
  } finally {
    await store.close();
  }
}

/**
 * Refuses an event log older than what was built on it in the same data dir: the notary's tree (audit.sqlite) or a
 * read model's checkpoint (read.sqlite) past the log's head. That is a log restored alone from a backup, or files
 * mixed from two copies (probe 33 F6): served, new events took positions the notary and the projector had passed, so
 * acknowledged writes never reached the lists or the history (`X-Min-Position` satisfied at once), and the notary
 * signed nothing more. What was built is read first, then the head: another replica appending meanwhile only moves the
 * head on. Read models in MongoDB are not looked at here (their checkpoints are the projector's to compare).
 */
export async function assertLogNotBehind(dataDir: string, events: EventStore, readModelsInMongo: boolean): Promise<void> {
  const built = [...notarized(dataDir), ...(readModelsInMongo ? [] : projected(dataDir))];
  if (built.length === 0) return;
  const head = await events.headPosition();
  const ahead = built.filter((b) => b.position > head);
  if (ahead.length === 0) return;
  const log = head < 0n ? 'holds no event' : `ends at position ${head}`;
  throw new DataDirProblem(
    `The event log ${log}, but ${ahead.map((b) => `${b.what} reached ${b.position}`).join(' and ')}: the log lost its last events ` +
      `(a torn write-ahead log after a crash, ${gap(head, ahead)}), or was rolled back or replaced (restored alone from a backup, or files of two copies mixed). ` +
      'Restore the whole data dir from one backup; without one, stop every process and move read.sqlite* and audit.sqlite* aside to have them made again from the log ' +
      '(docs/replicas-and-faults.md, "Without a backup to restore"; the events lost are lost). Served as it is, new writes would take positions these have passed and never show',
  );
}

/**
 * Refuses an embedded event log that lost events in the middle after the notary's tree took them in: the tree holds
 * one leaf per event, so the events up to the last leaf's position must be as many as the leaves. assertLogNotBehind
 * sees a log cut at its end only; an entry deleted from the middle (the file edited, or two copies' files mixed) was
 * served with /health ok, and an organization's auditor could not tell its gap from another organization's entry
 * (probe 60 F1). Counted through the log's smallest index (~0.5 s cold for a 2 GB log of 66,000 events), less the
 * events past the tree (few: the notary follows the head). `rollcall-audit verify` says which entry differs.
 * `betweenCounts`: run between the two counts (tests).
 */
export function assertNotarizedEventsKept(dataDir: string, betweenCounts: () => void = () => undefined): void {
  const treeFile = join(dataDir, 'audit.sqlite');
  const logFile = join(dataDir, 'events.sqlite');
  if (!holdsTree(treeFile) || !existsSync(logFile)) return;
  const tree = new SqliteTreeStore(treeFile, { readOnly: true });
  let leaves: number;
  let last: bigint | undefined;
  try {
    // one snapshot of the tree: a leaf the notary appends between two reads would pair one size with another's last
    tree.pin();
    leaves = tree.size();
    last = tree.lastLeaf()?.position;
  } finally {
    tree.close();
  }
  if (last === undefined) return;
  const log = new DatabaseSync(logFile, { readOnly: true, timeout: 5000 });
  let kept: number;
  try {
    // both counts in one read transaction: another replica appends meanwhile, and an event counted by the second only
    // read as one gone (probe 61 F2: 1 start in 12 beside a replica taking writes was refused as "altered")
    log.exec('BEGIN');
    const all = Number((log.prepare('SELECT count(*) AS n FROM events').get() as { n: number }).n);
    betweenCounts(); // (tests: another process's append here)
    const past = Number((log.prepare('SELECT count(*) AS n FROM events WHERE position > ?').get(last) as { n: number }).n);
    log.exec('COMMIT');
    kept = all - past;
  } finally {
    log.close();
  }
  if (kept === leaves) return;
  const what = kept < leaves ? `only ${kept}: ${leaves - kept} event(s) it notarized are gone from the log` : `${kept}: ${kept - leaves} event(s) were put into the log among those it notarized`;
  throw new DataDirProblem(
    `The notary's tree (${treeFile}) holds ${leaves} entries up to position ${last}, but the event log (${logFile}) has ${what}. ` +
      'The log was altered after it was notarized (edited, or files of two copies mixed): `npm run audit -- verify --data-dir <dir>` names the first entry that differs. ' +
      'Restore the whole data dir from one backup (docs/replicas-and-faults.md); served as it is, auditors would find entries missing that the signed checkpoints hold',
  );
}

/** how far behind the log is: a few positions is what a torn last page of the WAL loses (probe 41 F8, probe 51 F6) */
const gap = (head: bigint, ahead: Built[]): string => {
  const most = ahead.reduce((far, b) => (b.position > far ? b.position : far), head) - head;
  return `here ${most} position${most === 1n ? '' : 's'}`;
};

interface Built {
  what: string;
  position: bigint;
}

/** the position of the last entry the notary's tree holds */
function notarized(dataDir: string): Built[] {
  const file = join(dataDir, 'audit.sqlite');
  if (!holdsTree(file)) return [];
  const tree = new SqliteTreeStore(file, { readOnly: true });
  try {
    const last = tree.lastLeaf()?.position;
    return last === undefined ? [] : [{ what: `the notary's tree (${file})`, position: last }];
  } finally {
    tree.close();
  }
}

/** the furthest checkpoint of the embedded read models */
function projected(dataDir: string): Built[] {
  const file = join(dataDir, 'read.sqlite');
  if (!existsSync(file)) return [];
  const db = new DatabaseSync(file, { readOnly: true, timeout: 5000 });
  try {
    const hasTable = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'rs_checkpoints'").get() !== undefined;
    const row = hasTable ? (db.prepare('SELECT projection, position FROM rs_checkpoints ORDER BY position DESC LIMIT 1').get() as { projection: string; position: number } | undefined) : undefined;
    return row === undefined ? [] : [{ what: `the read model ${row.projection} (${file})`, position: BigInt(row.position) }];
  } finally {
    db.close();
  }
}
