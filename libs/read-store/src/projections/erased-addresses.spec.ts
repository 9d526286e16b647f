// Rule 12 in the read models that keep invitation addresses, when the projector is behind the log (erased-addresses.ts).
import { membersProjection } from './members';
import { permissionHistoryProjection } from './permission-history';
import { MemoryModel } from './testing/memory-model';
import { LogScenario, WS } from './testing/scenario';
import { shredded, withSealedUnder } from './testing/shredding';

describe('erased addresses in the read models', () => {
  it("rule 12: a deletion erases the invitations to the addresses it forgot in every organization, also when the projector read the user's own events only after the deletion shredded them", async () => {
    const s = new LogScenario().member('zoe', {}, WS);
    s.log.createOrganization('org-2', { userId: 'bo', email: 'bo@other.test', displayName: 'Bo' });
    s.log.createWorkspace('org-2', 'ws-9', 'bo');
    s.invite('zoe@acme.test', {}, 'ws-9', 'bo'); // another organization invites her address: pending
    s.deleteUser('zoe');
    const shred = shredded(s.events);
    // the projector read the other organization's invitation in clear, and her own events once they were shredded
    const read = s.events.map((e, i) => (e.type === 'UserInvited' && e.stream === 'workspace-ws-9' ? withSealedUnder(e) : shred[i]!));
    expect(read.find((e) => e.type === 'UserJoinedOrganization' && (e.data as { userId: string }).userId === 'zoe')!.data).toMatchObject({ email: null });
    for (const projection of [membersProjection, permissionHistoryProjection]) {
      const model = await new MemoryModel(projection).run(read);
      const docs = JSON.stringify(Object.keys(projection.collections).flatMap((c) => model.all(c)));
      expect({ projection: projection.name, holds: docs.includes('zoe@acme.test') }).toEqual({ projection: projection.name, holds: false });
    }
  });
});
