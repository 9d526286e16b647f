import type { PresenceChanged } from '@rollcall/domain';
import { ProjectionBatch, toProjectedEvent } from '../projector/batch';
import { MEMBERS, MEMBER_USERS, type MemberDoc, membersProjection } from './members';
import { SimulatedTraffic, prng, randomStep } from './testing/simulated-traffic';
import { MemoryModel } from './testing/memory-model';
import { ADMIN, LogScenario, WS } from './testing/scenario';
import { EventLog, LOG_T0 } from './testing/event-log';
import { mailStream } from '@rollcall/domain';

const build = async (s: LogScenario) => new MemoryModel(membersProjection).run(s.events);
const member = (m: MemoryModel, id: string) => m.get<MemberDoc>(MEMBERS, id);

describe('members projection', () => {
  it('lists the workspace creator as an active owner with their profile', async () => {
    const m = await build(new LogScenario());
    expect(member(m, `${WS}:${ADMIN}`)).toMatchObject({
      kind: 'member',
      workspaceId: WS,
      organizationId: 'org-1',
      userId: ADMIN,
      email: 'ada@acme.test',
      displayName: 'Ada Admin',
      status: 'active',
      roles: ['owner'],
      restrictions: {},
      grants: [],
      joinedAt: LOG_T0,
      invitedAt: null,
      lastSeenAt: null,
      presence: 'offline',
      teamIds: [],
      sortName: 'ada admin',
    });
  });

  it('lists a pending invitation with its email, access and link (rule 9)', async () => {
    const s = new LogScenario();
    const inv = s.invite(' Bob@Example.TEST ', { roles: ['agent'], restrictions: { contact_visibility: 'self_only' } });
    const m = await build(s);
    expect(member(m, `${WS}:inv:${inv}`)).toEqual({
      _id: `${WS}:inv:${inv}`,
      addressKey: 'invitation',
      workspaceId: WS,
      organizationId: 'org-1',
      kind: 'invitation',
      userId: null,
      invitationId: inv,
      // an address no org user held: bound to nobody (rule 8)
      inviteeUserId: null,
      email: 'bob@example.test',
      displayName: null,
      alias: null,
      avatarUrl: null,
      status: 'pending',
      roles: ['agent'],
      restrictions: { contact_visibility: 'self_only' },
      grants: [],
      invitedAt: LOG_T0,
      joinedAt: null,
      revokedAt: null,
      expiresAt: '2026-03-03T09:00:00.000Z',
      linkVersion: 1,
      mailedAt: null,
      mailRefusedAt: null,
      // who sent it (probe 82 F7)
      invitedBy: ADMIN,
      lastSeenAt: null,
      presence: 'offline',
      heldOfflineSince: null,
      heldOfflineBy: null,
      teamIds: [],
      sortName: 'bob@example.test',
      searchText: 'bob@example.test',
      seenOrder: '0',
    });
  });

  it('moves the link version and expiry on resend, and drops a cancelled invitation', async () => {
    const s = new LogScenario();
    const kept = s.invite('kept@acme.test');
    const cancelled = s.invite('gone@acme.test');
    s.advance(3600).resend(kept).cancel(cancelled);
    const m = await build(s);
    expect(member(m, `${WS}:inv:${kept}`)).toMatchObject({ linkVersion: 2, expiresAt: '2026-03-03T10:00:00.000Z' });
    expect(member(m, `${WS}:inv:${cancelled}`)).toBeUndefined();
  });

  it('probe 46 F4: an invitation says when its current link was mailed; a resend waits for its own record; an older link\'s record changes nothing', async () => {
    const s = new LogScenario();
    const inv = s.invite('mailed@acme.test');
    // the ledger's record of a hand-off (apps/api/src/mail/mail-ledger.ts), on the organization's mail stream
    const mailed = (linkVersion: number, mailedAt: string) => {
      const last = s.events.at(-1)!;
      s.events.push({
        id: `mailed-${linkVersion}-${mailedAt}`,
        stream: mailStream('org-1'),
        type: 'InvitationMailed',
        revision: 0n,
        position: last.position + 1n,
        created: new Date(mailedAt),
        metadata: { occurredAt: mailedAt },
        data: { organizationId: 'org-1', workspaceId: WS, invitationId: inv, linkVersion, mailedAt },
      });
    };
    const id = `${WS}:inv:${inv}`;
    expect(member(await build(s), id)?.mailedAt).toBeNull();
    mailed(1, '2026-03-01T09:00:01.000Z');
    expect(member(await build(s), id)?.mailedAt).toBe('2026-03-01T09:00:01.000Z');
    s.advance(3600).resend(inv);
    expect(member(await build(s), id)).toMatchObject({ linkVersion: 2, mailedAt: null });
    // the dispatcher's late record of the first link
    mailed(1, '2026-03-01T10:00:05.000Z');
    expect(member(await build(s), id)?.mailedAt).toBeNull();
    mailed(2, '2026-03-01T10:00:06.000Z');
    expect(member(await build(s), id)?.mailedAt).toBe('2026-03-01T10:00:06.000Z');
    // a resend whose mail the relay refused for good: the console sees the refusal (not tried again)
    s.advance(60).resend(inv);
    const last = s.events.at(-1)!;
    s.events.push({
      id: 'refused-3',
      stream: mailStream('org-1'),
      type: 'InvitationMailRefused',
      revision: 0n,
      position: last.position + 1n,
      created: new Date('2026-03-01T10:01:01.000Z'),
      metadata: { occurredAt: '2026-03-01T10:01:01.000Z' },
      data: { organizationId: 'org-1', workspaceId: WS, invitationId: inv, linkVersion: 3, refusedAt: '2026-03-01T10:01:01.000Z' },
    });
    expect(member(await build(s), id)).toMatchObject({ linkVersion: 3, mailedAt: null, mailRefusedAt: '2026-03-01T10:01:01.000Z' });
  });

  it('replaces the invitation with an active member carrying the org profile on accept (rule 8)', async () => {
    const s = new LogScenario();
    const inv = s.invite('carol@acme.test', { roles: ['manager'], restrictions: { data_export: true } });
    s.advance(600).accept(inv, 'carol', WS, 'Carol C');
    const m = await build(s);
    expect(member(m, `${WS}:inv:${inv}`)).toBeUndefined();
    expect(member(m, `${WS}:carol`)).toMatchObject({
      kind: 'member',
      userId: 'carol',
      invitationId: inv,
      email: 'carol@acme.test',
      displayName: 'Carol C',
      status: 'active',
      roles: ['manager'],
      restrictions: { data_export: true },
      invitedAt: LOG_T0,
      joinedAt: '2026-03-01T09:10:00.000Z',
      expiresAt: null,
      linkVersion: null,
    });
  });

  it('follows access changes, and keeps a revoked member as revoked, out of its teams (rules 10, 11)', async () => {
    const s = new LogScenario().member('dan', { roles: ['agent'] }).member('eve', { roles: ['agent'] });
    s.change('dan', { roles: ['manager'], restrictions: { integrations: true } });
    s.change('eve', { roles: ['agent'], restrictions: { workflows: true } });
    s.advance(60).revoke('eve', WS, 'dan');
    const m = await build(s);
    expect(member(m, `${WS}:dan`)).toMatchObject({ roles: ['manager'], restrictions: { integrations: true }, status: 'active' });
    expect(member(m, `${WS}:eve`)).toMatchObject({
      status: 'revoked',
      restrictions: { workflows: true },
      revokedAt: '2026-03-01T09:01:00.000Z',
      teamIds: [],
    });
  });

  it('makes a revoked member active again when invited and accepted again', async () => {
    const s = new LogScenario().member('fay').revoke('fay');
    s.accept(s.invite('fay@acme.test', { roles: ['manager'] }), 'someone-new');
    const m = await build(s);
    expect(member(m, `${WS}:fay`)).toMatchObject({ status: 'active', roles: ['manager'], revokedAt: null });
    expect(member(m, `${WS}:someone-new`)).toBeUndefined();
  });

  it('rule 13: a member revoked and invited again keeps when they were last seen, as the revoked row showed it (probe 34 F3)', async () => {
    const s = new LogScenario().member('gil');
    const heartbeat = s.log.presence({ type: 'Heartbeat', workspaceId: WS, actorId: 'gil', status: 'online', now: s.log.now });
    expect(heartbeat.ok).toBe(true);
    const seen = s.log.now;
    s.advance(60).revoke('gil');
    s.log.presence({ type: 'MemberLeft', workspaceId: WS, userId: 'gil', reason: 'revoked', now: s.log.now });
    expect(member(await build(s), `${WS}:gil`)).toMatchObject({ status: 'revoked', presence: 'offline', lastSeenAt: seen });
    s.advance(60).accept(s.invite('gil@acme.test'), 'gil');
    expect(member(await build(s), `${WS}:gil`)).toMatchObject({ status: 'active', presence: 'offline', lastSeenAt: seen });
    // someone never seen still reads null ("never")
    s.member('hal');
    expect(member(await build(s), `${WS}:hal`)).toMatchObject({ presence: 'offline', lastSeenAt: null });
  });

  it('rule 13 (probe 93 F4): a set-offline recorded without `holds` (by a version before the holds) reads as not held', async () => {
    const s = new LogScenario().member('ivy');
    expect(s.log.presence({ type: 'Heartbeat', workspaceId: WS, actorId: 'ivy', status: 'online', now: s.log.now }).ok).toBe(true);
    s.advance(60);
    const earlier = (event: PresenceChanged): PresenceChanged => {
      const { holds: _holds, ...data } = event.data;
      return { ...event, data };
    };
    expect(s.log.presence({ type: 'SetOffline', workspaceId: WS, actorId: ADMIN, userId: 'ivy', now: s.log.now, lastSeenAt: null }, earlier).ok).toBe(true);
    expect(member(await build(s), `${WS}:ivy`)).toMatchObject({ presence: 'offline', heldOfflineSince: null, heldOfflineBy: null });
  });

  it('rule 13 (docs/adr/0032): a member set offline by a manager reads held since then, until they resume or their membership ends', async () => {
    const s = new LogScenario().member('ivy');
    const beat = (resume?: boolean) => s.log.presence({ type: 'Heartbeat', workspaceId: WS, actorId: 'ivy', status: 'online', now: s.log.now, ...(resume && { resume }) });
    const setOffline = () => s.log.presence({ type: 'SetOffline', workspaceId: WS, actorId: ADMIN, userId: 'ivy', now: s.log.now, lastSeenAt: null });
    expect(beat().ok).toBe(true);
    expect(member(await build(s), `${WS}:ivy`)).toMatchObject({ presence: 'online', heldOfflineSince: null });
    s.advance(60);
    const heldAt = s.log.now;
    expect(setOffline().ok).toBe(true);
    expect(member(await build(s), `${WS}:ivy`)).toMatchObject({ presence: 'offline', heldOfflineSince: heldAt, heldOfflineBy: ADMIN });
    // set offline again while held: nothing appended, the hold keeps its first time
    s.advance(60);
    setOffline();
    expect(member(await build(s), `${WS}:ivy`)).toMatchObject({ heldOfflineSince: heldAt });
    expect(beat().ok).toBe(false);
    expect(beat(true).ok).toBe(true);
    expect(member(await build(s), `${WS}:ivy`)).toMatchObject({ presence: 'online', heldOfflineSince: null, heldOfflineBy: null });
    // held, then revoked and invited again: the new membership is not held (MembershipEnded lets go of the hold)
    s.advance(60);
    setOffline();
    expect(member(await build(s), `${WS}:ivy`)).toMatchObject({ heldOfflineSince: s.log.now });
    s.advance(60).revoke('ivy');
    expect(member(await build(s), `${WS}:ivy`)).toMatchObject({ status: 'revoked', heldOfflineSince: null });
    s.advance(60).accept(s.invite('ivy@acme.test'), 'ivy');
    expect(member(await build(s), `${WS}:ivy`)).toMatchObject({ status: 'active', presence: 'offline', heldOfflineSince: null });
  });

  it('shows a profile change in every workspace of the user (rule 10)', async () => {
    const s = new LogScenario(['ws-1', 'ws-2']).member('gus', {}, 'ws-1').member('gus', {}, 'ws-2');
    s.profile('gus', { displayName: 'Gustav', alias: 'G', avatarUrl: 'https://img.test/g.png', email: 'gustav@acme.test' });
    const m = await build(s);
    for (const ws of ['ws-1', 'ws-2'])
      expect(member(m, `${ws}:gus`)).toMatchObject({
        email: 'gustav@acme.test',
        displayName: 'Gustav',
        alias: 'G',
        avatarUrl: 'https://img.test/g.png',
        sortName: 'gustav',
        // what `q` matches: address, name and alias, folded, apart
        searchText: 'gustav@acme.test\u0001gustav\u0001g',
      });
  });

  it('removes a deleted user from every workspace, revoked ones included, keeping no personal data (rule 12)', async () => {
    const s = new LogScenario(['ws-1', 'ws-2', 'ws-3']).member('hal', {}, 'ws-1').member('hal', {}, 'ws-2').member('ida', {}, 'ws-1');
    s.revoke('hal', 'ws-2').deleteUser('hal');
    const m = await build(s);
    expect(m.all<MemberDoc>(MEMBERS).filter((d) => d.userId === 'hal')).toEqual([]);
    expect(m.get(MEMBER_USERS, 'org-1:hal')).toBeUndefined();
    expect(JSON.stringify(m.all(MEMBERS))).not.toContain('hal@acme.test');
    expect(member(m, 'ws-1:ida')).toMatchObject({ status: 'active' });
  });

  it('rule 12: the pending invitations to any email the deleted user had are cancelled with the deletion, and their addresses are gone', async () => {
    const s = new LogScenario(['ws-1', 'ws-2']).member('jo', {}, 'ws-1').profile('jo', { email: 'jo.new@acme.test' });
    // (in this order: one to their new address while one to the old address is pending would be ALREADY_INVITED, rule 6)
    const toNew = s.invite('jo.new@acme.test', {}, 'ws-2');
    const toOld = s.invite('jo@acme.test', {}, 'ws-2');
    const other = s.invite('kay@acme.test', {}, 'ws-2');
    s.deleteUser('jo');
    const later = s.invite('jo@acme.test', {}, 'ws-1');
    const m = await build(s);
    for (const inv of [toOld, toNew]) expect(member(m, `ws-2:inv:${inv}`)).toBeUndefined();
    expect(JSON.stringify(m.all(MEMBERS))).not.toContain('jo.new@acme.test');
    expect(member(m, `ws-2:inv:${other}`)).toMatchObject({ email: 'kay@acme.test' });
    expect(member(m, `ws-1:inv:${later}`)).toMatchObject({ email: 'jo@acme.test' });
  });

  it('ignores events it does not project (the organization and its API key)', async () => {
    const s = new LogScenario([]);
    const m = await build(s);
    expect(s.events.map((e) => e.type)).toEqual(['OrganizationCreated', 'ApiKeyIssued', 'UserJoinedOrganization']);
    expect(m.all(MEMBERS)).toEqual([]);
  });

  describe("a join's profile copy", () => {
    it('looks for no member documents when the user is new to the organization (none can exist: the search is skipped)', async () => {
      const searched: string[] = [];
      const batch = new ProjectionBatch(membersProjection, {
        get: async () => undefined,
        findBy: async (collection, field, value) => {
          searched.push(`${collection}.${field}=${value}`);
          return [];
        },
      });
      const s = new LogScenario();
      s.accept(s.invite('carol@acme.test'), 'carol', WS, 'Carol C');
      for (const recorded of s.events) {
        const e = toProjectedEvent(recorded)!;
        if (membersProjection.eventTypes.includes(e.event.type)) await batch.apply(e);
      }
      expect(s.events.filter((e) => e.type === 'UserJoinedOrganization')).toHaveLength(2);
      expect(searched).toEqual([]);
      expect(batch.writes().find((w) => w.kind === 'upsert' && w.doc._id === `${WS}:carol`)).toMatchObject({ doc: { displayName: 'Carol C' } });
    });

    it('still reaches the member documents when the lookup exists already (an acceptance projected before the join)', async () => {
      const s = new LogScenario();
      s.accept(s.invite('carol@acme.test'), 'carol', WS, 'Carol C');
      // the acceptance's append, as a log written otherwise could hold it: InvitationAccepted first, then the join
      const [join, accepted] = s.events.slice(-2);
      expect([join!.type, accepted!.type]).toEqual(['UserJoinedOrganization', 'InvitationAccepted']);
      const events = [...s.events.slice(0, -2), { ...accepted!, position: join!.position }, { ...join!, position: accepted!.position }];
      const m = await new MemoryModel(membersProjection).run(events);
      expect(member(m, `${WS}:carol`)).toMatchObject({ displayName: 'Carol C', sortName: 'carol c', email: 'carol@acme.test' });
    });

    // what the skip rests on, over random valid logs: after every event, each member document's user has the lookup
    it('never holds a member document of a user without their lookup in its organization (random activity)', async () => {
      for (const seed of [1, 2, 3]) {
        const activity = new SimulatedTraffic(new EventLog(), { emailsPerOrg: 6 });
        for (const org of ['org-a', 'org-b']) activity.addOrganization(org);
        activity.addWorkspace('org-a', 'ws-a1', 'levels');
        activity.addWorkspace('org-a', 'ws-a2', 'studio');
        activity.addWorkspace('org-b', 'ws-b1', 'permissions');
        const next = prng(seed);
        for (let i = 0; i < 800; i++) activity.step(randomStep(next, activity.workspaceCount));
        const events = activity.log.events;
        // something to check: users joining by invitation, deleted, invited and joining again under new ids
        expect(events.filter((e) => e.type === 'UserJoinedOrganization').length).toBeGreaterThan(10);
        expect(events.filter((e) => e.type === 'UserDeleted').length).toBeGreaterThan(0);
        const batch = new ProjectionBatch(membersProjection, { get: async () => undefined, findBy: async () => [] });
        for (const recorded of events) {
          const e = toProjectedEvent(recorded);
          if (!e || !membersProjection.eventTypes.includes(e.event.type)) continue;
          await batch.apply(e);
          const docs = batch.writes().flatMap((w) => (w.kind === 'upsert' ? [{ collection: w.collection, doc: w.doc }] : []));
          const users = new Set(docs.filter((d) => d.collection === MEMBER_USERS).map((d) => d.doc._id));
          const orphans = docs
            .filter((d) => d.collection === MEMBERS && (d.doc as MemberDoc).kind === 'member')
            .map((d) => d.doc as MemberDoc)
            .filter((doc) => !users.has(`${doc.organizationId}:${doc.userId}`));
          expect({ seed, at: e.position, type: e.event.type, orphans: orphans.map((o) => o._id) }).toEqual({ seed, at: e.position, type: e.event.type, orphans: [] });
        }
      }
    });
  });
});
