import { type DeferredMap, type PendingRows, inSteps } from './deferred-rows';
import { type Access, type Invitation, type Member, type OrganizationState, type UserProfile, type WorkspaceState, addressKeyOf, emailKey, holdsAddress, indexAddress, sharedAccess } from '@rollcall/domain';

/**
 * The rows of a snapshot's chunks (docs/adr/0013-snapshots-sealed-per-snapshot.md, session 17): a chunk of users,
 * members or invitations is a column per field, in the order of the field lists below, not an array per row; the
 * access values of a chunk's members or invitations are listed once (`a`) and the rows name them by index; a user's
 * `knownEmails` that is just their address is 0, an invitation's `linkSentAt` that is its `invitedAt` is 0.
 *
 * Why: a cold load of a 100,000-member workspace is JSON.parse and object building (docs/adr/0013). An access value
 * was four objects per row (`{roles: [..], grants: [], restrictions: {}}`), mostly the same few values; a row array
 * one more. Measured on 100,000 invitations (one run, load ~2): rows 430–740 ms to parse and fold, access listed once
 * ~200 ms, columns too ~165 ms; the chunks a third smaller.
 *
 * Rows loaded this way share their access values: they are frozen, as the folds and deciders treat them (an access
 * change makes a new value, it never edits one in place): a write to one throws rather than change every row.
 */

/** Fields of the rows, in their order in a chunk. A spec checks that they are every field of a real row. */
export const USER_FIELDS = ['userId', 'email', 'displayName', 'alias', 'avatarUrl', 'orgAdmin', 'deleted', 'joinedAt', 'knownEmails', 'pendingEmail', 'emailChangeVersion', 'confirmedEmailChangeVersion', 'deletedAt', 'deletedBy'] as const satisfies readonly (keyof UserProfile)[];
export const MEMBER_FIELDS = ['userId', 'access', 'status', 'joinedAt', 'revokedAt', 'revokedBy'] as const satisfies readonly (keyof Member)[];
export const INVITATION_FIELDS = ['invitationId', 'email', 'access', 'status', 'linkVersion', 'invitedAt', 'expiresAt', 'linkSentAt', 'inviteeUserId', 'addressKey', 'invitedBy', 'closedAt', 'cancelledBy'] as const satisfies readonly (keyof Invitation)[];

export type RowKind = 'users' | 'members' | 'invitations';
export const FIELDS: Record<RowKind, readonly string[]> = { users: USER_FIELDS, members: MEMBER_FIELDS, invitations: INVITATION_FIELDS };

/** A row's value at a field's place (the field lists say where). */
const placesOf = <F extends string>(fields: readonly F[]) => Object.fromEntries(fields.map((f, i) => [f, i])) as Record<F, number>;
const U = placesOf(USER_FIELDS);
const M = placesOf(MEMBER_FIELDS);
const I = placesOf(INVITATION_FIELDS);

/** "the same as the row's other field": a user's knownEmails that is [email], an invitation's linkSentAt = invitedAt */
const SAME = 0;

/** The address of an invitation not accepted, sealed under its own key (snapshot-codec.ts): [subjectId, sealed]. */
export type SealedAddress = [subjectId: string, sealed: string];

/** A chunk of rows as its JSON holds it. */
export interface RowsChunk {
  k: RowKind;
  /** the access values the rows name by index (members and invitations) */
  a?: Access[];
  /** a column per field, in the order of FIELDS[k] */
  c: unknown[][];
}

// ---------------------------------------------------------------- writing

/**
 * The chunk of these rows. `addresses`: for invitations, the sealed address to write in place of the clear one (null:
 * erased), by invitation id; an invitation not in it keeps its address.
 */
export function rowsChunk(kind: RowKind, items: readonly object[], addresses: ReadonlyMap<string, SealedAddress | null>): RowsChunk {
  const fields = FIELDS[kind];
  const columns: unknown[][] = fields.map(() => Array.from({ length: items.length }));
  const accessIndex = new Map<string, number>();
  const accesses: Access[] = [];
  items.forEach((item, row) => {
    const value = item as Record<string, unknown>;
    fields.forEach((field, place) => (columns[place]![row] = value[field] ?? null));
    if (kind === 'users') {
      const user = item as UserProfile;
      if (user.knownEmails.length === 1 && user.knownEmails[0] === user.email) columns[U.knownEmails]![row] = SAME;
      return;
    }
    const place = kind === 'members' ? M.access : I.access;
    const key = JSON.stringify(value.access);
    let index = accessIndex.get(key);
    if (index === undefined) accessIndex.set(key, (index = accesses.push(value.access as Access) - 1));
    columns[place]![row] = index;
    if (kind === 'invitations') {
      const inv = item as Invitation;
      if (inv.linkSentAt !== undefined && inv.linkSentAt === inv.invitedAt) columns[I.linkSentAt]![row] = SAME;
      const address = addresses.get(inv.invitationId);
      if (address !== undefined) columns[I.email]![row] = address;
    }
  });
  return kind === 'users' ? { k: kind, c: columns } : { k: kind, a: accesses, c: columns };
}

// ---------------------------------------------------------------- reading

