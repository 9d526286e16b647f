import { randomBytes } from 'node:crypto';
import { type Invitation, type OrganizationState, type WorkspaceState, addressSubject, hasAddress, indexAddress, isPending, pendingKey } from '@rollcall/domain';
import { type SnapshotCipher, type SnapshotSealing, SnapshotUnreadableError, type StoredSnapshot } from '@rollcall/event-store';
import { LoadTurns, SNAPSHOT_TURN_MS } from '../command-path/load-turns';
import { DeferredMap, Derivation, DerivedMap, completeInTurns, inSteps } from './deferred-rows';
import { type RowKind, type SealedAddress, type SealedRow, deferRows, deferText, indexUserAddresses, isRowsChunk, rowsChunk } from './snapshot-rows';
import type { AppliedCommand } from '../command-path/stream-states';

/**
 * How a decision state is written into a snapshot and read back (docs/adr/0013-snapshots-sealed-per-snapshot.md):
 * chunks sealed under the snapshot's one data key. Chunk 0 is the head (the state's small fields, the idempotency
 * keys, the counts); the others hold rows of users, members or invitations, a column per field (snapshot-rows.ts:
 * no field names repeated per row, access values listed once). Chunks are opened, parsed and folded into the state's
 * Maps in turns of ~12 ms (`LoadTurns`), so the event loop stays responsive.
 */

export { INVITATION_FIELDS, MEMBER_FIELDS, USER_FIELDS } from './snapshot-rows';

/** The state's fields stored in the head, in rows, or derived on load (rebuilt, never stored). A spec checks them. */
export const ORGANIZATION_HEAD = ['exists', 'organizationId', 'name', 'workspaces', 'apiKeys', 'revokedApiKeys', 'addressErasures', 'deletedUsers', 'closingSince', 'closedAt'] as const;
export const WORKSPACE_HEAD = ['info', 'teams', 'erasures'] as const;
export const ORGANIZATION_ROWS = ['users'] as const;
export const WORKSPACE_ROWS = ['members', 'invitations'] as const;
export const DERIVED = { organization: ['byEmail', 'byEmailShared'], workspace: ['pendingByEmail', 'pendingByEmailShared'] } as const;

/** What a snapshot gives back: the state at `revision`, and the commands it remembers by idempotency key. */
export interface Restored<S> {
  state: S;
  revision: bigint;
  applied: Map<string, AppliedCommand>;
  /** the latest `occurredAt` of the stream's events up to `revision` (absent from snapshots written before it was kept) */
  lastAt?: string;
}

/** The snapshot's head in clear (the store's `head`): which key opens it; nothing personal. */
export interface ClearHead {
  /** the key store subject of the snapshot's data key: `snapshot:<organization>:<epoch>`, a workspace's `snapshot:<organization>:<workspace>:<epoch>` */
  subjectId: string;
  organizationId: string;
  /**
   * when the state was copied: the organization's deleted users (and erased addresses), or the erasures that had
   * reached the workspace (ADR 0013: an erasure forgets the key of the epochs it ends)
   */
  epoch: number;
  /** random: bound into every chunk's additional data, so no chunk of another snapshot opens in its place */
  id: string;
}

/** A state copied in the turn of a load, to be sealed and stored afterwards. */
export interface SnapshotCopy {
  kind: 'organization' | 'workspace';
  /** the head's JSON: encoded in the copy's turn (teams and the like are updated in place by later folds) */
  head: string;
  rows: { kind: RowKind; items: readonly object[] }[];
  /** the state's organization (an invitation's address is sealed under its key there: addressSubject) */
  organizationId: string;
}

// ---------------------------------------------------------------- the head: JSON with Maps, Sets and bigints

const replacer = (_key: string, value: unknown): unknown =>
  value instanceof Map ? { $map: [...value] } : value instanceof Set ? { $set: [...value] } : typeof value === 'bigint' ? { $big: value.toString() } : value;
