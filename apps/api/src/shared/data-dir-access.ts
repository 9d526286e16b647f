// Who may use the data dir: only this process's user (modes, owners), and whether it can write its own files there.
import { accessSync, chmodSync, constants, existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ConfigError } from '../settings';

/**
 * The data dir holds keys, hashes and personal data: only this process's user may read it. Files this process
 * creates from now on are 0600 and directories 0700 (umask); what an earlier version left readable is closed now.
 */
export function protectDataDir(dataDir: string, canWrite?: (path: string) => void, euid: number | undefined = process.geteuid?.()): void {
  process.umask(0o077);
  const uid = process.getuid?.() ?? '?';
  try {
    makeDataDir(dataDir);
    // root may write anywhere: on another user's data dir it started, and the files it made there (root's, 0600) then
    // refused that user's next start (probe 96 F7); another user's dir is refused for root too, as it is for them
    const owner = statSync(dataDir).uid;
    if (euid === 0 && owner !== 0)
      throw new ConfigError([`ROLLCALL_DATA_DIR ${dataDir} cannot be used: it belongs to another user (uid ${owner}), and this process runs as root: run it as that user, or give the dir to root (chown -R 0 ${dataDir}), and start again`]);
    closeToOthers(dataDir);
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    const { code, message } = error as NodeJS.ErrnoException;
    // each with what to do (probe 95 F12: "it belongs to another user" named no fix)
    const why =
      code === 'EPERM'
        ? `it belongs to another user (EPERM): give it to this process's user (chown -R ${uid} ${dataDir}) and start again`
        : code === 'EACCES'
          ? `permission denied (EACCES): let this process's user (uid ${uid}) reach and write it, and start again`
          : (message ?? String(error));
    throw new ConfigError([`ROLLCALL_DATA_DIR ${dataDir} cannot be used: ${why}`]);
  }
  for (const entry of readdirSync(dataDir, { withFileTypes: true })) {
    try {
      closeToOthers(`${dataDir}/${entry.name}`);
    } catch (error) {
      // another process on the data dir removed it meanwhile (its temporary file, a closed database's WAL); or it is
      // another user's, not this process's to keep (a volume's root-owned lost+found; it crashed the start with a
      // stack trace: review of session 30)
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'EPERM') throw error;
    }
  }
  // the directory itself (made read-only by an operator: its files can be neither made nor replaced), then its files
  const unwritable = [...unwritableFiles(dataDir, canWrite, ['.']), ...unwritableFiles(dataDir, canWrite)];
  // probe 41 F3: an events.sqlite another user owns started a process that refused every write with /health `ok`; a
  // read.sqlite so ended the start with a stack trace (exit 1)
  if (unwritable.length > 0)
    throw new ConfigError([
      `ROLLCALL_DATA_DIR ${dataDir} cannot be used: ${unwritable.map((name) => (name === '.' ? 'the directory' : name)).join(', ')} ${unwritable.length === 1 ? 'is' : 'are'} not writable by this process's user (uid ${uid}): give ${unwritable.length === 1 ? 'it' : 'them'} back to that user and make ${unwritable.length === 1 ? 'it' : 'them'} writable (chown ${uid}, chmod u+w) and start again`,
    ]);
}

/**
 * What an earlier version left readable by others is closed (group and other bits dropped); the owner's bits are left
 * as they are: a data dir or file its operator made read-only stays so, and the start refuses it (probe 95 F8: a start
 * made it writable again, 0700 and 0600, without a word).
 */
function closeToOthers(path: string): void {
  const { mode } = statSync(path);
  if ((mode & 0o077) !== 0) chmodSync(path, mode & 0o700);
}

/** the files of a data dir this code writes: its SQLite databases (with their journals), checkpoints, secrets, keys, outbox */
const OWN_FILE = /\.sqlite(-wal|-shm|-journal)?$|\.checkpoint$|^secrets\.json$|^outbox\.jsonl$|^audit-(origin|public-key|signing-key)$/;

/**
 * the data dir's own files (OWN_FILE, a link to one followed: another file there is not this code's to judge, probe
 * 41b F3) this process cannot write: another user's, or read-only to it
 */
export function unwritableFiles(dataDir: string, canWrite: (path: string) => void = (path) => accessSync(path, constants.W_OK), names?: readonly string[]): string[] {
  const unwritable: string[] = [];
  const entries = names ?? readdirSync(dataDir, { withFileTypes: true }).filter((entry) => OWN_FILE.test(entry.name) && !entry.isDirectory()).map((entry) => entry.name);
  for (const name of entries) {
    try {
      canWrite(`${dataDir}/${name}`);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') unwritable.push(name);
      else if (code !== 'ENOENT') throw error;
    }
  }
  return unwritable;
}

/**
 * Creates the data dir and the directories above it that are missing, one at a time: Node's recursive mkdir loops
 * for ever under /proc (ENOENT, black-box probe 8). A path that exists must be a directory.
 */
function makeDataDir(dataDir: string): void {
  const missing: string[] = [];
  let path = resolve(dataDir);
  while (!existsSync(path)) {
    missing.unshift(path);
    const parent = dirname(path);
    if (parent === path) break;
    path = parent;
  }
  if (existsSync(path) && !statSync(path).isDirectory()) throw new Error(`${path} is a file, not a directory`);
  for (const dir of missing) {
    try {
      mkdirSync(dir, { mode: 0o700 });
    } catch (error) {
      // another replica starting on the same data dir made it meanwhile
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
}
