import { randomBytes } from 'node:crypto';
import { type Invitation, type Member, type OrganizationState, type UserProfile, type WorkspaceState, hasAddress } from '@rollcall/domain';
import { type SnapshotCipher, type SnapshotSealing, SnapshotUnreadableError, type StoredSnapshot } from '@rollcall/event-store';
import { LoadTurns, SNAPSHOT_TURN_MS } from './load-turns';
import type { AppliedCommand } from './stream-states';

/**
 * How a decision state is written into a snapshot and read back (docs/adr/0013-snapshots-sealed-per-snapshot.md):
 * chunks sealed under the snapshot's one data key. Chunk 0 is the head (the state's small fields, the idempotency
 * keys, the counts); the others hold rows of users, members or invitations as arrays in the order of the field lists
 * below (no field names repeated per row: a third less to open and parse). Chunks are opened, parsed and folded into
 * the state's Maps in turns of ~12 ms (`LoadTurns`), so the event loop stays responsive.
 */

/** Fields of the rows, in their order in a chunk. A spec checks that they are every field of a real row. */
export const USER_FIELDS = ['userId', 'email', 'displayName', 'alias', 'avatarUrl', 'orgAdmin', 'deleted', 'joinedAt', 'knownEmails', 'pendingEmail', 'emailChangeVersion'] as const satisfies readonly (keyof UserProfile)[];
export const MEMBER_FIELDS = ['userId', 'access', 'status', 'joinedAt'] as const satisfies readonly (keyof Member)[];
export const INVITATION_FIELDS = ['invitationId', 'email', 'access', 'status', 'linkVersion', 'invitedAt', 'expiresAt', 'linkSentAt', 'inviteeUserId'] as const satisfies readonly (keyof Invitation)[];

/** The state's fields stored in the head, in rows, or derived on load (rebuilt, never stored). A spec checks them. */
export const ORGANIZATION_HEAD = ['exists', 'organizationId', 'name', 'workspaces', 'apiKeys'] as const;
export const WORKSPACE_HEAD = ['info', 'teams'] as const;
export const ORGANIZATION_ROWS = ['users'] as const;
export const WORKSPACE_ROWS = ['members', 'invitations'] as const;
export const DERIVED = { organization: ['byEmail'], workspace: ['pendingByEmail'] } as const;

type RowKind = 'users' | 'members' | 'invitations';
const FIELDS: Record<RowKind, readonly string[]> = { users: USER_FIELDS, members: MEMBER_FIELDS, invitations: INVITATION_FIELDS };

/** A row's value at a field's place (the field lists say where). */
const placesOf = <F extends string>(fields: readonly F[]) => Object.fromEntries(fields.map((f, i) => [f, i])) as Record<F, number>;
const U = placesOf(USER_FIELDS);
const M = placesOf(MEMBER_FIELDS);
const I = placesOf(INVITATION_FIELDS);

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
  /** the key store subject of the snapshot's data key (`snapshot:<organization>:<epoch>`) */
  subjectId: string;
  organizationId: string;
  /** the organization's deleted users when the state was copied (ADR 0013: a deletion forgets this epoch's key) */
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
  return { kind: 'organization', head: JSON.stringify(head, replacer), rows: [{ kind: 'users', items: [...state.users.values()] }] };
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
 * The address of an invitation not accepted, as a snapshot holds it: sealed under the address's own key subject
 * (`e:<HMAC>`, shared by every organization), not only under the snapshot's key. A deletion anywhere that forgets the
 * address's key leaves it unreadable in every snapshot already stored, read again or not (rule 12;
 * docs/adr/0013-snapshots-sealed-per-snapshot.md point 4). An accepted invitation's address is its member's profile,
 * which the organization holds until that member is deleted there: it stays under the snapshot's key alone.
 */
type SealedAddress = [subjectId: string, sealed: string];
interface SealedInvitation {
  invitation: Invitation;
  address: SealedAddress;
}
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
 * The addresses of the invitations not accepted, each sealed under its own key, by invitation id. An address whose
 * key is gone (erased by a deletion elsewhere, the state not told yet) is written as a replay would read it: null.
 */