const reviver = (_key: string, value: unknown): unknown => {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  const v = value as { $map?: [unknown, unknown][]; $set?: unknown[]; $big?: string };
  if (v.$map) return new Map(v.$map);
  if (v.$set) return new Set(v.$set);
  if (v.$big !== undefined) return BigInt(v.$big);
  return value;
};

const without = (value: object, fields: readonly string[]): Record<string, unknown> => {
  const rest = { ...(value as Record<string, unknown>) };
  for (const f of fields) delete rest[f];
  return rest;
};
const appliedOut = (applied: Map<string, AppliedCommand>) => [...applied].map(([key, at]) => [key, { ...at, fromRevision: at.fromRevision.toString() }]);
const appliedIn = (rows: [string, AppliedCommand & { fromRevision: string }][]) =>
  new Map<string, AppliedCommand>(rows.map(([key, at]) => [key, { ...at, fromRevision: BigInt(at.fromRevision) }]));

// ---------------------------------------------------------------- copies (in the load's turn)

/** Later folds replace users (never mutate them): the Map's values are taken as they are. */
export function copyOrganization(state: OrganizationState, applied: Map<string, AppliedCommand>, lastAt?: string): SnapshotCopy {
  const head = { state: without(state, [...ORGANIZATION_ROWS, ...DERIVED.organization]), applied: appliedOut(applied), lastAt, counts: { users: state.users.size } };
  return { kind: 'organization', head: JSON.stringify(head, replacer), rows: [{ kind: 'users', items: [...state.users.values()] }], organizationId: state.organizationId };
}

/** Later folds replace members but update invitations in place: each invitation is copied. */
export function copyWorkspace(state: WorkspaceState, applied: Map<string, AppliedCommand>, lastAt?: string): SnapshotCopy {
  const head = {
    state: without(state, [...WORKSPACE_ROWS, ...DERIVED.workspace]),
    applied: appliedOut(applied),
    lastAt,
    counts: { members: state.members.size, invitations: state.invitations.size },
  };
  return {
    kind: 'workspace',
    head: JSON.stringify(head, replacer),
    organizationId: state.info.organizationId,
    rows: [
      { kind: 'members', items: [...state.members.values()] },
      { kind: 'invitations', items: [...state.invitations.values()].map((inv) => ({ ...inv })) },
    ],
  };
}

// ---------------------------------------------------------------- sealing (in the background)

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));
const SLICE = 1_000;

export const newSnapshotId = () => randomBytes(12).toString('base64url');
const additionalData = (stream: string, version: string, revision: bigint, id: string, seq: number) => `${stream}\n${version}\n${revision}\n${id}\n${seq}`;

/**
 * The address of an invitation not accepted, as a snapshot holds it: sealed under the address's own key subject (the
 * one its events are sealed under: within the organization, or shared by every organization for invitations sent
 * before session 24), not only under the snapshot's key. A deletion that forgets the
 * address's key leaves it unreadable in every snapshot already stored, read again or not (rule 12;
 * docs/adr/0013-snapshots-sealed-per-snapshot.md point 4). An accepted invitation's address is its member's profile,
 * which the organization holds until that member is deleted there: it stays under the snapshot's key alone.
 */
const addressData = (stream: string, invitationId: string) => `${stream}\ninvitation address\n${invitationId}`;
const sealsAddress = (inv: Invitation) => inv.status !== 'accepted' && hasAddress(inv);

/** Ciphers of these subjects, looked up in slices of 1,000; a subject whose key is gone is absent. */
async function addressCiphers(subjectIds: readonly string[], sealing: SnapshotSealing): Promise<Map<string, SnapshotCipher>> {
  const unique = [...new Set(subjectIds)];
  const ciphers = new Map<string, SnapshotCipher>();
  for (let i = 0; i < unique.length; i += SLICE) {
    for (const [id, cipher] of await sealing.ciphers(unique.slice(i, i + SLICE))) ciphers.set(id, cipher);
    await yieldToEventLoop();
  }
  return ciphers;
}

