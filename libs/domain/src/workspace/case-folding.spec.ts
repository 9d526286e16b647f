// Rule 6 and rule 8 with addresses that lower-casing keeps apart and case folding joins (probe 27: `ΟΔΥΣ…Σ@` and
// `οδυσ…σ@` were two people; `ſam@` and `sam@` two invitations). Addresses stored before session 27 were lower-cased
// only: they must keep matching what is typed now, and keep the data key subject their events were sealed under.
import { decideOrganization } from '../organization/decider';
import { evolveOrganization } from '../organization/state';
import type { OrganizationEvent } from '../organization/events';
import { emailKey, lowerCasedEmail, normalizeEmail } from '../shared/validation';
import { addressesErasedWith } from '../users/delete-user';
import { ADMIN, HOURS_48, ORG, Scenario, WS, by, expectError } from '../testing/fixture';
import { decideWorkspace } from './decider';
import type { WorkspaceEvent } from './events';
import { evolveWorkspace } from './state';

const inviteCmd = (s: Scenario, email: string, invitationId = 'inv-x') => ({ type: 'InviteMember' as const, ...by(s, ADMIN), invitationId, email, ttlSeconds: HOURS_48 });

/** as a command written before session 27 stored its address: lower-cased, not folded */
const storedBefore = <E extends { data: object }>(events: E[], stored: string): E[] =>
  events.map((e) => ('email' in e.data && typeof e.data.email === 'string' ? { ...e, data: { ...e.data, email: stored } } : e));

/** `userId` invited and joined with `typed`, stored as lower-casing stored it before session 27 */
function memberStoredBefore(s: Scenario, userId: string, typed: string, invitationId = `inv-${userId}`): string {
  const stored = lowerCasedEmail(typed);
  const invite = decideWorkspace(inviteCmd(s, typed, invitationId), s.ctx);
  if (!invite.ok) throw new Error(invite.error.code);
  for (const e of storedBefore(invite.events, stored)) evolveWorkspace(s.ctx.ws, e);
  const join = decideOrganization({ type: 'JoinOrganization', organizationId: ORG, actorId: userId, now: s.now, newUserId: userId, email: stored }, s.org);
  if (!join.ok) throw new Error(join.error.code);
  for (const e of storedBefore(join.events, stored)) evolveOrganization(s.org, e as OrganizationEvent);
  const accept = decideWorkspace({ type: 'AcceptInvitation', workspaceId: WS, now: s.now, invitationId, linkVersion: 1, newUserId: userId }, s.ctx);
  if (!accept.ok) throw new Error(accept.error.code);
  for (const e of storedBefore(accept.events, stored)) evolveWorkspace(s.ctx.ws, e as WorkspaceEvent);
  return stored;
}