async function sealAddresses(items: readonly object[], stream: string, sealing: SnapshotSealing): Promise<Map<string, SealedAddress | null>> {
  const invitations = (items as Invitation[]).filter(sealsAddress);
  const subjects = invitations.map((inv) => sealing.subjectId({ kind: 'email', email: inv.email }));
  const ciphers = await addressCiphers(subjects, sealing);
  const sealed = new Map<string, SealedAddress | null>();
  invitations.forEach((inv, i) => {
    const cipher = ciphers.get(subjects[i]!);
    sealed.set(inv.invitationId, cipher ? [cipher.subjectId, cipher.seal(inv.email, addressData(stream, inv.invitationId)).toString('base64')] : null);
  });
  return sealed;
}

/** The rows of a chunk, each an array in the order of its fields (undefined as null). */
function rowsOf(kind: RowKind, items: readonly object[], addresses: ReadonlyMap<string, SealedAddress | null>): unknown[][] {
  const fields = FIELDS[kind];
  return items.map((item) => {
    const row = fields.map((f) => (item as Record<string, unknown>)[f] ?? null);
    const address = kind === 'invitations' ? addresses.get(row[I.invitationId] as string) : undefined;
    if (address !== undefined) row[I.email] = address;
    return row;
  });
}

/** The copy's chunks, sealed: the head, then rows by `chunkEntries`, halved until a chunk fits in `chunkBytes`. */
export async function sealCopy(
  copy: SnapshotCopy,
  at: { stream: string; version: string; revision: bigint; id: string },
  cipher: SnapshotCipher,
  sealing: SnapshotSealing,
  limits: { chunkEntries: number; chunkBytes: number },
): Promise<Uint8Array[]> {
  const chunks: Uint8Array[] = [];
  const seal = (text: string) => chunks.push(cipher.seal(text, additionalData(at.stream, at.version, at.revision, at.id, chunks.length)));
  seal(copy.head);
  for (const { kind, items } of copy.rows) {
    const addresses = kind === 'invitations' ? await sealAddresses(items, at.stream, sealing) : new Map<string, SealedAddress | null>();
    const pending: (readonly object[])[] = [];
    for (let i = 0; i < items.length; i += limits.chunkEntries) pending.push(items.slice(i, i + limits.chunkEntries));
    while (pending.length > 0) {
      const part = pending.shift()!;
      const text = JSON.stringify({ k: kind, r: rowsOf(kind, part, addresses) });
      if (Buffer.byteLength(text) > limits.chunkBytes && part.length > 1) {
        const half = Math.ceil(part.length / 2);
        pending.unshift(part.slice(0, half), part.slice(half));
        continue;
      }
      seal(text);
      await yieldToEventLoop();
    }
  }
  return chunks;
}

// ---------------------------------------------------------------- opening (a cold load)

// One object literal per kind (not a loop over the field names): a third faster to build, and each kind keeps one shape.
const userOf = (r: unknown[]): UserProfile => ({
  userId: r[U.userId] as string,
  email: r[U.email] as string,
  displayName: r[U.displayName] as string,
  alias: r[U.alias] as string | null,
  avatarUrl: r[U.avatarUrl] as string | null,
  orgAdmin: r[U.orgAdmin] as boolean,
  deleted: r[U.deleted] as boolean,
  joinedAt: r[U.joinedAt] as string,
  knownEmails: r[U.knownEmails] as string[],
  pendingEmail: r[U.pendingEmail] as UserProfile['pendingEmail'],
  emailChangeVersion: r[U.emailChangeVersion] as number,
});
const memberOf = (r: unknown[]): Member => ({ userId: r[M.userId] as string, access: r[M.access] as Member['access'], status: r[M.status] as Member['status'], joinedAt: r[M.joinedAt] as string });
const invitationOf = (r: unknown[]): Invitation => {
  const inv: Invitation = {
    invitationId: r[I.invitationId] as string,
    email: r[I.email] as string,
    access: r[I.access] as Invitation['access'],
    status: r[I.status] as Invitation['status'],
    linkVersion: r[I.linkVersion] as number,
    invitedAt: r[I.invitedAt] as string,
    expiresAt: r[I.expiresAt] as string,
    inviteeUserId: r[I.inviteeUserId] as string | null,
  };
  // optional: absent (not null) when unset, as the fold leaves it
  if (r[I.linkSentAt] !== null) inv.linkSentAt = r[I.linkSentAt] as string;
  return inv;
};