/**
 * A snapshot not written: an address it would seal has a key made after a deletion that forgot the address's key,
 * which this process has not heard of yet (docs/adr/0003, "Erasure and sealing race", point 7). The state may hold
 * the address from before that deletion; sealed under the new key, it would read again. The next load writes one.
 */
export class ErasureNotHeardYetError extends Error {
  constructor(
    readonly subjectIds: string[],
    /** the latest of those deletions' positions: nothing changes for this write until it is heard */
    readonly until: bigint,
  ) {
    super(`a deletion not heard of yet forgot the keys of ${subjectIds.length} address(es): the snapshot waits for it`);
    this.name = 'ErasureNotHeardYetError';
  }
}

/** Throws ErasureNotHeardYetError when a deletion after log position `heard` forgot one of these subjects' keys. */
async function assertErasuresHeard(subjectIds: readonly string[], heard: bigint, sealing: SnapshotSealing): Promise<void> {
  const unheard = new Map<string, bigint>();
  for (let i = 0; i < subjectIds.length; i += SLICE) {
    const found = await sealing.forgottenAfter(subjectIds.slice(i, i + SLICE), heard);
    if (found === undefined) return; // a key store without tombstones: nothing to tell (ADR 0003 point 7)
    for (const [id, position] of found) unheard.set(id, position);
    await yieldToEventLoop();
  }
  if (unheard.size > 0) throw new ErasureNotHeardYetError([...unheard.keys()], [...unheard.values()].reduce((a, b) => (a > b ? a : b)));
}

/**
 * The addresses of the invitations not accepted, each sealed under its own key, by invitation id. An address whose
 * key is gone (erased by a deletion elsewhere, the state not told yet) is written as a replay would read it: null. An
 * address whose key was made again after a deletion this process has not heard of (log position `heard`) stops the
 * write (ErasureNotHeardYetError).
 */
async function sealAddresses(
  items: readonly object[],
  at: { stream: string; organizationId: string },
  sealing: SnapshotSealing,
  heard: bigint,
): Promise<Map<string, SealedAddress | null>> {
  const { stream, organizationId } = at;
  const invitations = (items as Invitation[]).filter(sealsAddress);
  const subjects = invitations.map((inv) => sealing.subjectId(addressSubject(inv.email, organizationId, inv.addressKey, inv.invitationId)));
  const ciphers = await addressCiphers(subjects, sealing);
  await assertErasuresHeard([...ciphers.keys()], heard, sealing);
  const sealed = new Map<string, SealedAddress | null>();
  invitations.forEach((inv, i) => {
    const cipher = ciphers.get(subjects[i]!);
    sealed.set(inv.invitationId, cipher ? [cipher.subjectId, cipher.seal(inv.email, addressData(stream, inv.invitationId)).toString('base64')] : null);
  });
  return sealed;
}

/**
 * A chunk's text at most this many bytes in V8's heap, whatever the store allows: a string larger than V8's largest
 * regular object (128 KiB) goes to its large-object space, and a cold load decodes every chunk into a string. Measured
 * (session 43, Node 24, load ~2): 57 MB of chunks decoded in 190 KB strings 279–413 ms, in 64–120 KB strings 3–14 ms;
 * the cold load of a 100,000-member workspace spent ~180 ms there (its chunks of 1,000 rows were 134–192 KB).
 */
const CHUNK_HEAP_BYTES = 120 * 1024;
/** a string holding any character past Latin-1 takes two bytes per character in V8's heap */
const heapBytes = (text: string) => (/[\u0100-\uffff]/.test(text) ? 2 : 1) * text.length;

/**
 * The copy's chunks, sealed: the head, then rows by `chunkEntries`, fewer (halved, for the rest of the rows too) while
 * a chunk's text is larger than the store's `chunkBytes` or CHUNK_HEAP_BYTES in memory.
 * `at.erasuresHeard`: the log position through which this process has heard of deletions (sealAddresses).
 */
