// A command found in the log by its idempotency key (a retry, or the same request decided by another replica): where
// its events are, and reading them back (docs/adr/0004 point 2).
import { fromStored } from '@rollcall/domain';
import type { EventStore } from '@rollcall/event-store';
import type { CommandContext } from './command-context';
import { IdempotencyKeyReusedError } from './idempotency';
import type { AppliedCommand, Loaded } from './stream-states';

/** Where the command's events are when the states already hold them (found by idempotency key): a retry. */
export function appliedOf(streams: Loaded<unknown>[], ctx: CommandContext, attempt: number): { stream: string; at: AppliedCommand }[] | undefined {
  // a key made for this request (no client key) is in no log before this command's first append was sent
  if (attempt === 1 && ctx.generatedKey) return undefined;
  // under the recorded form, or (events recorded before session 33) the client's key in clear
  const inClear = ctx.recordedKey !== ctx.idempotencyKey;
  const found = streams
    .map((s) => ({ stream: s.stream, at: (s.applied(ctx.recordedKey) ?? (inClear ? s.applied(ctx.idempotencyKey) : undefined))! }))
    .filter((s) => s.at !== undefined);
  if (found.length === 0) return undefined;
  // the key's events answer another request (the stored answer, which would have said so, is gone)
  if (ctx.requestHash !== undefined && found.some((f) => f.at.requestHash !== undefined && f.at.requestHash !== ctx.requestHash))
    throw new IdempotencyKeyReusedError();
  return found;
}

/**
 * The command's events, read back in log order: where the states found its key, and in the command's other streams
 * after the revision their states were loaded at. A command's parts are committed together, but its streams' states
 * are loaded one after the other: another replica's commit of the command can land between two loads, so one state
 * holds the key and another (loaded before) does not; the log has both parts (replicas e2e, seed 13: an acceptance
 * answered from its organization part alone, its workspace part missing, was a 500).
 */
export async function readBack<E>(
  store: EventStore,
  found: { stream: string; at: AppliedCommand }[],
  loaded: Loaded<unknown>[],
  { idempotencyKey, recordedKey, requestHash }: Pick<CommandContext, 'idempotencyKey' | 'recordedKey' | 'requestHash'>,
): Promise<{ events: E[]; position: string; readFrom: string }> {
  const recorded = [];
  // (the part the states found was read, so the other parts read now are there: the embedded store's reads never go
  // back in the log within a turn, KnownHeads.saw; replicas e2e seeds 26 and 36 of session 21, before it did)
  for (const { stream, at } of found) {
    let left = at.count;
    for await (const e of store.readStream(stream, { fromRevision: at.fromRevision })) {
      recorded.push(e);
      if (--left === 0) break;
    }
  }
  for (const { stream, expected } of loaded) {
    if (found.some((f) => f.stream === stream)) continue;
    const fromRevision = expected === 'no_stream' ? 0n : expected === 'any' ? undefined : expected + 1n;
    if (fromRevision === undefined) continue;
    for await (const e of store.readStream(stream, { fromRevision })) {
      if (e.metadata.idempotencyKey !== recordedKey && e.metadata.idempotencyKey !== idempotencyKey) continue;
      // as appliedOf: the key's events answer another request
      if (requestHash !== undefined && typeof e.metadata.requestHash === 'string' && e.metadata.requestHash !== requestHash) throw new IdempotencyKeyReusedError();
      recorded.push(e);
    }
  }
  const readFrom = [
    ...found.map(({ stream, at }) => `${stream}@${at.fromRevision}+${at.count}`),
    ...loaded.filter((l) => !found.some((f) => f.stream === l.stream)).map((l) => `${l.stream}>${String(l.expected)}${l.after ? ' (in flight)' : ''}`),
  ].join(', ');
  if (recorded.length === 0) throw new Error(`a command found by its key read back no events (${readFrom})`);
  recorded.sort((a, b) => (a.position < b.position ? -1 : a.position > b.position ? 1 : 0));
  const events = recorded.map((e) => fromStored(e)).filter((e) => e !== undefined) as E[];
  return { events, position: recorded[recorded.length - 1]!.position.toString(), readFrom };
}
