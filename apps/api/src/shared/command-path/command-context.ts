import { randomUUID } from 'node:crypto';
import { uuidV5 } from '@rollcall/event-store';
import type { EventSpan } from './idempotency';
import { type Loaded, laterThan } from './stream-entries';

/** Who asks, and the request's identity: becomes each appended event's metadata. */
export interface CommandContext {
  actorId: string;
  /**
   * Scoped by the caller (organization key, system key, or invitation token), so two tenants' equal keys never
   * collide. When the request carried none, a fresh one: every write has a key, and every id it creates derives
   * from it (docs/adr/0004).
   */
  idempotencyKey: string;
  /**
   * The key as this command's events record it (their `idempotencyKey` and `causationId`): a client's key keyed by the
   * server's secret (DerivedSecrets.recordedKey), so no personal data a client put in its key reaches the log; a key
   * made here as it is. Events recorded before session 33 hold a client's key in clear: a retry is looked for under
   * both (replay.ts). `idempotencyKey` itself still derives the ids a write creates, as it always did.
   */
  recordedKey: string;
  /** the request id: also in the request's log line and in the metadata of every event it appended */
  correlationId: string;
  /** ISO time of the request: the only clock read on the command path */
  now: string;
  /** fingerprint of the request a client key was sent with: a key reused for another request is refused */
  requestHash?: string;
  /** fingerprints earlier versions made of this same request (their retries are this request: `sameRequest`) */
  earlierRequestHashes?: readonly string[];
  /**
   * The key was made for this request (`request:<uuid>`), not sent by a client: no event in any log carries it until
   * this command appends, so its first decision need not look for a retry's events (StreamHandler).
   */
  generatedKey?: true;
  /**
   * Set by StreamHandler when the command's events were already in the log and it answered with them: a retry whose
   * first answer was lost, or the same request decided first by another replica. The answer is a replay
   * (`Idempotency-Replayed: true`), as one from the stored answers is.
   */
  answeredFromLog?: boolean;
  /**
   * Where this command's events are (StreamHandler, as it appends them or reads them back): kept with the answer under
   * its key, so that a replay can tell whether an erasure reached them since (shared/command-path/idempotency.ts).
   */
  wrote?: EventSpan[];
  /**
   * The users the request was about (a profile's change, an access, team, org admin or presence change of a user): kept
   * with the answer, so that a retry after their deletion is refused also when the write appended nothing
   * (erased-requests.ts; probe 44b F1, probe 120 F1).
   */
  aboutUsers?: string[];
  /**
   * The organization API key the request was authenticated with. StreamHandler checks it against the organization's
   * state at each decision: a command decided again after the key's revocation is refused (probe 39 F1: keys minted
   * by a key being revoked outlived it).
   */
  apiKey?: { organizationId: string; keyId: string };
}

export const newCommandContext = (over: Partial<CommandContext> & { actorId: string }): CommandContext => {
  const id = randomUUID();
  return {
    idempotencyKey: over.idempotencyKey ?? `request:${id}`,
    recordedKey: over.recordedKey ?? over.idempotencyKey ?? `request:${id}`,
    correlationId: over.correlationId ?? id,
    now: over.now ?? new Date().toISOString(),
    actorId: over.actorId,
    ...(over.requestHash !== undefined && { requestHash: over.requestHash }),
    ...(over.earlierRequestHashes !== undefined && { earlierRequestHashes: over.earlierRequestHashes }),
    ...(over.apiKey !== undefined && { apiKey: over.apiKey }),
    ...(over.idempotencyKey === undefined && { generatedKey: true as const }),
  };
};

/** Namespace of the ids a write creates (organization, admin, key, workspace, invitation, user). Never change it. */
const CREATED_ID_NAMESPACE = '0b7e4f9a-3c52-4d1e-8f6a-5a2c9d0e7b13';

/**
 * The id of the `purpose` thing a write creates, derived from its idempotency key: a retry of the same write
 * creates the same ids, so it finds its own events instead of creating a second organization or invitation.
 * From the key as recorded (a client's keyed by the server's secret), not as sent: a client may build its key from
 * an address (`invite:jane@acme.test`), and an id derived from it in clear outlives a deletion in the history, the
 * feed and the log, where anyone guessing the address and the convention could derive it again and link the deleted
 * user's pseudonymous remains to them (probe 40 F1; docs/adr/0004, "Session 40").
 */
export const createdId = (ctx: CommandContext, purpose: string): string => uuidV5(CREATED_ID_NAMESPACE, `${ctx.recordedKey}:${purpose}`);

/**
 * Dates the command no earlier than the latest change of the streams it decides on (docs/rules.md rule 17; called by
 * StreamHandler before each decision). A command decided again after another writer's change got in first (its
 * request came earlier, or another replica's clock is ahead) would otherwise carry a time before that change, after it
 * in the stream: the history would date it before the change it follows, and a replay to its time would stop at that
 * change and leave it out. Deciders read `ctx.now` when they decide, so expiries and the like start from that time.
 */
export function dateAfter(ctx: CommandContext, streams: Loaded<unknown>[]): void {
  for (const s of streams) if (s.lastAt !== undefined && laterThan(s.lastAt, ctx.now)) ctx.now = s.lastAt;
}

/** Whether a fingerprint recorded with a key (a kept answer, an event's metadata) is of this request, as this version or an earlier one made it. */
export const sameRequest = (ctx: Pick<CommandContext, 'requestHash' | 'earlierRequestHashes'>, recorded: string): boolean =>
  recorded === ctx.requestHash || (ctx.earlierRequestHashes?.includes(recorded) ?? false);
