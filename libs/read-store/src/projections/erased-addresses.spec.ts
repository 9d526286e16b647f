// Rule 12 in the read models that keep invitation addresses, when the projector is behind the log (erased-addresses.ts).
import { membersProjection } from './members';
import { permissionHistoryProjection } from './permission-history';
import { MemoryModel } from './testing/memory-model';
import { LogScenario, WS } from './testing/scenario';
import { shredded, withSealedUnder } from './testing/shredding';

import type { AddressKey } from '@rollcall/domain';
import type { RecordedEvent } from '@rollcall/event-store';

/**
 * zoe, a member of WS (org-1), deleted; another organization had invited her address (pending). `keys`: which key each
 * organization's invitation sealed its address under (`addressKey`): its own (since session 41), the address's within
 * the organization (sessions 24–40), or (undefined) the subject every organization shares (before session 24).
 */
function deletionWithAnInvitationElsewhere(keys: { own: AddressKey; elsewhere: AddressKey }): RecordedEvent[] {
  const s = new LogScenario().member('zoe', {}, WS);
  s.log.createOrganization('org-2', { userId: 'bo', email: 'bo@other.test', displayName: 'Bo' });
  s.log.createWorkspace('org-2', 'ws-9', 'bo');
  s.invite('zoe@acme.test', {}, 'ws-9', 'bo');
  s.deleteUser('zoe');
  const events = s.events.map((e) => {
    // the deletion's subjects as the store names them for these invitations (shredded() below)
    if (e.type === 'UserDeleted') {
      const { erasedSubjects: _, ...metadata } = e.metadata;
      return { ...e, metadata };
    }
    if (!['UserInvited', 'InvitationAccepted'].includes(e.type)) return e;
    const key = e.stream === 'workspace-ws-9' ? keys.elsewhere : keys.own;
    const { addressKey: _, ...data } = e.data as Record<string, unknown>;
    return { ...e, data: key === undefined ? data : { ...data, addressKey: key } };
  });
  const shred = shredded(events);
  // the projector read the invitations in clear (hers too, before the deletion), and her own events once they were shredded
  const read = events.map((e, i) => (e.type === 'UserInvited' ? withSealedUnder(e) : shred[i]!));
  expect(read.find((e) => e.type === 'UserJoinedOrganization' && (e.data as { userId: string }).userId === 'zoe')!.data).toMatchObject({ email: null });
  return read;
}

/** the documents of each projection that hold the address, by the organization they are of (subjects' too: `shared`) */
async function holdingZoe(read: RecordedEvent[]): Promise<Record<string, string[]>> {
  const holding: Record<string, string[]> = {};
  for (const projection of [membersProjection, permissionHistoryProjection]) {
    const model = await new MemoryModel(projection).run(read);
    const docs = Object.keys(projection.collections).flatMap((c) => model.all(c)).map((d) => JSON.stringify(d));
    holding[projection.name] = docs.filter((d) => d.includes('zoe@acme.test')).map((d) => (d.includes('org-2') ? 'org-2' : d.includes('"subject:e:') ? 'shared' : 'org-1'));
  }
  return holding;
}

// org-2's: the invitation (and, in the history, its entry); under its own key (since session 41) nothing else, under
// an organization's or the shared subject the address remembered under that subject too
const ORG_2_KEEPS = { [membersProjection.name]: ['org-2'], [permissionHistoryProjection.name]: ['org-2', 'org-2'] };
const ORG_2_KEEPS_ITS_SUBJECT = { [membersProjection.name]: ['org-2', 'org-2'], [permissionHistoryProjection.name]: ['org-2', 'org-2', 'org-2'] };
const ORG_2_KEEPS_SHARED = { [membersProjection.name]: ['org-2', 'shared'], [permissionHistoryProjection.name]: ['org-2', 'org-2', 'shared'] };

describe('erased addresses in the read models', () => {
  it("rule 12: a deletion erases its organization's invitations to the addresses it forgot, also when the projector read the user's own events only after the deletion shredded them; another organization's invitation to the address stays", async () => {
    expect(await holdingZoe(deletionWithAnInvitationElsewhere({ own: 'invitation', elsewhere: 'invitation' }))).toEqual(ORG_2_KEEPS);
    // invitations of sessions 24 to 40 (each organization's subject of the address)
    expect(await holdingZoe(deletionWithAnInvitationElsewhere({ own: 'organization', elsewhere: 'organization' }))).toEqual(ORG_2_KEEPS_ITS_SUBJECT);
  });

  it("rule 12: the deleted user's own invitation sent before session 24 (the shared subject, named by the deletion) erases no other organization's newer invitation to the address", async () => {
    expect(await holdingZoe(deletionWithAnInvitationElsewhere({ own: undefined, elsewhere: 'invitation' }))).toEqual(ORG_2_KEEPS);
    expect(await holdingZoe(deletionWithAnInvitationElsewhere({ own: undefined, elsewhere: 'organization' }))).toEqual(ORG_2_KEEPS_ITS_SUBJECT);
  });

  it("rule 12: another organization's invitation sent before session 24 stays when the deleting organization sealed nothing under the shared subject", async () => {
    expect(await holdingZoe(deletionWithAnInvitationElsewhere({ own: 'invitation', elsewhere: undefined }))).toEqual(ORG_2_KEEPS_SHARED);
    expect(await holdingZoe(deletionWithAnInvitationElsewhere({ own: 'organization', elsewhere: undefined }))).toEqual(ORG_2_KEEPS_SHARED);
  });

  it('rule 12: when both invitations were sent before session 24 (one shared subject), the other organization\'s is erased with it', async () => {
    expect(await holdingZoe(deletionWithAnInvitationElsewhere({ own: undefined, elsewhere: undefined }))).toEqual({ [membersProjection.name]: [], [permissionHistoryProjection.name]: [] });
  });
});
