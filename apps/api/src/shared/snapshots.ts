import { createHash } from 'node:crypto';
import {
  DOMAIN_EVENT_TYPES,
  type Invitation,
  type OrganizationState,
  UPCASTERS,
  type UserProfile,
  type WorkspaceState,
  evolveOrganization,
  evolveProfile,
  evolveTeams,
  evolveWorkspace,
  fromStored,
  upcast,
} from '@rollcall/domain';
import type { SnapshotSealing, SnapshotStore, StoredSnapshot } from '@rollcall/event-store';
import type { AppliedCommand } from './stream-states';

/**
 * Snapshots of the deciders' states (docs/adr/0008-snapshots.md): a cold load of a 100,000-member workspace reads
 * its snapshot and folds only the events after it, instead of replaying and decrypting ~200,000 events.
 *
 * Bump STATE_SHAPE_VERSION when the shape of OrganizationState / WorkspaceState (or of what they hold) changes.
 * The version also hashes the code of the upcasters and folds, so a new upcaster or a changed evolve invalidates
 * every snapshot by itself: a snapshot of another version is ignored and the stream replayed.
 */
export const STATE_SHAPE_VERSION = 2; // 2: WorkspaceState.teams

const FOLD_CODE = createHash('sha256')
  .update([upcast, fromStored, ...UPCASTERS, evolveOrganization, evolveWorkspace, evolveProfile, evolveTeams].map(String).join('\n'))
  .update(DOMAIN_EVENT_TYPES.join(','))
  .digest('base64url')
  .slice(0, 16);

export type SnapshotKind = 'organization' | 'workspace';
export const snapshotVersion = (kind: SnapshotKind): string => `${kind}/${STATE_SHAPE_VERSION}/${FOLD_CODE}`;

/** What a snapshot gives back: the state at `revision`, and the commands it remembers by idempotency key. */
export interface Restored<S> {
  state: S;
  revision: bigint;
  applied: Map<string, AppliedCommand>;
}

/**
 * Which fields hold personal data (docs/rules.md#crypto-shredding): sealed with the same per-subject keys as the
 * events they came from, so forgetting a user's keys erases them from snapshots too. A user's profile fields are
 * sealed together under the user's subject; an invitation's address under the address's subject. `byEmail` and
 * `pendingByEmail` are derived from them and rebuilt on load, never stored.
 */
export const PROFILE_PERSONAL_FIELDS = ['email', 'displayName', 'alias', 'avatarUrl', 'knownEmails', 'pendingEmail'] as const;
export const INVITATION_PERSONAL_FIELDS = ['email'] as const;
/**
 * The big collections, stored in chunks; the fields stored as they are in the snapshot's head (nothing personal in
 * them). A field in none of these lists still goes to the head, but a spec fails until it is classified here.
 */
export const ORGANIZATION_HEAD = ['exists', 'organizationId', 'name', 'workspaces', 'apiKeys'] as const;
export const WORKSPACE_HEAD = ['info', 'teams'] as const;
export const ORGANIZATION_CHUNKED = ['users'] as const;
export const WORKSPACE_CHUNKED = ['members', 'invitations'] as const;
export const DERIVED = { organization: ['byEmail'], workspace: ['pendingByEmail'] } as const;

/** what a profile reads as once its subject's key is forgotten: every sealed event field reads as null */
const ERASED_PROFILE = { email: null, displayName: null, alias: null, avatarUrl: null, knownEmails: [], pendingEmail: null };

/** Values are sealed and opened this many at a time (one key lookup each), with a turn of the event loop between. */
const CRYPTO_SLICE = 1_000;
const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

// ---------------------------------------------------------------- JSON with Maps, Sets and bigints

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
const encode = (value: unknown) => JSON.stringify(value, replacer);
// a reviver costs a call per value: 40% of a 100,000-member load. Chunks of plain objects are parsed without it.
const decode = (text: string) => (/"\$(?:map|set|big)"/.test(text) ? JSON.parse(text, reviver) : JSON.parse(text)) as unknown;

const without = <T extends object>(value: T, fields: readonly string[]): Record<string, unknown> => {
  const rest = { ...(value as Record<string, unknown>) };
  for (const f of fields) delete rest[f];
  return rest;
};
const pick = (value: object, fields: readonly string[]): Record<string, unknown> =>
  Object.fromEntries(fields.map((f) => [f, (value as Record<string, unknown>)[f]]));

