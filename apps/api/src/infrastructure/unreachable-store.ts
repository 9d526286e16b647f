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
