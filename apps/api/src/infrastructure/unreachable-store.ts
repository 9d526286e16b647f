import { closeSync, openSync, readSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { StorageFault } from '../shared/storage-fault';
// What the API and the projector worker say when a store is not there at start, or the data dir's disk or files fail it.

/** an address to print: without its credentials */
export const withoutCredentials = (url: string): string => {
  try {
    const parsed = new URL(url);
    parsed.username = '';
    parsed.password = '';
    return parsed.toString();
  } catch {
    return '(the configured address)';
  }
};

/**
 * A store that could not be reached at start (EventStoreDB, MongoDB), as one sentence naming the setting and its
 * address (probe 38b F3: a bare stack trace, exit 1); undefined for any other error. The API and the projector worker
 * exit 69 with it (EX_UNAVAILABLE): the configuration may be right and the store not up yet; an orchestrator restarts
 * the process.
 */
export function unreachableStore(error: unknown, config: { eventstoreUrl?: string; mongoUrl?: string }): string | undefined {
  const name = (error as { name?: unknown } | undefined)?.name;
  const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
  // the KurrentDB client's errors keep `name` "Error": their kind is `type` (and the class)
  if (config.eventstoreUrl && ((error as { type?: unknown } | undefined)?.type === 'unavailable' || error?.constructor?.name === 'UnavailableError'))
    return `EVENTSTORE_URL: the event store at ${withoutCredentials(config.eventstoreUrl)} could not be reached (${reason}): start it, or check the address`;
  if (config.mongoUrl && typeof name === 'string' && /^Mongo(ServerSelection|Network|Topology)/.test(name))
    return `MONGO_URL: MongoDB at ${withoutCredentials(config.mongoUrl)} could not be reached (${reason}): start it, or check the address`;
  return undefined;
}

/** the errno codes of a disk that cannot take what the start writes */
const DISK_ERRNO: Record<string, string> = { ENOSPC: 'no space left on its device (ENOSPC)', EDQUOT: 'its disk quota is used up (EDQUOT)', EIO: 'an I/O error (EIO)', EROFS: 'a read-only file system (EROFS)' };

/** the first bytes of every SQLite database file */
const SQLITE_HEADER = Buffer.from('SQLite format 3\0', 'latin1');

/** the data dir's SQLite databases whose first bytes are not a database's (a damaged page further in is not seen) */
export function filesNotDatabases(dataDir: string): string[] {
  const damaged: string[] = [];
  for (const name of readdirSync(dataDir)) {
    if (!name.endsWith('.sqlite')) continue;
    try {
      const head = Buffer.alloc(SQLITE_HEADER.length);
      const fd = openSync(join(dataDir, name), 'r');
      try {
        readSync(fd, head, 0, head.length, 0);
      } finally {
        closeSync(fd);
      }
      if (!head.equals(SQLITE_HEADER) && !head.equals(Buffer.alloc(head.length))) damaged.push(name);
    } catch {
      // unreadable here: the start's own error names it
    }
  }
  return damaged;
}

/**
 * What the data dir's disk or files did to a start that failed, as one sentence and the exit code; undefined for any
 * other error. A disk that cannot take writes (probe 41 F9: a full disk stopped the start with a stack trace, exit 1)
 * exits 75 (EX_TEMPFAIL): space freed or the disk repaired, the same start succeeds. A file that reads as damaged or
 * as no database exits 78 (probe 41b F2: it was advised to free space, and restarted for ever), naming the files whose
 * first bytes are not a database's and what may be done about each. `storage`: what SQLite's error says of its store
 * (storage-fault.ts).
 */
export function dataDirStartProblem(error: unknown, dataDir: string | undefined, storage: (error: unknown) => StorageFault | undefined): { message: string; exitCode: number } | undefined {
  const dir = dataDir ?? '(the data dir)';
  const fault = storage(error);
  if (fault?.kind === 'damaged') {
    const files = dataDir === undefined ? [] : filesNotDatabases(dataDir);
    const which = files.length > 0 ? `${files.join(', ')} ${files.length === 1 ? 'is' : 'are'} not a database` : `${fault.cause} (${error instanceof Error ? error.message : String(error)})`;
    return {
      message:
        `ROLLCALL_DATA_DIR ${dir} cannot be used: ${which}. Restore the data dir from a backup; read.sqlite and audit.sqlite are made again from the log ` +
        '(docs/replicas-and-faults.md, "Without a backup"), events.sqlite and keys.sqlite are not',
      exitCode: 78,
    };
  }
  const code = (error as { code?: unknown } | undefined)?.code;
  const cause = fault?.kind === 'disk' ? fault.cause : typeof code === 'string' ? DISK_ERRNO[code] : undefined;
  if (cause === undefined) return undefined;
  return { message: `ROLLCALL_DATA_DIR ${dir} cannot be written now: ${cause}. Free space on its device or repair it, then start again`, exitCode: 75 };
}