const appliedOut = (applied: Map<string, AppliedCommand>) => [...applied].map(([key, at]) => [key, { ...at, fromRevision: at.fromRevision.toString() }]);
const appliedIn = (rows: [string, AppliedCommand & { fromRevision: string }][]) =>
  new Map<string, AppliedCommand>(rows.map(([key, at]) => [key, { ...at, fromRevision: BigInt(at.fromRevision) }]));

/** A value with nothing personal in it (a deleted user's blanks, an erased address) is stored as it is. */
const isBlank = (value: unknown): boolean =>
  value === null || value === undefined || value === '' || (Array.isArray(value) && value.length === 0) || (typeof value === 'object' && Object.values(value as object).every(isBlank));

type Sealed = { s: string } | { clear: unknown } | null;

/** Seals `values` (subject, value) in slices: { s } sealed, { clear } for blanks, null where the key is forgotten. */
async function sealAll(sealing: SnapshotSealing, values: { subjectId: string; value: unknown }[]): Promise<Sealed[]> {
  const out: Sealed[] = [];
  for (let i = 0; i < values.length; i += CRYPTO_SLICE) {
    const slice = values.slice(i, i + CRYPTO_SLICE);
    const personal = slice.filter((v) => !isBlank(v.value));
    const sealed = await sealing.seal(personal);
    let next = 0;
    for (const v of slice) {
      if (isBlank(v.value)) out.push({ clear: v.value });
      else {
        const s = sealed[next++];
        out.push(s === null || s === undefined ? null : { s });
      }
    }
    await yieldToEventLoop();
  }
  return out;
}

/** Opens what sealAll wrote: the value, or `erased` where the key was forgotten. */
async function openAll(sealing: SnapshotSealing, cells: Sealed[], erased: () => unknown): Promise<unknown[]> {
  const out: unknown[] = [];
  for (let i = 0; i < cells.length; i += CRYPTO_SLICE) {
    const slice = cells.slice(i, i + CRYPTO_SLICE);
    const sealed = slice.flatMap((c) => (c && 's' in c ? [c.s] : []));
    const opened = sealed.length > 0 ? await sealing.open(sealed) : [];
    let next = 0;
    slice.forEach((c, j) => {
      if (c && 's' in c) out[i + j] = opened[next++] ?? erased();
      else out[i + j] = c ? c.clear : erased();
    });
    if (sealed.length > 0) await yieldToEventLoop();
  }
  return out;
}

export interface Encoded {
  head: string;
  chunks: string[];
}

const chunksOf = <T>(items: T[], size: number): T[][] => {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
};

// ---------------------------------------------------------------- organization

/** A copy that later folds cannot change (they replace users, never mutate them), taken in one turn. */
export const copyOrganization = (state: OrganizationState): OrganizationState => ({
  ...state,
  users: new Map(state.users),
  workspaces: new Map(state.workspaces),
  apiKeys: new Map(state.apiKeys),
  byEmail: new Map(),
});

export async function encodeOrganization(state: OrganizationState, applied: Map<string, AppliedCommand>, sealing: SnapshotSealing, chunkEntries: number): Promise<Encoded> {
  const users = [...state.users.values()];
  const sealed = await sealAll(
    sealing,
    users.map((u) => ({ subjectId: sealing.subjectId({ kind: 'user', userId: u.userId }), value: pick(u, PROFILE_PERSONAL_FIELDS) })),
  );
  const rows = users.map((u, i) => [without(u, PROFILE_PERSONAL_FIELDS), sealed[i]]);
  const head = { state: without(state, [...ORGANIZATION_CHUNKED, ...DERIVED.organization]), applied: appliedOut(applied), users: users.length };
  return { head: encode(head), chunks: chunksOf(rows, chunkEntries).map((c) => encode({ users: c })) };
}

export async function decodeOrganization(snapshot: StoredSnapshot, sealing: SnapshotSealing): Promise<Restored<OrganizationState>> {
  const head = decode(snapshot.head) as { state: Omit<OrganizationState, 'users' | 'byEmail'>; applied: never[]; users: number };
  const state: OrganizationState = { ...head.state, users: new Map(), byEmail: new Map() };
  for await (const chunk of snapshot.chunks()) {
    const rows = (decode(chunk) as { users: [Omit<UserProfile, (typeof PROFILE_PERSONAL_FIELDS)[number]>, Sealed][] }).users;
    const personal = await openAll(sealing, rows.map((r) => r[1]), () => ERASED_PROFILE);
    rows.forEach(([rest], i) => {
      const user = { ...rest, ...(personal[i] as object) } as UserProfile;
      state.users.set(user.userId, user);
      // derived, as evolveOrganization keeps it: the email of every user not deleted (an erased email is null)
      if (!user.deleted && typeof user.email === 'string') state.byEmail.set(user.email, user.userId);
    });
    await yieldToEventLoop();
  }
  if (state.users.size !== head.users) throw new Error(`snapshot of ${snapshot.stream}: ${state.users.size} users of ${head.users}`);
  return { state, revision: snapshot.revision, applied: appliedIn(head.applied) };
}