export async function sealCopy(
  copy: SnapshotCopy,
  at: { stream: string; version: string; revision: bigint; id: string; erasuresHeard: bigint },
  cipher: SnapshotCipher,
  sealing: SnapshotSealing,
  limits: { chunkEntries: number; chunkBytes: number },
): Promise<Uint8Array[]> {
  const chunks: Uint8Array[] = [];
  const seal = (text: string) => chunks.push(cipher.seal(text, additionalData(at.stream, at.version, at.revision, at.id, chunks.length)));
  const fits = (text: string) => Buffer.byteLength(text) <= limits.chunkBytes && heapBytes(text) <= CHUNK_HEAP_BYTES;
  // the addresses first: a write that must wait for a deletion (ErasureNotHeardYetError) seals nothing
  const sealed = new Map<object, Map<string, SealedAddress | null>>();
  for (const row of copy.rows) if (row.kind === 'invitations') sealed.set(row, await sealAddresses(row.items, { stream: at.stream, organizationId: copy.organizationId }, sealing, at.erasuresHeard));
  seal(copy.head);
  for (const row of copy.rows) {
    const { kind, items } = row;
    const addresses = sealed.get(row) ?? new Map<string, SealedAddress | null>();
    // a kind's rows are of a size: once halved, the next chunks start at that many rows
    let entries = limits.chunkEntries;
    for (let i = 0; i < items.length; ) {
      const part = items.slice(i, i + entries);
      const text = JSON.stringify(rowsChunk(kind, part, addresses));
      if (!fits(text) && part.length > 1) {
        entries = Math.ceil(part.length / 2);
        continue;
      }
      seal(text);
      i += part.length;
      await yieldToEventLoop();
    }
  }
  return chunks;
}

// ---------------------------------------------------------------- opening (a cold load)

/**
 * Opens the sealed addresses of a workspace's invitations not accepted (one batched key lookup); an address whose key
 * is gone, or is another key than it was sealed with (erased, then invited again somewhere), stays null, as a replay
 * reads it. Then the pending invitations by address, as evolveWorkspace keeps them (the latest one per address).
 * Returns how many addresses did not open: the stored snapshot is written again without them.
 */
async function openAddresses(stream: string, sealed: readonly SealedRow[], sealing: SnapshotSealing): Promise<number> {
  const ciphers = sealed.length > 0 ? await addressCiphers(sealed.map((s) => s.address[0]), sealing) : new Map<string, SnapshotCipher>();
  let erased = 0;
  for (const { invitationId, address, column, row } of sealed) {
    const email = ciphers.get(address[0])?.open(Buffer.from(address[1], 'base64'), addressData(stream, invitationId));
    if (email === undefined) erased++;
    else column[row] = email;
  }
  return erased;
}

/** The pending invitations by address, as evolveWorkspace keeps them (the latest one per address). */
const indexPendingAddresses = (ws: WorkspaceState): Generator<void> =>
  inSteps(ws.invitations.values(), (inv) => {
    if (inv.status === 'pending') indexAddress(ws.pendingByEmail, ws.pendingByEmailShared, pendingKey(inv.email), inv.invitationId, isPending, ws);
  });

const rowsBuilding = new WeakMap<object, Promise<void>>();

/** When every row of a state restored from a snapshot is built (at once for any other state): for benches and tests. */
export const rowsBuilt = (state: object): Promise<void> => rowsBuilding.get(state) ?? Promise.resolve();

/**
 * A state as a snapshot's head holds it, with its rows' Maps to be filled (DeferredMap) and its address indexes
 * derived from them when first used (DerivedMap), and what builds them all in the background.
 */
