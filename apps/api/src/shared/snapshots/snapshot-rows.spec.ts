import { type Invitation, type Member, type OrganizationState, type UserProfile, type WorkspaceState, initialOrganizationState, initialWorkspaceState } from '@rollcall/domain';
import { restoredState } from './snapshot-codec';
import { INVITATION_FIELDS, type RowsChunk, USER_FIELDS, type SealedAddress, type SealedRow, deferRows, deferText, isRowsChunk, rowsChunk } from './snapshot-rows';

const agent = () => ({ roles: ['agent'], grants: [], restrictions: {} });
const manager = () => ({ roles: ['manager'], grants: ['billing.view'], restrictions: { contact_visibility: 'own' as const, mask_contact_info: true as const } });

const user = (n: number, extra: Partial<UserProfile> = {}): UserProfile => ({
  userId: `user-${n}`,
  email: `user-${n}@example.test`,
  displayName: `User ${n}`,
  alias: null,
  avatarUrl: null,
  orgAdmin: false,
  deleted: false,
  joinedAt: `2026-11-0${n}T10:00:00.000Z`,
  knownEmails: [`user-${n}@example.test`],
  pendingEmail: null,
  emailChangeVersion: 0,
  ...extra,
});
const invitation = (n: number, extra: Partial<Invitation> = {}): Invitation => ({
  invitationId: `inv-${n}`,
  email: `invitee-${n}@example.test`,
  access: agent(),
  status: 'pending',
  linkVersion: 1,
  invitedAt: `2026-11-0${n}T10:00:00.000Z`,
  expiresAt: `2026-11-0${n + 2}T10:00:00.000Z`,
  linkSentAt: `2026-11-0${n}T10:00:00.000Z`,
  invitedBy: `admin-${n}`,
  closedAt: null,
  cancelledBy: null,
  inviteeUserId: null,
  ...extra,
});

/** writes the rows into a chunk, through JSON as a snapshot stores it, and reads them back into a restored state */
function roundTrip(kind: RowsChunk['k'], items: object[], addresses = new Map<string, SealedAddress | null>()) {
  const text = JSON.stringify(rowsChunk(kind, items, addresses));
  const parsed: unknown = JSON.parse(text);
  expect(isRowsChunk(parsed)).toBe(true);
  const sealed: SealedRow[] = [];
  const state = kind === 'users' ? organization({ users: items.length }) : workspace({ [kind]: items.length });
  deferRows(state, parsed as RowsChunk, sealed);
  // (as written: reading takes the sealed addresses out of their column)
  return { state: state as OrganizationState & WorkspaceState, sealed, chunk: JSON.parse(text) as RowsChunk, text };
}

/** a state as a snapshot's head restores it, with the rows its head counts: its rows' Maps to be filled */
const restored = <S extends OrganizationState | WorkspaceState>(initial: S, counts: Record<string, number>): S => {
  const rowsAndIndexes = new Set(['users', 'byEmail', 'byEmailShared', 'members', 'invitations', 'pendingByEmail', 'pendingByEmailShared']);
  const head = Object.fromEntries(Object.entries(initial).filter(([field]) => !rowsAndIndexes.has(field)));
  return restoredState('users' in initial ? 'organization' : 'workspace', head, counts).state as S;
};
const organization = (counts: Record<string, number> = {}) => restored(initialOrganizationState(), counts);
const workspace = (counts: Record<string, number> = {}) =>
  restored(initialWorkspaceState({ workspaceId: 'ws-1', organizationId: 'org-1', name: 'Support', plan: 'standard', accessModel: 'levels', ownerUserId: 'user-1', createdAt: '2026-11-01T10:00:00.000Z' }), counts);