// ---------------------------------------------------------------- workspace

/** A copy that later folds cannot change: invitations are updated in place, so each one is copied. */
export const copyWorkspace = (state: WorkspaceState): WorkspaceState => ({
  ...state,
  members: new Map(state.members),
  invitations: new Map([...state.invitations].map(([id, inv]) => [id, { ...inv }])),
  pendingByEmail: new Map(),
});

export async function encodeWorkspace(state: WorkspaceState, applied: Map<string, AppliedCommand>, sealing: SnapshotSealing, chunkEntries: number): Promise<Encoded> {
  const invitations = [...state.invitations.values()];
  const sealed = await sealAll(
    sealing,
    invitations.map((inv) => ({
      subjectId: isBlank(inv.email) ? '' : sealing.subjectId({ kind: 'email', email: inv.email }),
      value: inv.email,
    })),
  );
  const rows = invitations.map((inv, i) => [without(inv, INVITATION_PERSONAL_FIELDS), sealed[i]]);
  const head = {
    state: without(state, [...WORKSPACE_CHUNKED, ...DERIVED.workspace]),
    applied: appliedOut(applied),
    members: state.members.size,
    invitations: invitations.length,
  };
  const chunks = [
    ...chunksOf([...state.members.values()], chunkEntries).map((c) => encode({ members: c })),
    ...chunksOf(rows, chunkEntries).map((c) => encode({ invitations: c })),
  ];
  return { head: encode(head), chunks };
}

export async function decodeWorkspace(snapshot: StoredSnapshot, sealing: SnapshotSealing): Promise<Restored<WorkspaceState>> {
  const head = decode(snapshot.head) as { state: Omit<WorkspaceState, 'members' | 'invitations' | 'pendingByEmail'>; applied: never[]; members: number; invitations: number };
  const state: WorkspaceState = { ...head.state, members: new Map(), invitations: new Map(), pendingByEmail: new Map() };
  for await (const chunk of snapshot.chunks()) {
    const part = decode(chunk) as { members?: WorkspaceState['members'] extends Map<string, infer M> ? M[] : never; invitations?: [Omit<Invitation, 'email'>, Sealed][] };
    for (const member of part.members ?? []) state.members.set(member.userId, member);
    if (part.invitations) {
      const emails = await openAll(sealing, part.invitations.map((r) => r[1]), () => null);
      part.invitations.forEach(([rest], i) => {
        const inv = { ...rest, email: emails[i] as string };
        state.invitations.set(inv.invitationId, inv);
        // derived, as evolveWorkspace keeps it: the address of every pending invitation (the latest one per address)
        if (inv.status === 'pending') state.pendingByEmail.set(inv.email, inv.invitationId);
      });
    }
    await yieldToEventLoop();
  }
  if (state.members.size !== head.members || state.invitations.size !== head.invitations)
    throw new Error(`snapshot of ${snapshot.stream}: ${state.members.size}/${head.members} members, ${state.invitations.size}/${head.invitations} invitations`);
  return { state, revision: snapshot.revision, applied: appliedIn(head.applied) };
}

// ---------------------------------------------------------------- when to read and write

export interface SnapshotOptions {
  /** a snapshot is written once a load has folded this many events since the last one (default 10,000) */
  every?: number;
  /** a snapshot that could not be read or written: the stream is replayed, the command goes on */
  onError?: (stream: string, error: unknown) => void;
  /** a snapshot was written (metrics, tests) */
  onWritten?: (stream: string, revision: bigint, ms: number) => void;
}

export const DEFAULT_SNAPSHOT_EVERY = 10_000;

/** ROLLCALL_SNAPSHOT_EVERY: events folded since the last snapshot before the next one is written (0: never write). */
export function snapshotEveryFrom(env: NodeJS.ProcessEnv): number {
  const raw = env.ROLLCALL_SNAPSHOT_EVERY?.trim();
  if (!raw) return DEFAULT_SNAPSHOT_EVERY;
  const every = Number(raw);
  if (!Number.isSafeInteger(every) || every < 0) throw new Error(`ROLLCALL_SNAPSHOT_EVERY must be a whole number >= 0, got "${raw}"`);
  return every;
}