describe('rule 6: addresses are compared case-folded, not only lower-cased (probe 27)', () => {
  it('normalizeEmail folds what lower-casing keeps apart: final sigma, long s, micro sign, curled beta, sharp s; the dotless ı stays itself', () => {
    expect(normalizeEmail('ΟΔΥΣΣΕΥΣ@Acme.test')).toBe(normalizeEmail('οδυσσευς@acme.test'));
    expect(normalizeEmail('οδυσσευς@acme.test')).toBe('οδυσσευσ@acme.test');
    expect(normalizeEmail('ſam@acme.test')).toBe('sam@acme.test');
    expect(normalizeEmail('µu@acme.test')).toBe(normalizeEmail('μu@acme.test'));
    expect(normalizeEmail('ϐeta@acme.test')).toBe(normalizeEmail('βeta@acme.test'));
    expect(normalizeEmail('straße@acme.test')).toBe('strasse@acme.test');
    expect(normalizeEmail('ışık@acme.test')).not.toBe(normalizeEmail('isik@acme.test'));
    expect(normalizeEmail('IŞIK@acme.test')).toBe('işik@acme.test');
    // ASCII as before
    expect(normalizeEmail('  Jane.Doe@Example.COM ')).toBe('jane.doe@example.com');
  });

  it('an address stored before (lower-cased) has the key of what is typed now; the subject form stays the lower-cased one', () => {
    expect(emailKey(lowerCasedEmail('ΟΔΥΣΣΕΥΣ@acme.test'))).toBe(normalizeEmail('οδυσσευσ@acme.test'));
    expect(lowerCasedEmail('ΟΔΥΣΣΕΥΣ@acme.test')).toBe('οδυσσευς@acme.test');
    expect(emailKey('jane@acme.test')).toBe('jane@acme.test');
  });

  it('inviting a member under another case of their address is ALREADY_MEMBER: stored now, or stored before session 27', () => {
    const s = new Scenario();
    memberStoredBefore(s, 'odysseus', 'ΟΔΥΣΣΕΥΣ@acme.test');
    expectError(s.when(inviteCmd(s, 'οδυσσευσ@acme.test')), 'ALREADY_MEMBER');
    expectError(s.when(inviteCmd(s, 'Οδυσσευς@ACME.test')), 'ALREADY_MEMBER');
    const t = new Scenario();
    t.accepted(t.invited('ΟΔΥΣΣΕΥΣ@acme.test'), 'odysseus');
    expectError(t.when(inviteCmd(t, 'οδυσσευσ@acme.test')), 'ALREADY_MEMBER');
  });

  it.each([
    ['ſam@acme.test', 'sam@acme.test'],
    ['µu@acme.test', 'μu@acme.test'],
    ['ϐeta@acme.test', 'βeta@acme.test'],
    ['ΟΔΥΣ@acme.test', 'οδυσ@acme.test'],
  ])('a second invitation to %s as %s is ALREADY_INVITED', (first, second) => {
    const s = new Scenario();
    s.invited(first);
    expectError(s.when(inviteCmd(s, second)), 'ALREADY_INVITED');
  });

  it('rule 8: accepting an invitation to another case of an existing user\'s address (stored before) joins nobody new', () => {
    const s = new Scenario();
    memberStoredBefore(s, 'odysseus', 'ΟΔΥΣΣΕΥΣ@acme.test');
    const join = s.whenOrg({ type: 'JoinOrganization', organizationId: ORG, actorId: 'someone', now: s.now, newUserId: 'someone', email: 'οδυσσευσ@acme.test' });
    expect(join.ok && join.events).toEqual([]);
  });

  it('rule 10: another user cannot take that address under another case (EMAIL_TAKEN); its holder asking for it changes nothing', () => {
    const s = new Scenario().member('bo');
    memberStoredBefore(s, 'odysseus', 'ΟΔΥΣΣΕΥΣ@acme.test');
    const update = (userId: string, email: string, actorId = userId) =>
      s.whenOrg({ type: 'UpdateProfile', organizationId: ORG, actorId, now: s.now, userId, changes: { email } });
    expectError(update('bo', 'οδυσσευσ@acme.test'), 'EMAIL_TAKEN');
    const own = update('odysseus', 'Οδυσσευσ@acme.test');
    expect(own.ok && own.events).toEqual([]);
  });

  it('rule 12: a deletion erases every stored form of the addresses it erases (each form is its own data key subject)', () => {
    const s = new Scenario();
    const before = memberStoredBefore(s, 'odysseus', 'ΟΔΥΣΣΕΥΣ@acme.test');
    s.given({ type: 'RevokeAccess', ...by(s, ADMIN), userId: 'odysseus' });
    // invited back since: the same person (bound to them), under the folded form
    s.invited('ΟΔΥΣΣΕΥΣ@acme.test');
    const now = normalizeEmail('ΟΔΥΣΣΕΥΣ@acme.test');
    expect(now).not.toBe(before);
    expect(addressesErasedWith(s.org, [s.ctx.ws], 'odysseus')).toEqual(new Set([before, now]));
    // and the deletion cancels that invitation, theirs
    const deletion = s.whenDelete('odysseus');
    expect(deletion.ok && deletion.events.map((e) => e.type)).toContain('InvitationCancelled');
  });
});
