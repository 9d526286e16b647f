import type { DataSubject } from '@rollcall/domain';
import { AddressErasure, erasedSubjectsOf } from './address-erasure';
import type { StateSnapshots } from '../snapshots/snapshots';
import type { StreamStates } from '../command-path/stream-states';

// an address's subject within an organization (`a:`), or shared by every organization (`e:`, before session 24)
const subjectId = (s: DataSubject) => (s.kind === 'user' ? `u:${s.userId}` : s.organizationId ? `a:${s.organizationId}/${s.email}` : `e:${s.email}`);

/**
 * cached workspaces holding invitations to these addresses (`org/address` within an organization, else shared), dropped
 * as StreamStates.dropHoldingErasedAddresses drops them
 */
function cachedWorkspaces(addresses: Record<string, string[]>) {
  const cached = new Map(Object.entries(addresses));
  const subjectOf = (address: string): DataSubject => {
    const [org, email] = address.includes('/') ? address.split('/') : [undefined, address];
    return { kind: 'email', email: email!, ...(org && { organizationId: org }) };
  };
  const states = {
    dropHoldingErasedAddresses: async (isErased: (subject: DataSubject) => boolean) => {
      const dropped = [...cached].filter(([, addresses]) => addresses.some((a) => isErased(subjectOf(a)))).map(([stream]) => stream);
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

  it('an address\'s subject within one organization drops only that organization\'s invitations to it; the shared subject those sent before session 24', async () => {
    const { cached, erasure } = cachedWorkspaces({ 'workspace-1': ['org-1/x@acme.test'], 'workspace-2': ['org-2/x@acme.test'], 'workspace-old': ['x@acme.test'] });
    expect(await erasure.erased(['a:org-1/x@acme.test'])).toEqual(['workspace-1']);
    expect(await erasure.erased(['e:x@acme.test'])).toEqual(['workspace-old']);
    expect([...cached.keys()]).toEqual(['workspace-2']);
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
    expect(await erasure.erasedAfter({ kind: 'email', email: 'gone@acme.test' }, 39n)).toBe(true);
    expect(await erasure.erasedAfter({ kind: 'email', email: 'late@acme.test' }, 55n)).toBe(true);
    expect(await erasure.erasedAfter({ kind: 'email', email: 'gone@acme.test' }, 41n)).toBe(false);
    expect(await erasure.erasedAfter({ kind: 'email', email: 'kept@acme.test' }, 1n)).toBe(false);
  });

  it('an email confirmation is not sent when a deletion forgot its user\'s key after the change was requested, or at its position', async () => {
    tombstones.set('u:gone-user', 70n);
    expect(await erasure.userErasedAfter('gone-user', 69n)).toBe(true);
    expect(await erasure.userErasedAfter('gone-user', 70n)).toBe(true);
    expect(await erasure.userErasedAfter('gone-user', 71n)).toBe(false);
    expect(await erasure.userErasedAfter('kept-user', 1n)).toBe(false);
  });
});
