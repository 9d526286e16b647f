import type { DataSubject } from '@rollcall/domain';
import { AddressErasure, erasedSubjectsOf } from './address-erasure';
import type { StateSnapshots } from './snapshots';
import type { StreamStates } from './stream-states';

const subjectId = (s: DataSubject) => (s.kind === 'email' ? `e:${s.email}` : `u:${s.userId}`);

/** cached workspaces holding invitations to these addresses, dropped as StreamStates.dropHoldingErasedAddresses drops them */
function cachedWorkspaces(addresses: Record<string, string[]>) {
  const cached = new Map(Object.entries(addresses));
  const states = {
    dropHoldingErasedAddresses: async (isErased: (email: string) => boolean) => {
      const dropped = [...cached].filter(([, emails]) => emails.some(isErased)).map(([stream]) => stream);
      for (const stream of dropped) cached.delete(stream);
      return dropped;
    },
  } as unknown as StreamStates;
  const stale: string[] = [];
  const snapshots = { addressesErased: (stream: string) => stale.push(stream) } as unknown as StateSnapshots;
  return { cached, erasure: new AddressErasure(states, snapshots, subjectId), stale };
}

describe('rule 12 across organizations: what a deletion erased leaves this process\'s cached workspaces', () => {
  it('the workspaces holding an invitation to an erased address are dropped (loaded again from the log) and their snapshots marked to be written again; the others stay', async () => {
    const { cached, erasure, stale } = cachedWorkspaces({ 'workspace-b': ['gone@acme.test', 'kept@acme.test'], 'workspace-c': ['kept@acme.test'] });
    expect(await erasure.erased(['u:someone', 'e:gone@acme.test'])).toEqual(['workspace-b']);
    expect([...cached.keys()]).toEqual(['workspace-c']);
    expect(stale).toEqual(['workspace-b']);
    // nothing erased: nothing dropped, no snapshot marked
    expect(await erasure.erased([])).toEqual([]);
    expect(await erasure.erased(['e:unknown@acme.test'])).toEqual([]);
    expect(stale).toEqual(['workspace-b']);
  });

  it('reads the erased subjects of a UserDeleted\'s metadata, as an array or as JSON text from older writers', () => {
    expect(erasedSubjectsOf({ erasedSubjects: ['u:1', 'e:x'] })).toEqual(['u:1', 'e:x']);
    expect(erasedSubjectsOf({ erasedSubjects: '["u:1"]' })).toEqual(['u:1']);
    expect(erasedSubjectsOf({})).toEqual([]);
    expect(erasedSubjectsOf({ erasedSubjects: [1, 'e:y'] })).toEqual(['e:y']);
  });
});

describe('rule 12: an invitation email after its address was erased', () => {
  // tombstones as the key store keeps them: the position of the deletion (or of the log's head, when keys are
  // forgotten outside a deletion's transaction), answered for those past `after`
  const tombstones = new Map([['e:gone@acme.test', 40n], ['e:late@acme.test', 55n]]);
  const erasure = new AddressErasure(
    {} as StreamStates,
    undefined,
    subjectId,
    () => undefined,
    async () => new Map(),
    async (ids, after) => new Map(ids.flatMap((id) => (tombstones.get(id) ?? -1n) > after ? [[id, tombstones.get(id)!] as const] : [])),
  );

  it('is not sent when a deletion forgot the address after the invitation, or at its position (a head stamp); it is when the erasure came before', async () => {
    expect(await erasure.erasedAfter('gone@acme.test', 39n)).toBe(true);
    expect(await erasure.erasedAfter('late@acme.test', 55n)).toBe(true);
    expect(await erasure.erasedAfter('gone@acme.test', 41n)).toBe(false);
    expect(await erasure.erasedAfter('kept@acme.test', 1n)).toBe(false);
  });

  it('an email confirmation is not sent when a deletion forgot its user\'s key after the change was requested, or at its position', async () => {
    tombstones.set('u:gone-user', 70n);
    expect(await erasure.userErasedAfter('gone-user', 69n)).toBe(true);
    expect(await erasure.userErasedAfter('gone-user', 70n)).toBe(true);
    expect(await erasure.userErasedAfter('gone-user', 71n)).toBe(false);
    expect(await erasure.userErasedAfter('kept-user', 1n)).toBe(false);
  });
});