/** Whether a parsed chunk has the shape of RowsChunk: a known kind, a column per field, all of one length. */
export function isRowsChunk(part: unknown): part is RowsChunk {
  const chunk = part as Partial<RowsChunk> | null;
  if (typeof chunk !== 'object' || chunk === null || typeof chunk.k !== 'string' || !Object.hasOwn(FIELDS, chunk.k)) return false;
  const columns = chunk.c;
  if (!Array.isArray(columns) || columns.length !== FIELDS[chunk.k].length || !columns.every(Array.isArray)) return false;
  const rows = columns[0]!.length;
  return columns.every((column) => column.length === rows) && (chunk.k === 'users' || Array.isArray(chunk.a));
}

const isStrings = (value: unknown): value is string[] => Array.isArray(value) && value.every((v) => typeof v === 'string');
const isRestrictions = (value: unknown): boolean =>
  typeof value === 'object' && value !== null && !Array.isArray(value) && Object.values(value).every((v) => v === true || typeof v === 'string');

/** The frozen access value shared by every row that names it, the folds' too (sharedAccess); throws when it is not one. */
function frozen(access: Access): Access {
  if (typeof access !== 'object' || access === null || !isStrings(access.roles) || !isStrings(access.grants) || !isRestrictions(access.restrictions))
    throw new TypeError(`not an access value: ${JSON.stringify(access)}`);
  return sharedAccess(access);
}

/** The access values a chunk's rows name, each frozen; throws when an index names none. */
function accessOf(chunk: RowsChunk, column: unknown[]): Access[] {
  const values = chunk.a!.map(frozen);
  for (const index of column) if (typeof index !== 'number' || values[index] === undefined) throw new RangeError(`no access value ${String(index)} in the chunk`);
  return values;
}

/** An invitation's address sealed in a chunk (opened after the chunks: snapshot-codec.ts), and where to put it. */
export interface SealedRow {
  invitationId: string;
  address: SealedAddress;
  /** the chunk's address column and the row's place in it: opened, the address (or null) replaces the sealed one */
  column: unknown[];
  row: number;
}

/**
 * Adds a chunk's rows to the state's Maps, to be built when first read or in the background (deferred-rows.ts): the
 * Maps are DeferredMaps for a load from a snapshot. Each kind builds its rows with one object literal (one shape per
 * kind, a third faster than a loop over the field names). The addresses of invitations that are sealed are listed in
 * `sealed`; their rows read null until the address is opened into the column.
 */
export function deferRows(state: OrganizationState | WorkspaceState, chunk: RowsChunk, sealed: SealedRow[]): void {
  const rows = new PendingChunk(chunk);
  if (chunk.k === 'invitations') {
    const c = chunk.c;
    const ids = c[I.invitationId] as string[];
    const emails = c[I.email]!;
    for (let i = 0; i < emails.length; i++) {
      const email = emails[i];
      if (Array.isArray(email)) {
        sealed.push({ invitationId: ids[i]!, address: email as SealedAddress, column: emails, row: i });
        emails[i] = null;
      }
    }
  }
  mapOf(state, chunk.k).defer(rows);
}

/**
 * A chunk's text (its UTF-8 bytes, off V8's heap) whose rows may wait unparsed (users, members, and invitations all accepted: none has an address to
 * open at the load, snapshot-codec.ts) goes to its Map as it is, and is parsed when a key may be in it or its turn comes
 * (deferred-rows.ts): parsing ~300,000 rows' strings and the young generation's copies of them were most of a
 * 100,000-member cold load once the rows were built when read. Returns false for any other chunk (parse it).
 */
export function deferText(state: OrganizationState | WorkspaceState, text: Buffer): boolean {
  const start = text.subarray(0, 24).toString('latin1');
  const kind = LAZY_KINDS.find((k) => start.startsWith(`{"k":"${k}",`));
  if (!kind || (kind === 'invitations' && MAY_SEAL.some((status) => text.includes(status)))) return false;
  mapOf(state, kind).defer(new PendingChunk(text));
  return true;
}

const LAZY_KINDS = ['users', 'members', 'invitations'] as const;
/** an invitation's status as JSON whose address a chunk seals (not accepted): no other value of its rows is this string */
const MAY_SEAL = (['pending', 'cancelled'] as const satisfies readonly Exclude<Invitation['status'], 'accepted'>[]).map((status) => JSON.stringify(status));

const mapOf = (state: OrganizationState | WorkspaceState, kind: RowKind): DeferredMap<unknown> =>
  (kind === 'users' ? (state as OrganizationState).users : kind === 'members' ? (state as WorkspaceState).members : (state as WorkspaceState).invitations) as DeferredMap<unknown>;

/** A chunk's rows, from its parsed JSON or from its text parsed when first needed; its access values checked then. */
class PendingChunk implements PendingRows<unknown> {
  #text: Buffer | undefined;
  #chunk: RowsChunk | undefined;
  #build: ((row: number) => unknown) | undefined;

  constructor(from: RowsChunk | Buffer) {
    if (Buffer.isBuffer(from)) this.#text = from;
    else {
      // a chunk parsed at the load is checked there: one that does not read fails the load, which then replays
      this.#chunk = from;
      this.#builder();
    }
  }