export function restoredState(kind: 'organization' | 'workspace', head: Record<string, unknown>, counts: Record<string, number> = {}): { state: OrganizationState | WorkspaceState; complete: () => Promise<void> } {
  if (kind === 'organization') {
    const users = new DeferredMap<never>(counts.users);
    const derivation = new Derivation(() => indexUserAddresses(state));
    const state = { ...head, users, byEmail: new DerivedMap(derivation), byEmailShared: new DerivedMap(derivation) } as unknown as OrganizationState;
    return { state, complete: () => completeInTurns([users], [derivation]) };
  }
  const members = new DeferredMap<never>(counts.members);
  const invitations = new DeferredMap<never>(counts.invitations);
  const derivation = new Derivation(() => indexPendingAddresses(state));
  const state = { ...head, members, invitations, pendingByEmail: new DerivedMap(derivation), pendingByEmailShared: new DerivedMap(derivation) } as unknown as WorkspaceState;
  return { state, complete: () => completeInTurns([members, invitations], [derivation]) };
}

/**
 * Opens a snapshot: its chunks in turns of ~12 ms (LoadTurns), then the invitations' sealed addresses. Throws
 * SnapshotUnreadableError when a chunk does not open. `erasedAddresses`: addresses that did not open (erased since).
 */
export async function openSnapshot(
  kind: 'organization' | 'workspace',
  snapshot: StoredSnapshot,
  head: ClearHead,
  cipher: SnapshotCipher,
  sealing: SnapshotSealing,
): Promise<{ restored: Restored<OrganizationState | WorkspaceState>; erasedAddresses: number }> {
  let state: OrganizationState | WorkspaceState | undefined;
  let complete = (): Promise<void> => Promise.resolve();
  const sealed: SealedRow[] = [];
  let applied = new Map<string, AppliedCommand>();
  let lastAt: string | undefined;
  let seq = 0;
  const turns = new LoadTurns(SNAPSHOT_TURN_MS);
  for await (const chunk of snapshot.chunks()) {
    const bytes = cipher.openBytes(chunk, additionalData(snapshot.stream, snapshot.version, snapshot.revision, head.id, seq));
    if (bytes === undefined) throw new SnapshotUnreadableError(snapshot.stream, `chunk ${seq} does not open under ${head.subjectId}`);
    if (seq++ === 0) {
      const parsed = JSON.parse(bytes.toString('utf8'), reviver) as { state: Record<string, unknown>; applied: never[]; lastAt?: string; counts: Record<string, number> };
      ({ state, complete } = restoredState(kind, parsed.state, parsed.counts));
      applied = appliedIn(parsed.applied);
      lastAt = typeof parsed.lastAt === 'string' ? parsed.lastAt : undefined;
    } else if (!state || !deferText(state, bytes)) {
      const part: unknown = JSON.parse(bytes.toString('utf8'));
      if (!state || !isRowsChunk(part)) throw new SnapshotUnreadableError(snapshot.stream, `chunk ${seq - 1} holds no rows of a ${kind}`);
      try {
        deferRows(state, part, sealed);
      } catch (error) {
        throw new SnapshotUnreadableError(snapshot.stream, `chunk ${seq - 1}: ${(error as Error).message}`);
      }
    }
    if (turns.due()) await turns.yield();
  }
  if (!state) throw new SnapshotUnreadableError(snapshot.stream, 'no head');
  // (the rows a chunk holds are counted when it is parsed: DeferredMap checks them against the head's counts then)
  const erasedAddresses = kind === 'workspace' ? await openAddresses(snapshot.stream, sealed, sealing) : 0;
  // the rows the first commands do not read are built in the background (deferred-rows.ts)
  // (a failure there is a snapshot writer's defect, as a key twice: said, and the Map left as far as it got)
  const built = complete().catch((error: unknown) => process.emitWarning(`${snapshot.stream}: ${(error as Error).message}`, 'SnapshotRowsWarning'));
  rowsBuilding.set(state, built);
  return { restored: { state, revision: snapshot.revision, applied, ...(lastAt !== undefined && { lastAt }) }, erasedAddresses };
}
