// What the API and the projector worker say when a store is not there at start.

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

/**
 * A data dir's disk that failed the start (probe 41 F9: a full disk stopped the start with a stack trace, exit 1), as
 * one sentence naming the data dir and the cause; undefined for any other error. `storage`: what SQLite's error says
 * of its store, if that is what it is (problem.ts storageFault). The API exits 75 with it (EX_TEMPFAIL): space freed
 * or the disk repaired, the same start succeeds.
 */
export function dataDirDiskProblem(error: unknown, dataDir: string | undefined, storage: (error: unknown) => string | undefined): string | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  const cause = storage(error) ?? (typeof code === 'string' ? DISK_ERRNO[code] : undefined);
  if (cause === undefined) return undefined;
  return `ROLLCALL_DATA_DIR ${dataDir ?? '(the data dir)'} cannot be written now: ${cause}. Free space on its device or repair it, then start again (nothing was left half-written)`;
}
