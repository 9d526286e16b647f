// Rule 12 across organizations (docs/rules.md#crypto-shredding, docs/adr/0003 "Session 24"): which subject seals an
// invitation's address, and that its later events name the same one.
import { ADMIN, HOURS_48, ORG, Scenario, WS, by, expectEvents } from './testing/fixture';
import { addressSubject, personalFieldsOf } from './personal-data';
import { addressesSealedShared } from './users/delete-user';
import { evolveWorkspace } from './workspace/state';
import type { WorkspaceEvent } from './workspace/events';

const ADDRESS = 'jane@acme.test';
/** the address subjects an event's personal fields name (user subjects left out) */
const addressSubjectsOf = (e: WorkspaceEvent) => personalFieldsOf(e.type, e.data).map((f) => f.subject).filter((subject) => subject.kind === 'email');

/** a workspace with a pending invitation `inv-1` to ADDRESS: sent now, or as before session 24 (no `addressKey`) */
function withInvitation(sentBefore24: boolean): Scenario {
  const s = new Scenario();
  const decision = s.when({ type: 'InviteMember', ...by(s, ADMIN), invitationId: 'inv-1', email: ADDRESS, ttlSeconds: HOURS_48 });
  const [invited] = expectEvents(decision, ['UserInvited']);
  if (sentBefore24) delete invited!.data.addressKey;
  evolveWorkspace(s.ctx.ws, invited!);
  return s;
}

/** the events of a resend, a cancel, and (on another copy of the state) an acceptance of `inv-1` */
function laterEvents(sentBefore24: boolean): WorkspaceEvent[] {
  const s = withInvitation(sentBefore24);
  const resent = expectEvents(s.when({ type: 'ResendInvitation', ...by(s, ADMIN), invitationId: 'inv-1', ttlSeconds: HOURS_48 }), ['InvitationResent']);
  const cancelled = expectEvents(s.when({ type: 'CancelInvitation', ...by(s, ADMIN), invitationId: 'inv-1' }), ['InvitationCancelled']);
  const accepted = expectEvents(s.when({ type: 'AcceptInvitation', workspaceId: WS, now: s.now, invitationId: 'inv-1', linkVersion: 1, newUserId: 'jane' }), ['InvitationAccepted']);
  return [...resent, ...cancelled, ...accepted];
}

describe("rule 12: an invitation's address is a data subject within its organization", () => {
  it('a new invitation seals its address under its organization\'s subject, and its resend, cancel and acceptance name the same', () => {
    const s = new Scenario();
    const [invited] = expectEvents(s.when({ type: 'InviteMember', ...by(s, ADMIN), invitationId: 'inv-1', email: ADDRESS, ttlSeconds: HOURS_48 }), ['UserInvited']);
    expect(addressSubjectsOf(invited!)).toEqual([{ kind: 'email', email: ADDRESS, organizationId: ORG }]);
    for (const e of laterEvents(false)) expect({ type: e.type, subjects: addressSubjectsOf(e) }).toEqual({ type: e.type, subjects: [{ kind: 'email', email: ADDRESS, organizationId: ORG }] });
  });

  it('an invitation sent before session 24 keeps the subject every organization shares for its resend, cancel and acceptance', () => {
    for (const e of laterEvents(true)) expect({ type: e.type, subjects: addressSubjectsOf(e) }).toEqual({ type: e.type, subjects: [{ kind: 'email', email: ADDRESS }] });
  });

  it('an address sealed within its organization without the organization is refused, never sealed under the shared subject', () => {
    expect(() => addressSubject(ADDRESS, undefined, 'organization')).toThrow(TypeError);
    expect(() => personalFieldsOf('InvitationCancelled', { workspaceId: WS, invitationId: 'i', email: ADDRESS, cancelledAt: 'x', addressKey: 'organization' })).toThrow(TypeError);
    expect(addressSubject(ADDRESS, undefined, undefined)).toEqual({ kind: 'email', email: ADDRESS });
  });

  it('a deletion forgets the shared subject only of the addresses its organization invited before session 24', () => {
    expect(addressesSealedShared([withInvitation(false).ctx.ws], new Set([ADDRESS]))).toEqual(new Set());
    expect(addressesSealedShared([withInvitation(true).ctx.ws], new Set([ADDRESS]))).toEqual(new Set([ADDRESS]));
    expect(addressesSealedShared([withInvitation(true).ctx.ws], new Set(['other@acme.test']))).toEqual(new Set());
  });
});
