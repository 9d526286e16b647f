// Rule 12 in the read models that keep invitation addresses, when the projector is behind the log (erased-addresses.ts).
import { membersProjection } from './members';
import { permissionHistoryProjection } from './permission-history';
import { MemoryModel } from './testing/memory-model';
import { LogScenario, WS } from './testing/scenario';
import { shredded, withSealedUnder } from './testing/shredding';

import type { RecordedEvent } from '@rollcall/event-store';

/** zoe, a member of WS (org-1), deleted; another organization had invited her address (pending) */
function deletionWithAnInvitationElsewhere(sentBeforeSession24: boolean): RecordedEvent[] {
  const s = new LogScenario().member('zoe', {}, WS);
  s.log.createOrganization('org-2', { userId: 'bo', email: 'bo@other.test', displayName: 'Bo' });
  s.log.createWorkspace('org-2', 'ws-9', 'bo');
  s.invite('zoe@acme.test', {}, 'ws-9', 'bo');
  s.deleteUser('zoe');
  const elsewhere = (e: RecordedEvent) => e.type === 'UserInvited' && e.stream === 'workspace-ws-9';
  // an invitation sent before session 24 sealed its address under the subject every organization shares
  const events = s.events.map((e) => {
    if (!elsewhere(e) || !sentBeforeSession24) return e;
    const { addressKey: _, ...data } = e.data as Record<string, unknown>;
    return { ...e, data };
  });
  const shred = shredded(events);
  // the projector read the invitations in clear (hers too, before the deletion), and her own events once they were shredded
  const read = events.map((e, i) => (e.type === 'UserInvited' ? withSealedUnder(e) : shred[i]!));
  expect(read.find((e) => e.type === 'UserJoinedOrganization' && (e.data as { userId: string }).userId === 'zoe')!.data).toMatchObject({ email: null });
  return read;
}

/** the documents of each projection that hold the address, by the organization they are of (org-2's subject's too) */
async function holdingZoe(read: RecordedEvent[]): Promise<Record<string, string[]>> {
  const holding: Record<string, string[]> = {};
  for (const projection of [membersProjection, permissionHistoryProjection]) {
    const model = await new MemoryModel(projection).run(read);
    const docs = Object.keys(projection.collections).flatMap((c) => model.all(c)).map((d) => JSON.stringify(d));
    holding[projection.name] = docs.filter((d) => d.includes('zoe@acme.test')).map((d) => (d.includes('org-2') ? 'org-2' : 'org-1'));
  }
  return holding;
}

describe('erased addresses in the read models', () => {
  it("rule 12: a deletion erases its organization's invitations to the addresses it forgot, also when the projector read the user's own events only after the deletion shredded them; another organization's invitation to the address stays", async () => {
    const holding = await holdingZoe(deletionWithAnInvitationElsewhere(false));
    // org-2's: the invitation (and, in the history, its entry and its subject's address)
    expect(holding).toEqual({ [membersProjection.name]: ['org-2', 'org-2'], [permissionHistoryProjection.name]: ['org-2', 'org-2', 'org-2'] });
  });

  it('rule 12: an invitation another organization sent before session 24 (its address under the shared subject) is erased with it', async () => {
    const holding = await holdingZoe(deletionWithAnInvitationElsewhere(true));
    expect(holding).toEqual({ [membersProjection.name]: [], [permissionHistoryProjection.name]: [] });
  });
});
