// Rule 6 and rule 8 with addresses that lower-casing keeps apart and case folding joins (probe 27: `ΟΔΥΣ…Σ@` and
// `οδυσ…σ@` were two people; `ſam@` and `sam@` two invitations). Addresses are stored and mailed as typed
// (lower-cased), and compared by emailKey (ADR 0017). Before session 27 two users, or two pending invitations, could
// hold two forms that fold alike: those states must keep working (review, session 27).
import { decideOrganization } from '../organization/decider';
import type { OrganizationEvent } from '../organization/events';
import { evolveOrganization } from '../organization/state';
import { emailKey, normalizeEmail } from '../shared/validation';
import { ADMIN, HOURS_48, ORG, Scenario, WS, by, expectError } from '../testing/fixture';
import { addressesErasedWith } from '../users/delete-user';
import { decideWorkspace } from './decider';
import type { WorkspaceEvent } from './events';
import { evolveWorkspace } from './state';

const inviteCmd = (s: Scenario, email: string, invitationId = 'inv-x') => ({ type: 'InviteMember' as const, ...by(s, ADMIN), invitationId, email, ttlSeconds: HOURS_48 });

/** the events with their address replaced: what the code before session 27 could write (it did not fold) */
const withAddress = <E extends { data: object }>(events: E[], email: string): E[] =>
  events.map((e) => ('email' in e.data && typeof e.data.email === 'string' ? { ...e, data: { ...e.data, email } } : e));

/** `stored` invited (and joined as `userId`, unless only invited), as a decision before session 27 could write it */
function writtenBefore(s: Scenario, stored: string, invitationId: string, userId?: string): void {
  const placeholder = `${invitationId}@placeholder.test`;
  const invite = decideWorkspace(inviteCmd(s, placeholder, invitationId), s.ctx);
  if (!invite.ok) throw new Error(invite.error.code);
  for (const e of withAddress(invite.events, stored)) evolveWorkspace(s.ctx.ws, e);
  if (!userId) return;
  const join = decideOrganization({ type: 'JoinOrganization', organizationId: ORG, actorId: userId, now: s.now, newUserId: userId, email: placeholder }, s.org);
  if (!join.ok) throw new Error(join.error.code);
  for (const e of withAddress(join.events, stored)) evolveOrganization(s.org, e as OrganizationEvent);
  const accept = decideWorkspace({ type: 'AcceptInvitation', workspaceId: WS, now: s.now, invitationId, linkVersion: 1, newUserId: userId }, s.ctx);
  if (!accept.ok) throw new Error(accept.error.code);
  for (const e of withAddress(accept.events, stored)) evolveWorkspace(s.ctx.ws, e as WorkspaceEvent);
}

/** applies a decided deletion of `userId` */
function deleted(s: Scenario, userId: string): void {
  const deletion = s.whenDelete(userId);
  if (!deletion.ok) throw new Error(deletion.error.code);
  s.applyOrg(deletion.events);
}

