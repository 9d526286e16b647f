import { type Invitation, type WorkspaceState, forgetErasedInvitationAddresses } from '@rollcall/domain';
import { AddressErasure, erasedSubjectsOf } from './address-erasure';
import type { StateSnapshots } from './snapshots';
import type { StreamStates } from './stream-states';

const invitation = (invitationId: string, email: string, invitedAt: string): Invitation => ({
  invitationId,
  email,
  access: { roles: ['agent'], restrictions: {}, grants: [] },
  status: 'pending',
  linkVersion: 1,
  invitedAt,
  expiresAt: '2026-12-02T10:00:00.000Z',
  inviteeUserId: null,
});

/** one cached workspace, folded as StreamStates.forgetErasedAddresses folds it */
function cachedWorkspace(invitations: Invitation[]) {
  const state = { invitations: new Map(invitations.map((i) => [i.invitationId, i])), pendingByEmail: new Map(invitations.map((i) => [i.email, i.invitationId])) } as unknown as WorkspaceState;
  const states = { forgetErasedAddresses: async (isErased: (email: string, inv: Invitation) => boolean) => (forgetErasedInvitationAddresses(state, isErased) > 0 ? ['workspace-b'] : []) } as unknown as StreamStates;
  const stale: string[] = [];
  const snapshots = { addressesErased: (stream: string) => stale.push(stream) } as unknown as StateSnapshots;
  return { state, erasure: new AddressErasure(states, snapshots, (email) => `e:${email}`), stale };
}

describe('rule 12 across organizations: what a deletion erased leaves this process\'s cached workspaces', () => {
  it('invitations to the erased addresses sent before the deletion lose their address; one sent after it (a new key) and others keep theirs', async () => {
    const { state, erasure, stale } = cachedWorkspace([
      invitation('before', 'gone@acme.test', '2026-11-30T10:00:00.000Z'),
      invitation('after', 'gone.too@acme.test', '2026-11-30T10:00:05.000Z'),
      invitation('other', 'kept@acme.test', '2026-11-30T09:00:00.000Z'),
    ]);
    expect(await erasure.erased(['u:someone', 'e:gone@acme.test', 'e:gone.too@acme.test'], '2026-11-30T10:00:01.000Z')).toEqual(['workspace-b']);
    expect([...state.invitations.values()].map((i) => [i.invitationId, i.email])).toEqual([
      ['before', null],
      ['after', 'gone.too@acme.test'],
      ['other', 'kept@acme.test'],
    ]);
    expect(stale).toEqual(['workspace-b']);
    // nothing erased: nothing changes, no snapshot marked
    expect(await erasure.erased([], '2026-11-30T11:00:00.000Z')).toEqual([]);
    expect(await erasure.erased(['e:unknown@acme.test'], '2026-11-30T11:00:00.000Z')).toEqual([]);
    expect(stale).toEqual(['workspace-b']);
  });

  it('reads the erased subjects of a UserDeleted\'s metadata, as an array or as JSON text from older writers', () => {
    expect(erasedSubjectsOf({ erasedSubjects: ['u:1', 'e:x'] })).toEqual(['u:1', 'e:x']);
    expect(erasedSubjectsOf({ erasedSubjects: '["u:1"]' })).toEqual(['u:1']);
    expect(erasedSubjectsOf({})).toEqual([]);
    expect(erasedSubjectsOf({ erasedSubjects: [1, 'e:y'] })).toEqual(['e:y']);
  });
});
