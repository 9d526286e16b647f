import { kurrentDriver } from '../drivers/lazy-drivers';
import { AppendOutcomeUnknownError, type ExpectedRevision, WrongExpectedRevisionError } from '../port';

/** The adapter's own timer ran out before the client answered (the call may still be running). */
export class ClientTimeoutError extends Error {
  constructor(
    readonly operation: string,
    readonly ms: number,
  ) {
    super(`KurrentDB did not answer ${operation} within ${ms} ms`);
    this.name = 'ClientTimeoutError';
  }
}

/**
 * Races `promise` against a timer. The client's reads (Rust bridge) ignore deadlines and the feature probe before an
 * append takes none, so this is what bounds the wait (multiStreamAppend takes the client's default deadline, 10 s). The losing promise is
 * left to settle on its own; its rejection is swallowed.
 */
export async function withTimeout<T>(promise: Promise<T>, ms: number, operation: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ClientTimeoutError(operation, ms)), ms);
  });
  promise.catch(() => undefined);
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

// gRPC status codes (see @grpc/grpc-js `status`)
const GRPC_CANCELLED = 1; // cancelled on our side (e.g. close() mid-append): the client leaves it an UnknownError
const GRPC_UNKNOWN = 2;
const GRPC_ABORTED = 10;
const GRPC_INTERNAL = 13;
/** socket errors after which a request may or may not have reached the server */
const SOCKET_ERRORS = new Set(['ECONNRESET', 'EPIPE', 'ETIMEDOUT']);

/** the client's typed error for a raw gRPC one (multiStreamAppend's sink rejects with raw errors) */
function classify(error: unknown): unknown {
  if (!error || typeof error !== 'object') return error;
  try {
    return kurrentDriver().convertToCommandError(error as Error);
  } catch {
    return error; // a code-carrying error that is not quite a gRPC ServiceError
  }
}

/** the append ran out of time: the client's deadline, the server's timeout, or our own timer */
export function isTimeout(error: unknown): boolean {
  const e = classify(error);
  const { DeadlineExceededError, TimeoutError } = kurrentDriver();
  return e instanceof ClientTimeoutError || e instanceof DeadlineExceededError || e instanceof TimeoutError;
}

/**
 * Did the store fail without saying whether it wrote the append? Timeouts, an unreachable or restarting server,
 * a reset connection, a leader change, a call cancelled under us, an error the client could not classify.
 * Not: a revision conflict, a refused request (validation, size, access, deleted stream), a client-side check.
 */
export function isOutcomeUnknown(error: unknown): boolean {
  if (isTimeout(error)) return true;
  const e = classify(error);
  const { UnavailableError, CancelledError, NotLeaderError, UnknownError } = kurrentDriver();
  if (e instanceof UnavailableError || e instanceof CancelledError || e instanceof NotLeaderError)
    return true;
  if (e instanceof UnknownError) {
    // UnknownError is also what an INVALID_ARGUMENT without details becomes: only the codes that say nothing count
    const code = (e as { code?: unknown }).code;
    return [undefined, GRPC_CANCELLED, GRPC_UNKNOWN, GRPC_ABORTED, GRPC_INTERNAL].includes(code as number);
  }
  const socketCode = (error as { code?: unknown } | null)?.code;
  return typeof socketCode === 'string' && SOCKET_ERRORS.has(socketCode);
}

/** The port's conflict error for the client's WrongExpectedVersionError, naming the stream that did not match. */
export function toWrongExpectedRevision(
  error: unknown,
  expectedOf: (stream: string) => ExpectedRevision | undefined,
  fallbackStream: string,
): WrongExpectedRevisionError | undefined {
  const e = classify(error);
  if (!(e instanceof kurrentDriver().WrongExpectedVersionError)) return undefined;
  const stream = typeof e.streamName === 'string' && e.streamName ? e.streamName : fallbackStream;
  const actual = e.actualState;
  return new WrongExpectedRevisionError(
    stream,
    expectedOf(stream) ?? (e.expectedState as ExpectedRevision),
    typeof actual === 'bigint' && actual >= 0n ? actual : 'no_stream',
  );
}

/**
 * Runs an append with the adapter's policy for unclear failures. `send` makes one attempt; the signal it is given is
 * aborted once that attempt is over for us (failed, or our timer ran out while it is still running): an attempt of
 * several calls (appendMany on 25.1: reads, then the write) starts none of them after that, so an attempt given up
 * never writes behind the re-send or after the caller was answered.
 * - a conflict becomes WrongExpectedRevisionError; a refusal is thrown as it is;
 * - a timeout: the identical batch is sent once more, at the SAME expected revision. KurrentDB checks event ids
 *   only when the expected revision is behind the stream: if the first attempt was written, the stream is now
 *   past the expected revision and the server answers as for a duplicate (the original result, nothing written);
 *   if it was not, the second attempt appends it. (Sending it at the stream's new revision instead would be
 *   accepted without any id check: a duplicate batch.) Not at once: while the first attempt is written but not yet
 *   committed (replicated to a quorum — the usual cause of the timeout) the server drops a duplicate without an
 *   answer (`IndexWriter.CheckCommit`'s "idempotent, not ready"), so the re-send waits a quarter of the timeout
 *   (at most 2.5 s, with jitter) to give the first its commit.
 * - any other unclear failure, or a second timeout: AppendOutcomeUnknownError. The command side then re-sends
 *   the identical batch at the original expected revision, for the same reason, before it decides again.
 */
export async function appendWithRetry<T>(
  send: (givenUp: AbortSignal) => Promise<T>,
  timeoutMs: number,
  streams: string,
  mapConflict: (error: unknown) => WrongExpectedRevisionError | undefined,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const given = new AbortController();
    try {
      return await withTimeout(send(given.signal), timeoutMs, `the append to ${streams}`);
    } catch (error) {
      given.abort(error);
      const conflict = mapConflict(error);
      if (conflict) throw conflict;
      if (attempt === 1 && isTimeout(error)) {
        await resendPause(timeoutMs);
        continue;
      }
      if (isOutcomeUnknown(error)) throw new AppendOutcomeUnknownError(streams, error);
      throw error;
    }
  }
}

/** the wait before the re-send after a timeout: a quarter of the timeout, at most 2.5 s, less up to half of it at random */
const resendPause = (timeoutMs: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.min(timeoutMs / 4, 2_500) * (1 - Math.random() / 2)));
