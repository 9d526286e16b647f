import { readFileSync } from 'node:fs';
import type { Config } from '../config';

/** what the process needs open besides presence streams: other connections, the data dir's files, the threads' */
export const OTHER_OPEN_FILES = 1_024;

/** This process's soft limit of open files (Linux: /proc/self/limits); undefined where it cannot be read or is unlimited. */
export function openFilesLimit(limits: () => string = () => readFileSync('/proc/self/limits', 'utf8')): number | undefined {
  try {
    const soft = /^Max open files\s+(\d+)/m.exec(limits())?.[1];
    return soft === undefined ? undefined : Number(soft);
  } catch {
    return undefined;
  }
}

/** descriptors kept from HTTP connections: the data dir's databases and their WAL files, threads, the TCP and NATS sockets */
export const RESERVED_FOR_FILES = 256;

/**
 * How many HTTP connections the server takes at once (Node's server.maxConnections: past it, a new connection is
 * closed as it comes), so that connections never take the descriptors the process's files need: 2,901 silent
 * connections (no key needed) took every one, and the mail dispatcher failed to open its checkpoint (EMFILE) until
 * they went (probe 59 F6). Undefined (no bound) where the limit is unknown; at least 16.
 */
export function httpConnectionsLimit(limit: number | undefined): number | undefined {
  return limit === undefined ? undefined : Math.max(limit - RESERVED_FOR_FILES, 16);
}

/**
 * A sentence for the start's log when ROLLCALL_PRESENCE_STREAMS_MAX does not fit under the open-files limit: the
 * streams would take the descriptors every other request needs before the limit refused one (probe 37 F3: at the
 * limit, every tenant's requests and /health were reset). Not a refusal to start: the limit may be raised later.
 */
export function streamLimitWarning(config: Pick<Config, 'presenceStreamsMax'>, limit: number | undefined): string | undefined {
  if (limit === undefined || config.presenceStreamsMax + OTHER_OPEN_FILES <= limit) return undefined;
  return (
    `ROLLCALL_PRESENCE_STREAMS_MAX (${config.presenceStreamsMax}) does not fit under this process's limit of open files (${limit}) with ${OTHER_OPEN_FILES} to spare: ` +
    `presence streams could take the descriptors other requests need. Raise the limit (ulimit -n, LimitNOFILE=) above ${config.presenceStreamsMax + OTHER_OPEN_FILES}` +
    // (no setting fits a limit at or below what the rest needs: probe 41 F6, "lower the setting to 1" under 128)
    (limit > OTHER_OPEN_FILES ? `, or lower the setting to ${limit - OTHER_OPEN_FILES}.` : `: this limit leaves no room for any presence stream, nor for much else.`)
  );
}

/**
 * A start that ran out of file descriptors (probe 41 F6: under `ulimit -n 64` a module-loader stack, exit 1), as one
 * sentence naming the limit; undefined for any other error. Matched by the message too: the loader's error carries no
 * code.
 */
export function openFilesProblem(error: unknown, limit: number | undefined): string | undefined {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  if (code !== 'EMFILE' && !(typeof message === 'string' && /EMFILE|too many open files/i.test(message))) return undefined;
  // (the limit itself may not be readable then: /proc needs a descriptor too)
  return `This process ran out of open files at start${limit === undefined ? '' : ` (its limit: ${limit})`}: raise the limit (ulimit -n, LimitNOFILE=) to at least ${OTHER_OPEN_FILES} plus ROLLCALL_PRESENCE_STREAMS_MAX, then start again`;
}
