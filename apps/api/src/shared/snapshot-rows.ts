import { type Access, type Invitation, type Member, type OrganizationState, type UserProfile, type WorkspaceState, addressKeyOf, emailKey, holdsAddress, indexAddress } from '@rollcall/domain';

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
export const USER_FIELDS = ['userId', 'email', 'displayName', 'alias', 'avatarUrl', 'orgAdmin', 'deleted', 'joinedAt', 'knownEmails', 'pendingEmail', 'emailChangeVersion', 'confirmedEmailChangeVersion'] as const satisfies readonly (keyof UserProfile)[];
export const MEMBER_FIELDS = ['userId', 'access', 'status', 'joinedAt'] as const satisfies readonly (keyof Member)[];
export const INVITATION_FIELDS = ['invitationId', 'email', 'access', 'status', 'linkVersion', 'invitedAt', 'expiresAt', 'linkSentAt', 'inviteeUserId', 'addressKey'] as const satisfies readonly (keyof Invitation)[];

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

/** Freezes an access value and what it holds (it is shared by every row that names it); throws when it is not one. */
function frozen(access: Access): Access {
  if (typeof access !== 'object' || access === null || !isStrings(access.roles) || !isStrings(access.grants) || !isRestrictions(access.restrictions))
    throw new TypeError(`not an access value: ${JSON.stringify(access)}`);
  Object.freeze(access.roles);
  Object.freeze(access.grants);
  Object.freeze(access.restrictions);
  return Object.freeze(access);
}

/** The access values a chunk's rows name, each frozen; throws when an index names none. */
function accessOf(chunk: RowsChunk, column: unknown[]): Access[] {
  const values = chunk.a!.map(frozen);
  for (const index of column) if (typeof index !== 'number' || values[index] === undefined) throw new RangeError(`no access value ${String(index)} in the chunk`);
  return values;
}

/**
 * Folds a chunk's rows into the state's Maps (and the derived ones, as the folds keep them). Each kind builds its
 * rows with one object literal (one shape per kind, a third faster than a loop over the field names). Invitations
 * whose address is sealed are listed in `sealed` with that address, and hold null until it is opened.
 */
export function foldRows(state: OrganizationState | WorkspaceState, chunk: RowsChunk, sealed: { invitation: Invitation; address: SealedAddress }[]): void {
  const c = chunk.c;
  if (chunk.k === 'users') {
    const org = state as OrganizationState;
    const ids = c[U.userId]!, emails = c[U.email]!, names = c[U.displayName]!, aliases = c[U.alias]!, avatars = c[U.avatarUrl]!;
    const admins = c[U.orgAdmin]!, deleted = c[U.deleted]!, joined = c[U.joinedAt]!, known = c[U.knownEmails]!, pending = c[U.pendingEmail]!;
    const versions = c[U.emailChangeVersion]!, confirmed = c[U.confirmedEmailChangeVersion]!;
    for (let i = 0; i < ids.length; i++) {
      const email = emails[i] as string;
      const user: UserProfile = {
        userId: ids[i] as string,
        email,
        displayName: names[i] as string,
        alias: aliases[i] as string | null,
        avatarUrl: avatars[i] as string | null,
        orgAdmin: admins[i] as boolean,
        deleted: deleted[i] as boolean,
        joinedAt: joined[i] as string,
        knownEmails: known[i] === SAME ? [email] : (known[i] as string[]),
        pendingEmail: pending[i] as UserProfile['pendingEmail'],
        emailChangeVersion: versions[i] as number,
      };
      // as the fold holds it: absent until a change is confirmed
      if (typeof confirmed[i] === 'number') user.confirmedEmailChangeVersion = confirmed[i] as number;
      org.users.set(user.userId, user);
      // as evolveOrganization keeps it: the email of every user not deleted
      if (!user.deleted && typeof email === 'string') indexAddress(org.byEmail, org.byEmailShared, emailKey(email), user.userId, holdsAddress, org);
    }
  } else if (chunk.k === 'members') {
    const { members } = state as WorkspaceState;
    const ids = c[M.userId]!, accessIndexes = c[M.access]!, statuses = c[M.status]!, joined = c[M.joinedAt]!;
    const accesses = accessOf(chunk, accessIndexes);
    for (let i = 0; i < ids.length; i++) {
      const member: Member = { userId: ids[i] as string, access: accesses[accessIndexes[i] as number]!, status: statuses[i] as Member['status'], joinedAt: joined[i] as string };
      members.set(member.userId, member);
    }
  } else {
    const { invitations } = state as WorkspaceState;
    const ids = c[I.invitationId]!, emails = c[I.email]!, accessIndexes = c[I.access]!, statuses = c[I.status]!, versions = c[I.linkVersion]!;
    const invited = c[I.invitedAt]!, expires = c[I.expiresAt]!, sent = c[I.linkSentAt]!, invitees = c[I.inviteeUserId]!, addressKeys = c[I.addressKey]!;
    const accesses = accessOf(chunk, accessIndexes);
    for (let i = 0; i < ids.length; i++) {
      const email: unknown = emails[i];
      const sealedAddress = Array.isArray(email);
      const inv: Invitation = {
        invitationId: ids[i] as string,
        email: (sealedAddress ? null : email) as string,
        access: accesses[accessIndexes[i] as number]!,
        status: statuses[i] as Invitation['status'],
        linkVersion: versions[i] as number,
        invitedAt: invited[i] as string,
        expiresAt: expires[i] as string,
        inviteeUserId: invitees[i] as string | null,
        addressKey: addressKeyOf(addressKeys[i]),
      };
      // optional: absent (not null) when unset, as the fold leaves it
      const linkSentAt = sent[i];
      if (linkSentAt !== null) inv.linkSentAt = linkSentAt === SAME ? inv.invitedAt : (linkSentAt as string);
      invitations.set(inv.invitationId, inv);
      if (sealedAddress) sealed.push({ invitation: inv, address: email as SealedAddress });
    }
  }
}