  mayHold(key: string): boolean {
    // (the key as JSON writes it, in UTF-8: a key with characters JSON escapes is looked for as such)
    return this.#text === undefined || this.#text.includes(JSON.stringify(key));
  }

  keys(): readonly string[] {
    return this.#parsed().c[0] as string[];
  }

  build(row: number): unknown {
    return (this.#build ?? this.#builder())(row);
  }

  #builder(): (row: number) => unknown {
    const chunk = this.#parsed();
    const c = chunk.c;
    if (chunk.k === 'users') return (this.#build = (i) => userRow(c, i));
    const accesses = accessOf(chunk, c[chunk.k === 'members' ? M.access : I.access]!);
    return (this.#build = chunk.k === 'members' ? (i) => memberRow(c, accesses, i) : (i) => invitationRow(c, accesses, i));
  }

  #parsed(): RowsChunk {
    if (this.#chunk) return this.#chunk;
    const part: unknown = JSON.parse(this.#text!.toString('utf8'));
    // written by this version and opened under the snapshot's key: only a defect makes one of another shape
    if (!isRowsChunk(part)) throw new Error("a snapshot's chunk holds no rows");
    this.#text = undefined;
    return (this.#chunk = part);
  }
}

/** The organization's address index, as evolveOrganization keeps it: the email of every user not deleted, in order. */
export const indexUserAddresses = (org: OrganizationState): Generator<void> =>
  inSteps(org.users.values(), (user) => {
    if (!user.deleted && typeof user.email === 'string') indexAddress(org.byEmail, org.byEmailShared, emailKey(user.email), user.userId, holdsAddress, org);
  });

function userRow(c: unknown[][], i: number): UserProfile {
  const email = c[U.email]![i] as string;
  const known = c[U.knownEmails]![i];
  const user: UserProfile = {
    userId: c[U.userId]![i] as string,
    email,
    displayName: c[U.displayName]![i] as string,
    alias: c[U.alias]![i] as string | null,
    avatarUrl: c[U.avatarUrl]![i] as string | null,
    orgAdmin: c[U.orgAdmin]![i] as boolean,
    deleted: c[U.deleted]![i] as boolean,
    joinedAt: c[U.joinedAt]![i] as string,
    knownEmails: known === SAME ? [email] : (known as string[]),
    pendingEmail: c[U.pendingEmail]![i] as UserProfile['pendingEmail'],
    emailChangeVersion: c[U.emailChangeVersion]![i] as number,
  };
  // as the fold holds it: absent until a change is confirmed
  const confirmed = c[U.confirmedEmailChangeVersion]![i];
  if (typeof confirmed === 'number') user.confirmedEmailChangeVersion = confirmed;
  // absent until deleted (deletedBy: also for deletions recorded before 2026-12-07)
  const deletedAt = c[U.deletedAt]![i];
  if (typeof deletedAt === 'string') user.deletedAt = deletedAt;
  const deletedBy = c[U.deletedBy]![i];
  if (typeof deletedBy === 'string') user.deletedBy = deletedBy;
  return user;
}

function memberRow(c: unknown[][], accesses: Access[], i: number): Member {
  const member: Member = { userId: c[M.userId]![i] as string, access: accesses[c[M.access]![i] as number]!, status: c[M.status]![i] as Member['status'], joinedAt: c[M.joinedAt]![i] as string };
  // optional: absent (not null) while active, as the fold leaves it
  const revokedAt = c[M.revokedAt]![i];
  if (revokedAt !== null) member.revokedAt = revokedAt as string;
  const revokedBy = c[M.revokedBy]![i];
  if (revokedBy !== null) member.revokedBy = revokedBy as string;
  return member;
}

function invitationRow(c: unknown[][], accesses: Access[], i: number): Invitation {
  const inv: Invitation = {
    invitationId: c[I.invitationId]![i] as string,
    email: c[I.email]![i] as string,
    access: accesses[c[I.access]![i] as number]!,
    status: c[I.status]![i] as Invitation['status'],
    linkVersion: c[I.linkVersion]![i] as number,
    invitedAt: c[I.invitedAt]![i] as string,
    expiresAt: c[I.expiresAt]![i] as string,
    inviteeUserId: c[I.inviteeUserId]![i] as string | null,
    addressKey: addressKeyOf(c[I.addressKey]![i]),
    invitedBy: c[I.invitedBy]![i] as string | null,
    closedAt: c[I.closedAt]![i] as string | null,
    cancelledBy: c[I.cancelledBy]![i] as string | null,
  };
  // optional: absent (not null) when unset, as the fold leaves it
  const linkSentAt = c[I.linkSentAt]![i];
  if (linkSentAt !== null) inv.linkSentAt = linkSentAt === SAME ? inv.invitedAt : (linkSentAt as string);
  return inv;
}

/** How rows are read (the snapshot's version hashes it: snapshots.ts). */
export const ROW_READERS = [deferRows, deferText, PendingChunk, indexUserAddresses, userRow, memberRow, invitationRow] as const;