describe('the rows of a snapshot chunk (docs/adr/0013, session 17: columns, access values listed once)', () => {
  it('users read back as they were written: an address list that is just the address, none, several; a deleted user; a pending change', () => {
    const users = [
      user(1),
      user(2, { knownEmails: [] }),
      user(3, { knownEmails: ['old@example.test', 'user-3@example.test'], alias: 'Trois', avatarUrl: 'https://example.test/a.png', orgAdmin: true }),
      user(4, { deleted: true, email: '', knownEmails: [] }),
      user(5, { pendingEmail: { email: 'new@example.test', version: 2, expiresAt: '2026-11-09T10:00:00.000Z' }, emailChangeVersion: 2 }),
    ];
    const { state, chunk } = roundTrip('users', users);
    expect([...state.users.values()]).toEqual(users);
    // an address list that is just the address is written as 0, not again
    expect(chunk.c[USER_FIELDS.indexOf('knownEmails')]).toEqual([0, [], ['old@example.test', 'user-3@example.test'], [], 0]);
    // the derived index, as evolveOrganization keeps it: every user not deleted by address
    expect([...state.byEmail]).toEqual([1, 2, 3, 5].map((n) => [`user-${n}@example.test`, `user-${n}`]));
  });

  it('members share one frozen access value per distinct access in their chunk: writing to it throws instead of changing every member', () => {
    const members: Member[] = [1, 2, 3].map((n) => ({
      userId: `user-${n}`,
      access: n === 2 ? manager() : agent(),
      status: n === 3 ? 'revoked' : 'active',
      joinedAt: `2026-11-0${n}T10:00:00.000Z`,
      // a revoked member's when and by whom; an active one has neither (absent, not null)
      ...(n === 3 && { revokedAt: '2026-11-05T10:00:00.000Z', revokedBy: 'admin-1' }),
    }));
    const { state, chunk } = roundTrip('members', members);
    expect(chunk.a).toHaveLength(2);
    expect([...state.members.values()]).toEqual(members);
    const [one, , three] = [...state.members.values()];
    expect(one!.access).toBe(three!.access);
    expect([one!.access, one!.access.roles, one!.access.grants, one!.access.restrictions].every((value) => Object.isFrozen(value))).toBe(true);
    expect(() => one!.access.roles.push('owner')).toThrow(TypeError);
    expect(three!.access.roles).toEqual(['agent']);
  });

  it('invitations read back as they were written: a link sent at invitation or later or never recorded; sealed, erased and forgotten addresses', () => {
    const invitations = [
      invitation(1, { addressKey: 'organization' }),
      invitation(2, { linkSentAt: '2026-11-03T12:00:00.000Z', linkVersion: 2, access: manager() }),
      invitation(3, { status: 'accepted', inviteeUserId: 'user-9' }),
      invitation(4, { status: 'cancelled', email: '' }),
      invitation(5, { email: null as unknown as string }),
    ];
    delete invitations[2]!.linkSentAt;
    const sealedAddress: SealedAddress = ['e:subject', 'c2VhbGVk'];
    // inv-1's address sealed under its own key; inv-2's erased (its key gone): written as null, never in clear
    const addresses = new Map<string, SealedAddress | null>([['inv-1', sealedAddress], ['inv-2', null]]);
    const { state, sealed, chunk } = roundTrip('invitations', invitations, addresses);
    expect(chunk.c[INVITATION_FIELDS.indexOf('email')]).toEqual([sealedAddress, null, 'invitee-3@example.test', '', null]);
    // which subject seals the address: the organization's (inv-1), else the shared one of older invitations
    expect(chunk.c[INVITATION_FIELDS.indexOf('addressKey')]).toEqual(['organization', null, null, null, null]);
    // a link sent when invited is written as 0, not again
    expect(chunk.c[INVITATION_FIELDS.indexOf('linkSentAt')]).toEqual([0, '2026-11-03T12:00:00.000Z', null, 0, 0]);
    // the sealed address is listed to be opened, and held as null until it is (opened: in its row's column, before
    // any row is read, as openSnapshot does)
    expect(sealed).toHaveLength(1);
    expect(sealed[0]).toMatchObject({ invitationId: 'inv-1', address: sealedAddress, row: 0 });
    expect(sealed[0]!.column[0]).toBeNull();
    sealed[0]!.column[0] = 'opened@example.test';
    expect([...state.invitations.values()].map((inv) => inv.addressKey)).toEqual(['organization', undefined, undefined, undefined, undefined]);
    expect([...state.invitations.values()]).toEqual([{ ...invitations[0], email: 'opened@example.test' }, { ...invitations[1], email: null }, ...invitations.slice(2)]);
    expect('linkSentAt' in state.invitations.get('inv-3')!).toBe(false);
  });

  it('a chunk of another shape is refused before anything is folded: unknown kind, a column missing or short, no access values, an access index that names none', () => {
    const good = JSON.parse(JSON.stringify(rowsChunk('invitations', [invitation(1), invitation(2)], new Map()))) as RowsChunk;
    expect(isRowsChunk(good)).toBe(true);
    expect(isRowsChunk({ ...good, k: 'teams' })).toBe(false);
    expect(isRowsChunk({ ...good, k: 'constructor' })).toBe(false);
    expect(isRowsChunk({ ...good, c: good.c.slice(1) })).toBe(false);
    expect(isRowsChunk({ ...good, c: good.c.map((column, i) => (i === INVITATION_FIELDS.length - 1 ? column.slice(1) : column)) })).toBe(false);
    expect(isRowsChunk({ k: good.k, c: good.c })).toBe(false);
    expect(isRowsChunk({ k: 'users', r: [[]] })).toBe(false);
    expect(isRowsChunk(null)).toBe(false);
    const badIndex = { ...good, c: good.c.map((column, i) => (i === INVITATION_FIELDS.indexOf('access') ? [0, 7] : column)) };
    expect(isRowsChunk(badIndex)).toBe(true);
    const state = workspace();
    expect(() => deferRows(state, badIndex, [])).toThrow('no access value 7');
    // access values that are not access values
    for (const a of [['x'], [5], [null], [{}], [{ roles: 'owner', grants: [], restrictions: {} }], [{ roles: [], grants: [], restrictions: [] }], [{ roles: [1], grants: [], restrictions: {} }]])
      expect(() => deferRows(state, { ...good, a: a as never }, [])).toThrow(TypeError);
    expect(state.invitations.size).toBe(0);
  });

  it('a chunk of users, members or invitations all accepted waits as its text until a key may be in it: read back the same, parsed once, counted against the head', () => {
    const users = [user(1), user(2, { displayName: 'Quote " and \\ backslash' }), user(3)];
    const text = Buffer.from(JSON.stringify(rowsChunk('users', users, new Map())));
    const org = organization({ users: 3 });
    expect(deferText(org, text)).toBe(true);
    expect(org.users.size).toBe(3);
    expect(org.users.get('user-9')).toBeUndefined();
    expect(org.users.get('user-2')).toEqual(users[1]);
    expect([...org.users.values()]).toEqual(users);
    expect([...org.byEmail.keys()]).toEqual(users.map((u) => u.email));
    // a head that counts other than the chunks hold: said when the last chunk is built
    const miscounted = organization({ users: 4 });
    deferText(miscounted, text);
    expect(() => [...miscounted.users.values()]).toThrow('3 rows in a snapshot whose head counts 4');
    // members, and invitations all accepted
    const members: Member[] = [{ userId: 'user-1', access: agent(), status: 'active', joinedAt: '2026-11-01T10:00:00.000Z' }];
    const accepted = [invitation(1, { status: 'accepted', inviteeUserId: 'user-1' })];
    const ws = workspace({ members: 1, invitations: 1 });
    expect(deferText(ws, Buffer.from(JSON.stringify(rowsChunk('members', members, new Map()))))).toBe(true);
    expect(deferText(ws, Buffer.from(JSON.stringify(rowsChunk('invitations', accepted, new Map()))))).toBe(true);
    expect(ws.members.get('user-1')).toEqual(members[0]);
    expect([...ws.invitations.values()]).toEqual(accepted);
  });

  it('a chunk of invitations one of which is pending or cancelled is parsed at the load (its address may be sealed, to be opened then), and so is any text not of rows', () => {
    const ws = workspace({ invitations: 2 });
    for (const status of ['pending', 'cancelled'] as const)
      expect(deferText(ws, Buffer.from(JSON.stringify(rowsChunk('invitations', [invitation(1, { status: 'accepted', inviteeUserId: 'user-1' }), invitation(2, { status })], new Map()))))).toBe(false);
    expect(deferText(ws, Buffer.from('{"k":"teams","c":[]}'))).toBe(false);
    expect(deferText(ws, Buffer.from('[]'))).toBe(false);
    expect(ws.invitations.size).toBe(2);
    expect(ws.invitations.get('inv-1')).toBeUndefined();
  });
});
