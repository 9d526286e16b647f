// Rule 12 across organizations and across invitations (docs/rules.md#crypto-shredding, docs/adr/0003 "Session 24",
// docs/adr/0024 "Session 41"): which subject seals an invitation's address, and that its later events name the same one.
import { ADMIN, HOURS_48, ORG, Scenario, WS, by, expectEvents } from './testing/fixture';
import { type AddressKey, addressSubject, personalFieldsOf } from './personal-data';
import { addressesSealedUnder } from './users/delete-user';
import { evolveWorkspace } from './workspace/state';
import type { WorkspaceEvent } from './workspace/events';

const ADDRESS = 'jane@acme.test';
/** the address subjects an event's personal fields name (user subjects left out) */
const addressSubjectsOf = (e: WorkspaceEvent) => personalFieldsOf(e.type, e.data).map((f) => f.subject).filter((subject) => subject.kind === 'email');

/**
 * a workspace with a pending invitation `inv-1` to ADDRESS: sent now (`'invitation'`), as from session 24 to 40
 * (`'organization'`), or as before session 24 (no `addressKey`)
 */
function withInvitation(key: AddressKey): Scenario {
  const s = new Scenario();
  const decision = s.when({ type: 'InviteMember', ...by(s, ADMIN), invitationId: 'inv-1', email: ADDRESS, ttlSeconds: HOURS_48 });
  const [invited] = expectEvents(decision, ['UserInvited']);
  if (key === undefined) delete invited!.data.addressKey;
  else invited!.data.addressKey = key;
  evolveWorkspace(s.ctx.ws, invited!);
  return s;
}

/** the events of a resend, a cancel, and (on another copy of the state) an acceptance of `inv-1` */
function laterEvents(key: AddressKey): WorkspaceEvent[] {
  const s = withInvitation(key);
  const resent = expectEvents(s.when({ type: 'ResendInvitation', ...by(s, ADMIN), invitationId: 'inv-1', ttlSeconds: HOURS_48 }), ['InvitationResent']);
  const cancelled = expectEvents(s.when({ type: 'CancelInvitation', ...by(s, ADMIN), invitationId: 'inv-1' }), ['InvitationCancelled']);
  const accepted = expectEvents(s.when({ type: 'AcceptInvitation', workspaceId: WS, now: s.now, invitationId: 'inv-1', linkVersion: 1, newUserId: 'jane' }), ['InvitationAccepted']);
  return [...resent, ...cancelled, ...accepted];
}

describe("rule 12: an invitation's address is a data subject within its organization", () => {
  it("rule 12: a new invitation seals its address under the invitation's own subject, and its resend, cancel and acceptance name the same", () => {
    const s = new Scenario();
    const [invited] = expectEvents(s.when({ type: 'InviteMember', ...by(s, ADMIN), invitationId: 'inv-1', email: ADDRESS, ttlSeconds: HOURS_48 }), ['UserInvited']);
    const own = { kind: 'email', email: ADDRESS, organizationId: ORG, invitationId: 'inv-1' };
    expect(addressSubjectsOf(invited!)).toEqual([own]);
    for (const e of laterEvents('invitation')) expect({ type: e.type, subjects: addressSubjectsOf(e) }).toEqual({ type: e.type, subjects: [own] });
  });

  it('rule 12: two invitations to one address never share a subject (an erased address invited again is sealed under a new name)', () => {
    const s = withInvitation('invitation');
    const [cancelled] = expectEvents(s.when({ type: 'CancelInvitation', ...by(s, ADMIN), invitationId: 'inv-1' }), ['InvitationCancelled']);
    evolveWorkspace(s.ctx.ws, cancelled!);
    const [again] = expectEvents(s.when({ type: 'InviteMember', ...by(s, ADMIN), invitationId: 'inv-2', email: ADDRESS, ttlSeconds: HOURS_48 }), ['UserInvited']);
    expect(addressSubjectsOf(again!)).toEqual([{ kind: 'email', email: ADDRESS, organizationId: ORG, invitationId: 'inv-2' }]);
  });

  it('an invitation sent from session 24 to 40 keeps its organization\'s subject for its resend, cancel and acceptance', () => {
    for (const e of laterEvents('organization')) expect({ type: e.type, subjects: addressSubjectsOf(e) }).toEqual({ type: e.type, subjects: [{ kind: 'email', email: ADDRESS, organizationId: ORG }] });
  });

  it('an invitation sent before session 24 keeps the subject every organization shares for its resend, cancel and acceptance', () => {
    for (const e of laterEvents(undefined)) expect({ type: e.type, subjects: addressSubjectsOf(e) }).toEqual({ type: e.type, subjects: [{ kind: 'email', email: ADDRESS }] });
  });

  it('an address sealed within its organization without the organization is refused, never sealed under the shared subject', () => {
    expect(() => addressSubject(ADDRESS, undefined, 'organization')).toThrow(TypeError);
    expect(() => addressSubject(ADDRESS, undefined, 'invitation', 'inv-1')).toThrow(TypeError);
    expect(() => addressSubject(ADDRESS, ORG, 'invitation')).toThrow(TypeError);
    expect(() => personalFieldsOf('InvitationCancelled', { workspaceId: WS, invitationId: 'i', email: ADDRESS, cancelledAt: 'x', addressKey: 'organization' })).toThrow(TypeError);
    expect(addressSubject(ADDRESS, undefined, undefined)).toEqual({ kind: 'email', email: ADDRESS });
  });

  it('a deletion forgets the shared subject only of the addresses its organization invited before session 24', () => {
    expect(addressesSealedUnder([withInvitation('organization').ctx.ws], new Set([ADDRESS]), undefined)).toEqual(new Set());
    expect(addressesSealedUnder([withInvitation(undefined).ctx.ws], new Set([ADDRESS]), undefined)).toEqual(new Set([ADDRESS]));
    expect(addressesSealedUnder([withInvitation(undefined).ctx.ws], new Set(['other@acme.test']), undefined)).toEqual(new Set());
  });

  it("rule 12: a deletion forgets an address's subject within the organization only for the addresses its invitations of sessions 24 to 40 went to (probe 33 F2: no subject derived from an address is named otherwise)", () => {
    expect(addressesSealedUnder([withInvitation('organization').ctx.ws], new Set([ADDRESS]), 'organization')).toEqual(new Set([ADDRESS]));
    expect(addressesSealedUnder([withInvitation('invitation').ctx.ws], new Set([ADDRESS]), 'organization')).toEqual(new Set());
    expect(addressesSealedUnder([withInvitation('invitation').ctx.ws], new Set([ADDRESS]), undefined)).toEqual(new Set());
  });
});