/** Folds the rows of one chunk into the state's Maps (and the derived ones, as the folds keep them). */
function foldRows(state: OrganizationState | WorkspaceState, kind: RowKind, rows: unknown[][], sealed: SealedInvitation[]): void {
  if (kind === 'users') {
    const org = state as OrganizationState;
    for (const row of rows) {
      const user = userOf(row);
      org.users.set(user.userId, user);
      // as evolveOrganization keeps it: the email of every user not deleted
      if (!user.deleted && typeof user.email === 'string') org.byEmail.set(user.email, user.userId);
    }
  } else if (kind === 'members') {
    const { members } = state as WorkspaceState;
    for (const row of rows) {
      const member = memberOf(row);
      members.set(member.userId, member);
    }
  } else {
    const ws = state as WorkspaceState;
    for (const row of rows) {
      const inv = invitationOf(row);
      ws.invitations.set(inv.invitationId, inv);
      const email: unknown = inv.email;
      if (Array.isArray(email)) {
        sealed.push({ invitation: inv, address: email as SealedAddress });
        (inv as { email: string | null }).email = null;
      }
    }
  }
}

/**
 * Opens the sealed addresses of a workspace's invitations not accepted (one batched key lookup); an address whose key
 * is gone, or is another key than it was sealed with (erased, then invited again somewhere), stays null, as a replay
 * reads it. Then the pending invitations by address, as evolveWorkspace keeps them (the latest one per address).
 * Returns how many addresses did not open: the stored snapshot is written again without them.
 */
async function openAddresses(ws: WorkspaceState, stream: string, sealed: readonly SealedInvitation[], sealing: SnapshotSealing): Promise<number> {
  const ciphers = sealed.length > 0 ? await addressCiphers(sealed.map((s) => s.address[0]), sealing) : new Map<string, SnapshotCipher>();
  let erased = 0;
  for (const { invitation, address } of sealed) {
    const email = ciphers.get(address[0])?.open(Buffer.from(address[1], 'base64'), addressData(stream, invitation.invitationId));
    if (email === undefined) erased++;
    else invitation.email = email;
  }
  for (const inv of ws.invitations.values()) if (inv.status === 'pending') ws.pendingByEmail.set(inv.email, inv.invitationId);
  return erased;
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
  const sealed: SealedInvitation[] = [];
  let applied = new Map<string, AppliedCommand>();
  let lastAt: string | undefined;
  let counts: Record<string, number> = {};
  let seq = 0;
  const turns = new LoadTurns(SNAPSHOT_TURN_MS);
  for await (const chunk of snapshot.chunks()) {
    const text = cipher.open(chunk, additionalData(snapshot.stream, snapshot.version, snapshot.revision, head.id, seq));
    if (text === undefined) throw new SnapshotUnreadableError(snapshot.stream, `chunk ${seq} does not open under ${head.subjectId}`);
    if (seq++ === 0) {
      const parsed = JSON.parse(text, reviver) as { state: Record<string, unknown>; applied: never[]; lastAt?: string; counts: Record<string, number> };
      state = (kind === 'organization' ? { ...parsed.state, users: new Map(), byEmail: new Map() } : { ...parsed.state, members: new Map(), invitations: new Map(), pendingByEmail: new Map() }) as
        | OrganizationState
        | WorkspaceState;
      applied = appliedIn(parsed.applied);
      lastAt = typeof parsed.lastAt === 'string' ? parsed.lastAt : undefined;
      counts = parsed.counts;
    } else {
      const part = JSON.parse(text) as { k: RowKind; r: unknown[][] };
      if (!state || !(part.k in FIELDS)) throw new SnapshotUnreadableError(snapshot.stream, `chunk ${seq - 1} holds no rows of a ${kind}`);
      foldRows(state, part.k, part.r, sealed);
    }
    if (turns.due()) await turns.yield();
  }
  if (!state) throw new SnapshotUnreadableError(snapshot.stream, 'no head');
  for (const [field, count] of Object.entries(counts)) {
    const size = (state as unknown as Record<string, Map<string, unknown>>)[field]?.size;
    if (size !== count) throw new SnapshotUnreadableError(snapshot.stream, `${size} ${field} of ${count}`);
  }
  const erasedAddresses = kind === 'workspace' ? await openAddresses(state as WorkspaceState, snapshot.stream, sealed, sealing) : 0;
  return { restored: { state, revision: snapshot.revision, applied, ...(lastAt !== undefined && { lastAt }) }, erasedAddresses };
}