/**
 * Reads a stream's snapshot on a cold load (StreamStates.restore) and writes a new one in the background after a
 * load that folded `every` events since the last (StreamStates.folded): never on a command's path, one at a time
 * per stream. The state is copied in the turn of the load (a few ms for 100,000 members); sealing and storing
 * happen afterwards in slices, yielding to the event loop.
 */
export class StateSnapshots {
  private readonly every: number;
  /** revision of the latest snapshot read or written per stream (bounded, oldest forgotten first) */
  private readonly latest = new Map<string, bigint>();
  private readonly writing = new Map<string, Promise<void>>();

  constructor(
    private readonly store: SnapshotStore,
    private readonly sealing: SnapshotSealing,
    private readonly options: SnapshotOptions = {},
  ) {
    this.every = options.every ?? DEFAULT_SNAPSHOT_EVERY;
  }

  async restore(kind: 'organization', stream: string): Promise<Restored<OrganizationState> | undefined>;
  async restore(kind: 'workspace', stream: string): Promise<Restored<WorkspaceState> | undefined>;
  async restore(kind: SnapshotKind, stream: string): Promise<Restored<OrganizationState | WorkspaceState> | undefined> {
    try {
      const snapshot = await this.store.read(stream);
      // another state shape, another upcaster or fold: the snapshot means nothing any more
      if (!snapshot || snapshot.version !== snapshotVersion(kind)) return undefined;
      const restored = kind === 'organization' ? await decodeOrganization(snapshot, this.sealing) : await decodeWorkspace(snapshot, this.sealing);
      this.note(stream, snapshot.revision);
      return restored;
    } catch (error) {
      this.options.onError?.(stream, error);
      return undefined;
    }
  }

  /** After a load: writes a snapshot in the background when enough events were folded since the last one. */
  folded(kind: 'organization', stream: string, entry: Restored<OrganizationState>): void;
  folded(kind: 'workspace', stream: string, entry: Restored<WorkspaceState>): void;
  folded(kind: SnapshotKind, stream: string, entry: Restored<OrganizationState | WorkspaceState>): void {
    if (this.every <= 0 || this.writing.has(stream)) return;
    if (entry.revision - (this.latest.get(stream) ?? -1n) < BigInt(this.every)) return;
    // copied in this turn, under the load's turn on the stream: what is folded later cannot change what is sealed
    const revision = entry.revision;
    const applied = new Map([...entry.applied].map(([key, at]) => [key, { ...at }]));
    let encodeCopy: (chunkEntries: number) => Promise<Encoded>;
    if (kind === 'organization') {
      const copy = copyOrganization(entry.state as OrganizationState);
      encodeCopy = (chunkEntries) => encodeOrganization(copy, applied, this.sealing, chunkEntries);
    } else {
      const copy = copyWorkspace(entry.state as WorkspaceState);
      encodeCopy = (chunkEntries) => encodeWorkspace(copy, applied, this.sealing, chunkEntries);
    }
    const write = this.write(stream, revision, encodeCopy, kind);
    this.writing.set(stream, write);
    void write.finally(() => this.writing.delete(stream));
  }

  /** Nest's shutdown: the snapshots being written are finished, then the store is closed. */
  async onApplicationShutdown(): Promise<void> {
    await this.settled();
    await this.store.close();
  }

  /** Resolves when the snapshots being written now are stored (or given up). */
  async settled(): Promise<void> {
    while (this.writing.size > 0) await Promise.all(this.writing.values());
  }

  private async write(stream: string, revision: bigint, encodeCopy: (chunkEntries: number) => Promise<Encoded>, kind: SnapshotKind): Promise<void> {
    const started = performance.now();
    const erasures = this.sealing.erasures();
    try {
      const { head, chunks } = await encodeCopy(this.store.chunkEntries);
      // a user erased while this was sealed: their data may be sealed under a key created again since; drop it
      if (this.sealing.erasures() !== erasures) return;
      await this.store.write({ stream, revision, version: snapshotVersion(kind), head, chunks });
      this.note(stream, revision);
      this.options.onWritten?.(stream, revision, performance.now() - started);
    } catch (error) {
      this.options.onError?.(stream, error);
    }
  }

  private note(stream: string, revision: bigint): void {
    this.latest.delete(stream);
    this.latest.set(stream, revision);
    if (this.latest.size > 100_000) this.latest.delete(this.latest.keys().next().value!);
  }
}
