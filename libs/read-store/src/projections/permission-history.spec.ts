import { PERMISSION_HISTORY, PERMISSION_HISTORY_STATE, type HistoryEntryDoc, permissionHistoryProjection } from './permission-history';
import { entry } from './permission-history-entries';
import { MemoryModel } from './testing/memory-model';
import { shredded } from './testing/shredding';
import { LogScenario, WS } from './testing/scenario';

const must = <T extends { ok: boolean }>(d: T): T => {
  if (!d.ok) throw new Error(`refused: ${JSON.stringify(d)}`);
  return d;
};

const build = async (s: LogScenario) => new MemoryModel(permissionHistoryProjection).run(s.events);
const entries = (m: MemoryModel) => m.all<HistoryEntryDoc>(PERMISSION_HISTORY).sort((a, b) => a.position - b.position);
const agent = (restrictions = {}) => ({ roles: ['agent'], restrictions, grants: [] });

describe('permission_history projection (rule 17)', () => {
  it('records every access change with before, after, actor, time and event, in log order', async () => {
    const s = new LogScenario();
    const inv = s.invite('bob@acme.test', { roles: ['agent'] });
    s.advance(60).resend(inv).advance(60).accept(inv, 'bob');
    s.advance(60).change('bob', { roles: ['manager'], restrictions: { data_export: true } });
    s.advance(60).change('bob', { roles: ['agent'], restrictions: { contact_visibility: 'self_only' } });
    const gone = s.invite('gone@acme.test');
    s.cancel(gone).revoke('bob', WS, 'admin');
    const m = await build(s);
    const list = entries(m);
    expect(list.map((e) => [e.change, e.userId, e.invitationId, e.email, e.before, e.after])).toEqual([
      ['joined', 'admin', null, null, null, { roles: ['owner'], restrictions: {}, grants: [] }],
      // the organization's admin: an owner's authority in the workspace from its creation on (rule 5)
      ['org_admin_granted', 'admin', null, null, null, null],
      // accepted: the invitation's entries name the user it brought in (a history filtered by user shows them)
      ['invited', 'bob', inv, 'bob@acme.test', null, agent()],
      ['invitation_resent', 'bob', inv, 'bob@acme.test', null, null],
      ['joined', 'bob', inv, null, null, agent()],
      ['roles_changed', 'bob', null, null, agent(), { roles: ['manager'], restrictions: {}, grants: [] }],
      ['restrictions_changed', 'bob', null, null, { roles: ['manager'], restrictions: {}, grants: [] }, { roles: ['manager'], restrictions: { data_export: true }, grants: [] }],
      // each step an access the rules allow: the manager's restriction goes, then the level, then the agent's comes
      ['restrictions_changed', 'bob', null, null, { roles: ['manager'], restrictions: { data_export: true }, grants: [] }, { roles: ['manager'], restrictions: {}, grants: [] }],
      ['roles_changed', 'bob', null, null, { roles: ['manager'], restrictions: {}, grants: [] }, agent()],
      ['restrictions_changed', 'bob', null, null, agent(), agent({ contact_visibility: 'self_only' })],
      ['invited', null, gone, 'gone@acme.test', null, agent()],
      ['invitation_cancelled', null, gone, 'gone@acme.test', agent(), null],
      ['revoked', 'bob', null, null, agent({ contact_visibility: 'self_only' }), null],
    ]);
    expect(list.at(-1)!.details).toEqual({ contacts: { mode: 'reassigned', toUserId: 'admin' } });
    expect(list[3]!.details).toEqual({ linkVersion: 2, expiresAt: '2026-03-03T09:01:00.000Z' });
    const accepted = s.events.find((e) => e.type === 'InvitationAccepted')!;
    expect(list[4]).toMatchObject({
      _id: `${accepted.position}:${WS}`,
      workspaceId: WS,
      organizationId: 'org-1',
      actorId: 'bob',
      at: '2026-03-01T09:02:00.000Z',
      eventId: accepted.id,
      position: Number(accepted.position),
    });
    expect(list[5]).toMatchObject({ actorId: 'admin', at: '2026-03-01T09:03:00.000Z' });
    // the joiner acted (they used the link); who let them in is the invitation's sender (probe 82 F7), no key here
    expect(list[4]!.details).toEqual({ invitedBy: 'admin', invitedWithKey: null });
    // the workspace's creator joined by no invitation: by creating it (probe 98 F8)
    expect(list[0]!.details).toEqual({ reason: 'workspace_created' });
  });

  it('rule 17: records a deletion in each workspace the user was a member of, also one they were revoked from (no access before it there), and erases every email they had from the invitations to it (rule 12)', async () => {
    const s = new LogScenario(['ws-1', 'ws-2', 'ws-3']).member('cy', { roles: ['manager'] }, 'ws-1').member('cy', {}, 'ws-2');
    s.member('cy', {}, 'ws-3').revoke('cy', 'ws-3');
    s.profile('cy', { email: 'cy.new@acme.test' });
    s.invite('cy.new@acme.test', {}, 'ws-3'); // never accepted, but to an address of theirs: erased too
    s.member('di', {}, 'ws-1');
    s.deleteUser('cy');
    const list = entries(await build(s));
    const deleted = list.filter((e) => e.change === 'deleted');
    expect(deleted.map((e) => [e.workspaceId, e.userId, e.before])).toEqual([
      ['ws-1', 'cy', { roles: ['manager'], restrictions: {}, grants: [] }],
      ['ws-2', 'cy', { roles: ['agent'], restrictions: {}, grants: [] }],
      ['ws-3', 'cy', null],
    ]);
    expect(JSON.stringify(list)).not.toMatch(/cy@acme|cy\.new@acme/);
    expect(list.filter((e) => e.change === 'invited').map((e) => e.email)).toEqual([null, null, null, null, 'di@acme.test']);
    // the invitation to their new address, bound to them and cancelled by the deletion, names them once its address is
    // gone (probe 33 F10: two entries no filter found)
    expect(list.filter((e) => e.userId === 'cy').map((e) => e.change)).toEqual(['invited', 'joined', 'invited', 'joined', 'invited', 'joined', 'revoked', 'invited', 'invitation_cancelled', 'deleted', 'deleted', 'deleted']);
    // nothing of the deleted user's revocations is kept (before the deletion: ws-3)
    const revokedRecords = (model: Awaited<ReturnType<typeof build>>) => model.all<{ _id: string; workspaceIds?: string[] }>('permission_history_state').filter((d) => d._id.startsWith('r:'));
    expect(revokedRecords(await build(s))).toEqual([]);
    const beforeDeletion = new LogScenario(['ws-1', 'ws-2', 'ws-3']).member('cy', {}, 'ws-3').revoke('cy', 'ws-3');
    expect(revokedRecords(await build(beforeDeletion)).map((d) => d.workspaceIds)).toEqual([['ws-3']]);
  });

  it('rule 17: a user revoked from a workspace who joined it again gets one deletion entry there, with the access they had', async () => {
    const s = new LogScenario(['ws-1']).member('ed', {}, 'ws-1').revoke('ed', 'ws-1').member('ed', { roles: ['manager'] }, 'ws-1');
    s.deleteUser('ed');
    const deleted = entries(await build(s)).filter((e) => e.change === 'deleted');
    expect(deleted.map((e) => [e.workspaceId, e.before?.roles])).toEqual([['ws-1', ['manager']]]);
  });

  it("rule 17: an invitation's cancel says why (details.reason): a command, a deletion of the user it was bound to, an erasure of its address (probes 80 F3, 85 F3)", async () => {
    const s = new LogScenario(['ws-1', 'ws-2']).member('kim', {}, 'ws-1');
    const byHand = s.invite('hand@acme.test', {}, 'ws-2');
    s.cancel(byHand, 'ws-2');
    const boundToKim = s.invite('kim@acme.test', {}, 'ws-2');
    const typo = s.invite('typo@acme.tset', {}, 'ws-2');
    // a cancel by hand of an invitation whose address is erased later keeps its reason: it was a command
    const laterErased = s.invite('later@acme.test', {}, 'ws-1');
    s.cancel(laterErased, 'ws-1');
    s.advance(60).deleteUser('kim').advance(60).eraseAddress('typo@acme.tset').eraseAddress('later@acme.test');
    const cancels = entries(await build(s)).filter((e) => e.change === 'invitation_cancelled');
    expect(cancels.map((e) => [e.invitationId, e.details])).toEqual([
      [byHand, { reason: 'command' }],
      [laterErased, { reason: 'command' }],
      [boundToKim, { reason: 'deletion' }],
      [typo, { reason: 'address_erased' }],
    ]);
  });

  it('rule 12: a deletion names the user on the entries of the invitations bound to them (rule 8), not on one to an address they had given up, which it erases all the same (probe 86 F1)', async () => {
    const s = new LogScenario(['ws-1', 'ws-2']).member('jane', {}, 'ws-1');
    const bound = s.invite('jane@acme.test', {}, 'ws-2');
    s.profile('jane', { email: 'jane.new@acme.test' });
    // her former address, invited after she gave it up: to whoever holds it now, nobody (rule 6)
    const former = s.invite('jane@acme.test', {}, 'ws-1');
    s.advance(60).deleteUser('jane');
    const list = entries(await build(s));
    const of = (invitationId: string) => list.filter((e) => e.invitationId === invitationId).map((e) => [e.change, e.userId, e.email]);
    expect(of(bound)).toEqual([
      ['invited', 'jane', null],
      ['invitation_cancelled', 'jane', null],
    ]);
    expect(of(former)).toEqual([
      ['invited', null, null],
      ['invitation_cancelled', null, null],
    ]);
  });

  it('rule 12: erases the address of every invitation the deletion names, also when the join was read after the deletion shredded it (a projector behind the log)', async () => {
    const s = new LogScenario().member('zoe', {}, WS);
    s.invite('zoe.other@acme.test'); // someone else's address: kept
    s.deleteUser('zoe');
    // the invitation was read in clear; her join (and everything after) once her keys were forgotten
    const shred = shredded(s.events);
    const read = s.events.map((e, i) => (e.type === 'UserInvited' ? e : shred[i]!));
    expect(read.find((e) => e.type === 'UserJoinedOrganization' && (e.data as { userId: string }).userId === 'zoe')!.data).toMatchObject({ email: null });
    const m = await new MemoryModel(permissionHistoryProjection).run(read);
    const docs = JSON.stringify([...m.all(PERMISSION_HISTORY), ...m.all(PERMISSION_HISTORY_STATE)]);
    expect(docs).not.toContain('zoe@acme.test');
    expect(docs).toContain('zoe.other@acme.test');
  });

  it('rule 5: making a user an org admin, and taking it away, has an entry in every workspace of the organization, those created after it too', async () => {
    const s = new LogScenario(['ws-1', 'ws-2']);
    s.member('bob', { roles: ['agent'] }, 'ws-1');
    s.advance(60).orgAdmin('bob', true);
    s.workspace('ws-3');
    s.advance(60).orgAdmin('bob', false);
    const list = entries(await build(s)).filter((e) => e.change.startsWith('org_admin'));
    // a workspace's creation records the org admins of that moment (probe 33 F9: ws-3's revoke had no grant before it)
    expect(list.map((e) => [e.workspaceId, e.change, e.userId, e.actorId, e.before, e.after, e.details?.reason ?? null])).toEqual([
      ['ws-1', 'org_admin_granted', 'admin', 'admin', null, null, 'workspace_created'],
      ['ws-2', 'org_admin_granted', 'admin', 'admin', null, null, 'workspace_created'],
      ['ws-1', 'org_admin_granted', 'bob', 'admin', null, null, null],
      ['ws-2', 'org_admin_granted', 'bob', 'admin', null, null, null],
      ['ws-3', 'org_admin_granted', 'admin', 'admin', null, null, 'workspace_created'],
      ['ws-3', 'org_admin_granted', 'bob', 'admin', null, null, 'workspace_created'],
      ['ws-1', 'org_admin_revoked', 'bob', 'admin', null, null, null],
      ['ws-2', 'org_admin_revoked', 'bob', 'admin', null, null, null],
      ['ws-3', 'org_admin_revoked', 'bob', 'admin', null, null, null],
    ]);
  });

  it('rule 17: a workspace\'s creation applied again after later events (at-least-once) adds no entry for an org admin named after it (a property run found one)', async () => {
    const s = new LogScenario(['ws-1']);
    s.member('bob', { roles: ['agent'] }, 'ws-1');
    s.advance(60).orgAdmin('bob', true);
    const m = await build(s);
    const before = entries(m);
    // the whole log once more, over what is there
    await m.run(s.events);
    expect(entries(m)).toEqual(before);
    expect(before.filter((e) => e.change === 'org_admin_granted').map((e) => [e.userId, e.details?.reason ?? null])).toEqual([
      ['admin', 'workspace_created'],
      ['bob', null],
    ]);
  });

  it('rule 5: an org admin\'s deletion ends that authority in every workspace: `deleted` where they were a member, `org_admin_revoked` (reason deletion) in the others; a user no longer an admin, or never one, gets none there', async () => {
    const s = new LogScenario(['ws-1', 'ws-2', 'ws-3']);
    s.member('bob', { roles: ['agent'] }, 'ws-1');
    s.member('carl', { roles: ['agent'] }, 'ws-1');
    s.member('dina', { roles: ['agent'] }, 'ws-1');
    s.advance(60).orgAdmin('bob', true).orgAdmin('dina', true).orgAdmin('dina', false);
    s.advance(60).deleteUser('bob').deleteUser('carl').deleteUser('dina');
    const list = entries(await build(s)).filter((e) => e.change === 'deleted' || e.change === 'org_admin_revoked');
    expect(list.map((e) => [e.userId, e.workspaceId, e.change, e.details])).toEqual([
      // dina's own revoke, in every workspace
      ['dina', 'ws-1', 'org_admin_revoked', null],
      ['dina', 'ws-2', 'org_admin_revoked', null],
      ['dina', 'ws-3', 'org_admin_revoked', null],
      ['bob', 'ws-1', 'deleted', null],
      ['bob', 'ws-2', 'org_admin_revoked', { reason: 'deletion' }],
      ['bob', 'ws-3', 'org_admin_revoked', { reason: 'deletion' }],
      ['carl', 'ws-1', 'deleted', null],
      ['dina', 'ws-1', 'deleted', null],
    ]);
  });

  it('rule 5: the organization\'s first admin, deleted by another org admin, gets the same', async () => {
    const s = new LogScenario(['ws-1']);
    s.member('bob', { roles: ['owner'] }, 'ws-1');
    s.orgAdmin('bob', true);
    // a workspace bob creates: the first admin is no member there
    expect(s.log.createWorkspace('org-1', 'ws-bob', 'bob')).toBe(true);
    must(s.log.deleteUser('org-1', 'bob', 'admin'));
    const list = entries(await build(s)).filter((e) => e.userId === 'admin' && (e.change === 'deleted' || e.change === 'org_admin_revoked'));
    expect(list.map((e) => [e.workspaceId, e.change, e.details])).toEqual([
      ['ws-1', 'deleted', null],
      ['ws-bob', 'org_admin_revoked', { reason: 'deletion' }],
    ]);
  });
});

describe('rule 17: which request, which key (probe 69 F2, F10)', () => {
  it("an entry carries its event's correlationId (the request id) and apiKeyId; null where the metadata has none", () => {
    const base = { event: { type: 'GrantsChanged' } as never, eventId: 'e1', stream: `workspace-${WS}`, position: 7n };
    const fields = { workspaceId: WS, organizationId: 'org-1', change: 'grants_changed' as const, before: null, after: null };
    const made = entry({ ...base, metadata: { actorId: 'bob', occurredAt: '2026-03-01T09:00:00.000Z', correlationId: 'req-bob-reporting', apiKeyId: 'k-2' } }, '', fields);
    expect(made).toMatchObject({ actorId: 'bob', correlationId: 'req-bob-reporting', apiKeyId: 'k-2' });
    expect(entry({ ...base, metadata: {} }, '2026-03-01T09:00:00.000Z', fields)).toMatchObject({ correlationId: null, apiKeyId: null });
  });
});