describe('rule 6: addresses are compared case-folded, stored and mailed as typed (probe 27, ADR 0017)', () => {
  it('emailKey folds what lower-casing keeps apart: final sigma, long s, micro sign, curled beta, sharp s; the dotless ı stays itself', () => {
    const key = (typed: string) => emailKey(normalizeEmail(typed));
    expect(key('ΟΔΥΣΣΕΥΣ@Acme.test')).toBe(key('οδυσσευσ@acme.test'));
    expect(key('ſam@acme.test')).toBe('sam@acme.test');
    expect(key('µu@acme.test')).toBe(key('μu@acme.test'));
    expect(key('ϐeta@acme.test')).toBe(key('βeta@acme.test'));
    expect(key('straße@acme.test')).toBe('strasse@acme.test');
    expect(key('ışık@acme.test')).not.toBe(key('isik@acme.test'));
    expect(key('  Jane.Doe@Example.COM ')).toBe('jane.doe@example.com');
  });

  it('emailKey folds every code point as the per-character walk does (its shortcut for text folded already included)', () => {
    const walk = (text: string) => Array.from(text, (c) => (c === 'ı' ? c : c.toUpperCase().toLowerCase())).join('').normalize('NFC');
    const differ: string[] = [];
    for (let cp = 0x80; cp <= 0x2ffff; cp++) {
      if (cp >= 0xd800 && cp <= 0xdfff) continue;
      const c = String.fromCodePoint(cp);
      for (const local of [`a${c}`, `${c}${c}b`, `x${c}ς`]) {
        const email = normalizeEmail(`${local}@x.test`);
        const expected = `${walk(email.slice(0, email.lastIndexOf('@')))}@x.test`;
        if (emailKey(email) !== expected) differ.push(`U+${cp.toString(16)}`);
      }
    }
    expect(differ).toEqual([]);
  });

  it('the address is stored (and mailed) as typed, lower-cased: a mail server may keep straße and strasse apart', () => {
    const s = new Scenario();
    for (const typed of ['Straße@acme.test', 'ΟΔΥΣΣΕΥΣ@acme.test']) {
      const d = s.when(inviteCmd(s, typed));
      expect(d.ok && (d.events[0] as Extract<WorkspaceEvent, { type: 'UserInvited' }>).data.email).toBe(normalizeEmail(typed));
    }
    expect(normalizeEmail('Straße@acme.test')).toBe('straße@acme.test');
  });

  it('inviting a member under another case of their address is ALREADY_MEMBER', () => {
    const s = new Scenario();
    s.accepted(s.invited('ΟΔΥΣΣΕΥΣ@acme.test'), 'odysseus');
    expectError(s.when(inviteCmd(s, 'οδυσσευσ@acme.test')), 'ALREADY_MEMBER');
    expectError(s.when(inviteCmd(s, 'Οδυσσευς@ACME.test')), 'ALREADY_MEMBER');
  });

  it.each([
    ['ſam@acme.test', 'sam@acme.test'],
    ['µu@acme.test', 'μu@acme.test'],
    ['ϐeta@acme.test', 'βeta@acme.test'],
    ['ΟΔΥΣ@acme.test', 'οδυσ@acme.test'],
    ['straße@acme.test', 'STRASSE@acme.test'],
  ])('a second invitation to %s as %s is ALREADY_INVITED', (first, second) => {
    const s = new Scenario();
    s.invited(first);
    expectError(s.when(inviteCmd(s, second)), 'ALREADY_INVITED');
  });

  it("rule 8: accepting an invitation to another case of an existing user's address joins nobody new", () => {
    const s = new Scenario();
    s.accepted(s.invited('ΟΔΥΣΣΕΥΣ@acme.test'), 'odysseus');
    const join = s.whenOrg({ type: 'JoinOrganization', organizationId: ORG, actorId: 'someone', now: s.now, newUserId: 'someone', email: 'οδυσσευσ@acme.test' });
    expect(join.ok && join.events).toEqual([]);
  });

  it('rule 10: another user cannot take that address under another case (EMAIL_TAKEN); its holder asking for it changes nothing', () => {
    const s = new Scenario().member('bo');
    s.accepted(s.invited('ΟΔΥΣΣΕΥΣ@acme.test'), 'odysseus');
    const update = (userId: string, email: string, actorId = userId) => s.whenOrg({ type: 'UpdateProfile', organizationId: ORG, actorId, now: s.now, userId, changes: { email } });
    // as an org admin asks it (bo asking himself is told at the confirmation: probe 83 F1)
    expectError(update('bo', 'οδυσσευσ@acme.test', ADMIN), 'EMAIL_TAKEN');
    const own = update('odysseus', 'Οδυσσευσ@acme.test');
    expect(own.ok && own.events).toEqual([]);
  });

  it('rule 12: a deletion erases every form of its addresses their invitations went to (each form its own data key subject)', () => {
    const s = new Scenario();
    s.accepted(s.invited('ΟΔΥΣΣΕΥΣ@acme.test'), 'odysseus');
    s.given({ type: 'RevokeAccess', ...by(s, ADMIN), userId: 'odysseus' });
    // invited back, typed otherwise: bound to them, and sent to the address they hold since session 69 (probe 121 F6)
    const back = s.invited('οδυσσευσ@acme.test');
    expect(s.ctx.ws.invitations.get(back)).toMatchObject({ inviteeUserId: 'odysseus', email: 'οδυσσευς@acme.test' });
    // one written before, as typed: that form is erased with them too
    const invite = decideWorkspace(inviteCmd(s, 'οδυσσευσ@acme.test', 'inv-before'), { ...s.ctx, ws: { ...s.ctx.ws, pendingByEmail: new Map() } });
    if (!invite.ok) throw new Error(invite.error.code);
    for (const e of withAddress(invite.events, 'οδυσσευσ@acme.test')) evolveWorkspace(s.ctx.ws, e);
    expect(addressesErasedWith(s.org, [s.ctx.ws], 'odysseus')).toEqual(new Set(['οδυσσευς@acme.test', 'οδυσσευσ@acme.test']));
    const deletion = s.whenDelete('odysseus');
    expect(deletion.ok && deletion.events.map((e) => e.type)).toContain('InvitationCancelled');
  });
});

describe('states written before session 27: two holders of one folded address (review, session 27)', () => {
  it("rule 12: each of two users whose addresses fold alike erases its own form at its deletion, not the other's", () => {
    const s = new Scenario();
    writtenBefore(s, 'οδυσσευς@acme.test', 'inv-1', 'u1');
    writtenBefore(s, 'οδυσσευσ@acme.test', 'inv-2', 'u2');
    expect(addressesErasedWith(s.org, [s.ctx.ws], 'u1')).toEqual(new Set(['οδυσσευς@acme.test']));
    expect(addressesErasedWith(s.org, [s.ctx.ws], 'u2')).toEqual(new Set(['οδυσσευσ@acme.test']));
  });

  it.each(['u1', 'u2'])('rule 6: once %s is deleted, the other is still found by the address: ALREADY_MEMBER, and no third user', (gone) => {
    const s = new Scenario();
    writtenBefore(s, 'οδυσσευς@acme.test', 'inv-1', 'u1');
    writtenBefore(s, 'οδυσσευσ@acme.test', 'inv-2', 'u2');
    deleted(s, gone);
    expectError(s.when(inviteCmd(s, 'ΟΔΥΣΣΕΥΣ@acme.test')), 'ALREADY_MEMBER');
    const join = s.whenOrg({ type: 'JoinOrganization', organizationId: ORG, actorId: 'someone', now: s.now, newUserId: 'someone', email: 'οδυσσευσ@acme.test' });
    expect(join.ok && join.events).toEqual([]);
  });

  it.each(['inv-1', 'inv-2'])('rule 6: of two pending invitations whose addresses fold alike, %s cancelled leaves the other ALREADY_INVITED', (cancelled) => {
    const s = new Scenario();
    writtenBefore(s, 'ſam@acme.test', 'inv-1');
    writtenBefore(s, 'sam@acme.test', 'inv-2');
    s.given({ type: 'CancelInvitation', ...by(s, ADMIN), invitationId: cancelled });
    expectError(s.when(inviteCmd(s, 'Sam@acme.test')), 'ALREADY_INVITED');
  });
});
