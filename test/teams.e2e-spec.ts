import { Controller, Module } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import { SYSTEM_KEY, type TestApp, expectProblem } from './support/app';
import { type TcpTestApp, startAppOverTcp } from './support/tcp-app';

/** A stand-in for a chat router: a real Nest TCP microservice recording the team integration events it receives. */
const received: { type: string; data: any }[] = [];
@Controller()
class TeamListener {
  @EventPattern('rollcall.events.TeamMemberAdded')
  added(@Payload() e: { type: string; data: unknown }) {
    received.push(e);
  }
  @EventPattern('rollcall.events.TeamMemberRemoved')
  removed(@Payload() e: { type: string; data: unknown }) {
    received.push(e);
  }
  @EventPattern('rollcall.events.WorkspacesNetworked')
  networked(@Payload() e: { type: string; data: unknown }) {
    received.push(e);
  }
}
@Module({ controllers: [TeamListener] })
class ListenerModule {}

let app: TestApp;
let send: TcpTestApp['send'];
let running: TcpTestApp;
beforeAll(async () => {
  running = await startAppOverTcp(ListenerModule);
  ({ app, send } = running);
});
afterAll(() => running.stop());

describe('teams and networked workspaces over HTTP, across two organizations (rules 14-16)', () => {
  it('the whole story: teams, members, sharing, choosing, the lookup, unsharing, unlinking, revoke and deletion', async () => {
    const { api } = app;
    const a = await api.organization({ accessModel: 'levels' });
    const b = await api.organization({ accessModel: 'studio' });
    const asA = { key: a.key, actor: a.admin };
    const asB = { key: b.key, actor: b.admin };
    const A = `/v1/workspaces/${a.workspaceId}`;
    const B = `/v1/workspaces/${b.workspaceId}`;
    const inA = { ...asA, workspaceId: a.workspaceId };

    const manager = await api.member(inA, 'manager@a.test', { roles: ['manager'] });
    const restricted = await api.member(inA, 'restricted@a.test', { roles: ['manager'], restrictions: { workspace_settings: true } });
    const agent = await api.member(inA, 'agent@a.test', { roles: ['agent'] });
    const leaver = await api.member(inA, 'leaver@a.test', { roles: ['agent'] });
    const bea = await api.member({ ...asB, workspaceId: b.workspaceId }, 'bea@b.test', { roles: ['operator'] });
    const profile = await api.request('PATCH', `/v1/organizations/${b.organizationId}/users/${bea}`, { ...asB, body: { displayName: 'Bea Partner', alias: 'bp', avatarUrl: 'https://img.b.test/bea.png' } });
    expect(profile.status).toBe(200);

    // rule 14: authority (settings.teams: a manager restricted by workspace_settings cannot; an agent cannot)
    expectProblem(await api.request('POST', `${A}/teams`, { key: a.key, actor: agent, body: { name: 'Nope' } }), 403, 'INSUFFICIENT_AUTHORITY');
    expectProblem(await api.request('POST', `${A}/teams`, { key: a.key, actor: restricted, body: { name: 'Nope' } }), 403, 'INSUFFICIENT_AUTHORITY');
    const night = await api.request('POST', `${A}/teams`, { key: a.key, actor: manager, body: { name: '  Night shift  ' } });
    expect(night.status).toBe(201);
    expect(night.body).toEqual({ teamId: expect.any(String), name: 'Night shift', changed: true, position: expect.stringMatching(/^\d+$/) });
    const nightId = night.body.teamId as string;
    expectProblem(await api.request('POST', `${A}/teams`, { ...asA, body: { name: 'NIGHT SHIFT' } }), 409, 'TEAM_NAME_TAKEN');
    expectProblem(await api.request('POST', `${A}/teams`, { ...asA, body: { name: '   ' } }), 400, 'VALIDATION_FAILED');
    expectProblem(await api.request('POST', `${A}/teams`, { ...asA, body: { name: 'x'.repeat(81) } }), 400, 'VALIDATION_FAILED');
    // past the DTO's bound too, the limit named is the rule's (probe 36b: "at most 1000 characters")
    for (const length of [81, 1_001]) {
      const long = await api.request('POST', `${A}/teams`, { ...asA, body: { name: 'x'.repeat(length) } });
      expect({ length, errors: long.body.errors }).toEqual({ length, errors: [{ field: 'name', message: expect.stringMatching(/at most 80 characters/) }] });
    }
    const nameless = await api.request('POST', `${A}/teams`, { ...asA, body: {} });
    expectProblem(nameless, 400, 'VALIDATION_FAILED');
    expect(nameless.body.errors).toEqual([{ field: 'name', message: 'is required' }]);

    // members: only active ones, in several teams; PUT twice changes nothing
    const day = (await api.request('POST', `${A}/teams`, { ...asA, body: { name: 'Day' } })).body.teamId as string;
    const added = await api.request('PUT', `${A}/teams/${nightId}/members/${agent}`, asA);
    expect(added.body).toMatchObject({ teamId: nightId, userId: agent, changed: true });
    expect((await api.request('PUT', `${A}/teams/${nightId}/members/${agent}`, asA)).body.changed).toBe(false);
    for (const [team, user] of [[day, agent], [nightId, leaver], [nightId, manager]]) expect((await api.request('PUT', `${A}/teams/${team}/members/${user}`, asA)).status).toBe(200);
    expectProblem(await api.request('PUT', `${A}/teams/${nightId}/members/nobody`, asA), 404, 'NOT_A_MEMBER');
    expectProblem(await api.request('PUT', `${A}/teams/no-such-team/members/${agent}`, asA), 404, 'TEAM_NOT_FOUND');
    const removed = await api.request('DELETE', `${A}/teams/${nightId}/members/${manager}`, asA);
    expect(removed.body).toMatchObject({ teamId: nightId, userId: manager, changed: true });
    const beforeRevoke = new Date().toISOString();
    await new Promise((r) => setTimeout(r, 20));

    // rule 11: revoking takes the member out of every team; they cannot be added back while revoked
    const revoked = await api.request('DELETE', `${A}/members/${leaver}`, { ...asA, body: {} });
    expect(revoked.status).toBe(200);
    expectProblem(await api.request('PUT', `${A}/teams/${nightId}/members/${leaver}`, asA), 409, 'MEMBER_NOT_ACTIVE');

    // rule 15: the list and the lookup (every member may read them, an agent too)
    const list = await api.request('GET', `${A}/teams`, { key: a.key, actor: agent, headers: { 'x-min-position': revoked.body.position } });
    expect(list.status).toBe(200);
    expect(list.body).toEqual({
      items: [
        { teamId: day, name: 'Day', memberCount: 1, shared: false, sharedWith: [] },
        { teamId: nightId, name: 'Night shift', memberCount: 1, shared: false, sharedWith: [] },
      ],
      quota: { used: 2, limit: 1000 },
    });
    const lookup = await api.request('GET', `${A}/teams/${nightId}/invitees`, { key: a.key, actor: agent });
    expect(lookup.body).toEqual({
      teamId: nightId,
      name: 'Night shift',
      items: [{ userId: agent, displayName: 'agent', alias: null, avatarUrl: null, presence: 'offline', lastSeenAt: null }],
    });
    // in pages (probe 42 F5): `limit`, and the page after with `cursor`; a bad page is a 400 naming the field
    expect((await api.request('GET', `${A}/teams/${nightId}/invitees?limit=1`, { key: a.key, actor: agent })).body).toEqual(lookup.body);
    for (const [query, field] of [['limit=0', 'limit'], ['limit=1001', 'limit'], ['cursor=abc', 'limit'], ['limit=5&cursor=abc', 'cursor']]) {
      const refused = await api.request('GET', `${A}/teams/${nightId}/invitees?${query}`, asA);
      expectProblem(refused, 400, 'VALIDATION_FAILED');
      expect(refused.body.errors.map((e: { field: string }) => e.field)).toContain(field);
    }
    const filtered = await api.request('GET', `${A}/members?team=${day}`, asA);
    expect(filtered.body.items.map((m: { userId: string }) => m.userId)).toEqual([agent]);
    expect(filtered.body.items[0].teamIds.sort()).toEqual([day, nightId].sort());

    // rule 16: only the system key links workspaces (of different organizations here)
    expectProblem(await api.request('POST', `${A}/network`, { ...asA, body: { partnerWorkspaceId: b.workspaceId } }), 403, 'INSUFFICIENT_AUTHORITY');
    expectProblem(await api.request('POST', `${A}/network`, { key: SYSTEM_KEY, body: { partnerWorkspaceId: 'no-such-workspace' } }), 404, 'WORKSPACE_NOT_FOUND');
    const linked = await api.request('POST', `${A}/network`, { key: SYSTEM_KEY, body: { partnerWorkspaceId: b.workspaceId } });
    expect(linked.status).toBe(201);
    expect(linked.body).toMatchObject({ workspaceId: a.workspaceId, partnerWorkspaceId: b.workspaceId, networked: true });
    expectProblem(await api.request('POST', `${B}/network`, { key: SYSTEM_KEY, body: { partnerWorkspaceId: a.workspaceId } }), 409, 'ALREADY_NETWORKED');

    // B's teams: one shared, one not. A sees neither until it chooses the shared one.
    const experts = (await api.request('POST', `${B}/teams`, { ...asB, body: { name: 'Experts' } })).body.teamId as string;
    const secret = (await api.request('POST', `${B}/teams`, { ...asB, body: { name: 'Secret' } })).body.teamId as string;
    await api.request('PUT', `${B}/teams/${experts}/members/${bea}`, asB);
    await api.request('PUT', `${B}/teams/${secret}/members/${bea}`, asB);
    const shared = await api.request('PUT', `${B}/teams/${experts}/sharing`, { ...asB, body: { shared: true } });
    expect(shared.body).toMatchObject({ teamId: experts, shared: true, changed: true, partnerWorkspaceIds: [a.workspaceId] });
    expectProblem(await api.request('PUT', `${B}/teams/${experts}/sharing`, { key: b.key, actor: bea, body: { shared: false } }), 403, 'INSUFFICIENT_AUTHORITY');
    const waitB = { 'x-min-position': shared.body.position };
    expect((await api.request('GET', `${A}/teams`, { ...asA, headers: waitB })).body.items.map((t: { name: string }) => t.name)).toEqual(['Day', 'Night shift']);
    // still 404 (not chosen), with a sentence that says whose it is and what to do (probe 120 F2: "does not exist in this workspace")
    const notChosen = await api.request('GET', `${A}/teams/${experts}/invitees`, asA);
    expectProblem(notChosen, 404, 'TEAM_NOT_FOUND');
    expect(notChosen.body.detail).toBe(`Team ${experts} is one workspace ${b.workspaceId} ("Support"), a network partner, shares with this workspace, not chosen here: choose it first (PUT /v1/workspaces/{ws}/partner-teams/${experts}/visibility with {"visible": true}).`);
    const offered = await api.request('GET', `${A}/partner-teams`, { ...asA, headers: waitB });
    expect(offered.body.items).toEqual([{ teamId: experts, name: 'Experts', memberCount: 1, visible: false, shared: true, partner: { workspaceId: b.workspaceId, workspaceName: 'Support' } }]);
    expectProblem(await api.request('PUT', `${A}/partner-teams/${secret}/visibility`, { ...asA, body: { visible: true } }), 404, 'TEAM_NOT_FOUND');
    expectProblem(await api.request('PUT', `${A}/partner-teams/${experts}/visibility`, { key: a.key, actor: agent, body: { visible: true } }), 403, 'INSUFFICIENT_AUTHORITY');
    const chosen = await api.request('PUT', `${A}/partner-teams/${experts}/visibility`, { ...asA, body: { visible: true } });
    expect(chosen.body).toMatchObject({ teamId: experts, visible: true, changed: true });

    // A now sees Experts, marked as a partner team, and its members: never their email, roles or anything of org B
    const seen = await api.request('GET', `${A}/teams`, { ...asA, headers: { 'x-min-position': chosen.body.position } });
    expect(seen.body.items[2]).toEqual({ teamId: experts, name: 'Experts', memberCount: 1, shared: true, partner: { workspaceId: b.workspaceId, workspaceName: 'Support' } });
    // in pages (probe 59: 27,000 teams in one answer held the event loop ~1.5 s): own teams `limit` at a time, the
    // partner teams on the last page; over TCP too
    const firstPage = await api.request('GET', `${A}/teams?limit=1`, asA);
    expect([firstPage.body.items.map((t: { name: string }) => t.name), typeof firstPage.body.nextCursor]).toEqual([['Day'], 'string']);
    const lastPage = await api.request('GET', `${A}/teams?limit=1&cursor=${encodeURIComponent(firstPage.body.nextCursor)}`, asA);
    expect([lastPage.body.items.map((t: { name: string }) => t.name), lastPage.body.nextCursor]).toEqual([['Night shift', 'Experts'], undefined]);
    expectProblem(await api.request('GET', `${A}/teams?limit=501`, asA), 400, 'VALIDATION_FAILED');
    expectProblem(await api.request('GET', `${B}/teams?limit=1&cursor=${encodeURIComponent(firstPage.body.nextCursor)}`, asB), 400, 'VALIDATION_FAILED');
    const partnerLookup = await api.request('GET', `${A}/teams/${experts}/invitees`, { key: a.key, actor: agent });
    expect(partnerLookup.body).toEqual({
      teamId: experts,
      name: 'Experts',
      partner: { workspaceId: b.workspaceId, workspaceName: 'Support' },
      items: [{ userId: bea, displayName: 'Bea Partner', alias: 'bp', avatarUrl: 'https://img.b.test/bea.png', presence: 'offline', lastSeenAt: null }],
    });
    const leak = JSON.stringify([seen.body, partnerLookup.body, offered.body]);
    for (const secretBit of ['bea@b.test', 'operator', 'roles', 'email', b.organizationId, 'Secret', secret]) expect(leak).not.toContain(secretBit);
    // A may see B's team, not manage it: said so (probe 120 F2)
    for (const refused of [
      await api.request('PATCH', `${A}/teams/${experts}`, { ...asA, body: { name: 'Ours now' } }),
      await api.request('PUT', `${A}/teams/${experts}/members/${agent}`, asA),
      await api.request('PUT', `${A}/teams/${experts}/sharing`, { ...asA, body: { shared: false } }),
    ]) {
      expectProblem(refused, 404, 'TEAM_NOT_FOUND');
      expect(refused.body.detail).toMatch(new RegExp(`^Team ${experts} is workspace ${b.workspaceId} \\("Support"\\)'s, a network partner's: only that workspace manages it`));
    }
    // B's unshared team and B's user list stay closed to A (the plain sentence: A is told nothing of it)
    const closed = await api.request('GET', `${A}/teams/${secret}/invitees`, asA);
    expectProblem(closed, 404, 'TEAM_NOT_FOUND');
    expect(closed.body.detail).toBe(`Team ${secret} does not exist in this workspace.`);
    expect((await api.request('PATCH', `${A}/teams/${secret}`, { ...asA, body: { name: 'Ours now' } })).body.detail).toBe(`Team ${secret} does not exist in this workspace.`);
    expectProblem(await api.request('GET', `${B}/teams`, asA), 404, 'WORKSPACE_NOT_FOUND');
    expectProblem(await api.request('GET', `${B}/teams/${experts}/invitees`, asA), 404, 'WORKSPACE_NOT_FOUND');

    // unsharing hides it at once (no X-Min-Position needed); sharing again shows it again
    await api.request('PUT', `${B}/teams/${experts}/sharing`, { ...asB, body: { shared: false } });
    const unshared = await api.request('GET', `${A}/teams/${experts}/invitees`, asA);
    expectProblem(unshared, 404, 'TEAM_NOT_FOUND');
    expect(unshared.body.detail).toBe(`Team ${experts}, chosen here, is no longer shared with this workspace by workspace ${b.workspaceId} ("Support"): its members are not shown until it is shared again.`);
    expect((await api.request('GET', `${A}/teams`, asA)).body.items.map((t: { name: string }) => t.name)).toEqual(['Day', 'Night shift']);
    // rule 16: the choice it keeps is listed, not shared, so that it can be seen and withdrawn (probe 30: it was not
    // listed at all); B's team that A never chose stays out
    expect((await api.request('GET', `${A}/partner-teams`, asA)).body.items).toEqual([
      { teamId: experts, name: 'Experts', memberCount: 1, visible: true, shared: false, partner: { workspaceId: b.workspaceId, workspaceName: 'Support' } },
    ]);
    // and as A last saw it: B's changes to the team once it no longer shares it are not shared (probe 52 F1: its live
    // name and size were listed to A's every member)
    await api.request('PATCH', `${B}/teams/${experts}`, { ...asB, body: { name: 'Acquisition review' } });
    const grown = await api.request('PUT', `${B}/teams/${experts}/members/${b.admin}`, asB);
    expect((await api.request('GET', `${A}/partner-teams`, { key: a.key, actor: agent, headers: { 'x-min-position': grown.body.position } })).body.items).toEqual([
      { teamId: experts, name: 'Experts', memberCount: 1, visible: true, shared: false, partner: { workspaceId: b.workspaceId, workspaceName: 'Support' } },
    ]);
    await api.request('DELETE', `${B}/teams/${experts}/members/${b.admin}`, asB);
    await api.request('PATCH', `${B}/teams/${experts}`, { ...asB, body: { name: 'Experts' } });
    await api.request('PUT', `${B}/teams/${experts}/sharing`, { ...asB, body: { shared: true } });
    expect((await api.request('GET', `${A}/teams/${experts}/invitees`, asA)).status).toBe(200);

    // unlinking hides it at once, on both sides, and forgets A's choice
    expectProblem(await api.request('DELETE', `${A}/network/${b.workspaceId}`, asA), 403, 'INSUFFICIENT_AUTHORITY');
    const unlinked = await api.request('DELETE', `${B}/network/${a.workspaceId}`, { key: SYSTEM_KEY });
    expect(unlinked.body).toMatchObject({ workspaceId: b.workspaceId, partnerWorkspaceId: a.workspaceId, networked: false });
    expectProblem(await api.request('GET', `${A}/teams/${experts}/invitees`, asA), 404, 'TEAM_NOT_FOUND');
    expect((await api.request('GET', `${A}/partner-teams`, asA)).body.items).toEqual([]);
    // hiding the choice the unlink forgot changes nothing (probe 91 F5: 404), as hiding any id does
    for (const teamId of [experts, '1d5e8e6a-7f0a-5b3c-9d5e-000000000000'])
      expect((await api.request('PUT', `${A}/partner-teams/${teamId}/visibility`, { ...asA, body: { visible: false } })).body).toMatchObject({ teamId, changed: false, visible: false });
    expectProblem(await api.request('DELETE', `${B}/network/${a.workspaceId}`, { key: SYSTEM_KEY }), 404, 'NOT_NETWORKED');

    // rule 12: deleting a user takes them out of every team; history records team changes with the reason
    const deleted = await api.request('DELETE', `/v1/organizations/${a.organizationId}/users/${agent}`, asA);
    expect(deleted.status).toBe(200);
    const wait = { 'x-min-position': deleted.body.position };
    expect((await api.request('GET', `${A}/teams`, { ...asA, headers: wait })).body.items.map((t: { memberCount: number }) => t.memberCount)).toEqual([0, 0]);
    const history = await api.request('GET', `${A}/history?limit=500`, { ...asA, headers: wait });
    const teamEntries = history.body.items
      .filter((e: { change: string }) => e.change.endsWith('_team'))
      .map((e: { change: string; userId: string; actorId: string; details: { teamName: string; reason: string } }) => [e.change, e.userId, e.details.teamName, e.details.reason]);
    expect(teamEntries).toEqual([
      ['added_to_team', agent, 'Night shift', 'command'],
      ['added_to_team', agent, 'Day', 'command'],
      ['added_to_team', leaver, 'Night shift', 'command'],
      ['added_to_team', manager, 'Night shift', 'command'],
      ['removed_from_team', manager, 'Night shift', 'command'],
      ['removed_from_team', leaver, 'Night shift', 'revoke'],
      ['removed_from_team', agent, 'Night shift', 'deletion'],
      ['removed_from_team', agent, 'Day', 'deletion'],
    ]);

    // access as of T includes the teams at T
    const asOf = await api.request('GET', `${A}/members/${leaver}/access?asOf=${encodeURIComponent(beforeRevoke)}`, asA);
    expect(asOf.body.teams).toEqual([{ teamId: nightId, name: 'Night shift' }]);
    expect(asOf.body.scopes).toEqual({ contact_visibility: 'all', mask_contact_info: false });
    const now = (await api.request('GET', `${A}/members/${leaver}/access?explain=true`, asA)).body;
    // the explanation says so too (probe 81 F2)
    expect(now.explanation.scopes).toBeNull();
    // revoked now: no teams, no permissions, and no data scope (probe 80 F12: "sees all contacts, unmasked")
    expect({ status: now.status, teams: now.teams, permissions: now.permissions, scopes: now.scopes }).toEqual({ status: 'revoked', teams: [], permissions: [], scopes: null });

    // rename and delete
    expect((await api.request('PATCH', `${A}/teams/${day}`, { ...asA, body: { name: 'Early' } })).body).toMatchObject({ teamId: day, name: 'Early', changed: true });
    expectProblem(await api.request('PATCH', `${A}/teams/${day}`, { ...asA, body: { name: 'night shift' } }), 409, 'TEAM_NAME_TAKEN');
    expect((await api.request('DELETE', `${A}/teams/${day}`, asA)).status).toBe(200);
    expectProblem(await api.request('DELETE', `${A}/teams/${day}`, asA), 404, 'TEAM_NOT_FOUND');

    // team changes are published as integration events (a chat router follows who is in which team)
    const deadline = Date.now() + 5000;
    const removals = () => received.filter((e) => e.type === 'TeamMemberRemoved' && e.data.teamId === nightId);
    while (removals().length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(removals().map((e) => [e.data.userId, e.data.reason])).toEqual([
      [manager, 'command'],
      [leaver, 'revoke'],
      [agent, 'deletion'],
    ]);
    expect(received.some((e) => e.type === 'TeamMemberAdded' && e.data.teamId === nightId && e.data.userId === agent)).toBe(true);
    expect(received.filter((e) => e.type === 'WorkspacesNetworked' && e.data.partnerWorkspaceId === b.workspaceId)).toHaveLength(1);
  });

  it('rule 16: a team is shared per partner — another partner, one linked later, or one unlinked and linked again is not offered it (docs/adr/0040, probe 91 F2)', async () => {
    const { api } = app;
    const [a, b, c] = [await api.organization(), await api.organization({ accessModel: 'studio' }), await api.organization()];
    const asB = { key: b.key, actor: b.admin };
    const B = `/v1/workspaces/${b.workspaceId}`;
    const link = (x: string, y: string) => api.request('POST', `/v1/workspaces/${x}/network`, { key: SYSTEM_KEY, body: { partnerWorkspaceId: y } });
    const offeredTo = async (o: { key: string; admin: string; workspaceId: string }, position: string) =>
      (await api.request('GET', `/v1/workspaces/${o.workspaceId}/partner-teams`, { key: o.key, actor: o.admin, headers: { 'x-min-position': position } })).body.items.map((t: { name: string; shared: boolean }) => [t.name, t.shared]);
    const share = (body: object) => api.request('PUT', `${B}/teams/${team}/sharing`, { ...asB, body });
    const team = (await api.request('POST', `${B}/teams`, { ...asB, body: { name: 'Experts' } })).body.teamId as string;

    // no partner yet: nothing to share with
    expectProblem(await share({ shared: true }), 404, 'NOT_NETWORKED');
    expect((await link(b.workspaceId, a.workspaceId)).status).toBe(201);
    expect((await link(b.workspaceId, c.workspaceId)).status).toBe(201);
    // with A only: C is not offered it, and B's list says whom it is shared with
    const withA = await share({ shared: true, partnerWorkspaceId: a.workspaceId });
    expect(withA.body).toMatchObject({ changed: true, shared: true, partnerWorkspaceIds: [a.workspaceId] });
    expect(await offeredTo(a, withA.body.position)).toEqual([['Experts', true]]);
    expect(await offeredTo(c, withA.body.position)).toEqual([]);
    expectProblem(await api.request('PUT', `/v1/workspaces/${c.workspaceId}/partner-teams/${team}/visibility`, { key: c.key, actor: c.admin, body: { visible: true } }), 404, 'TEAM_NOT_FOUND');
    const listed = await api.request('GET', `${B}/teams`, { ...asB, headers: { 'x-min-position': withA.body.position } });
    expect(listed.body.items).toEqual([{ teamId: team, name: 'Experts', memberCount: 0, shared: true, sharedWith: [{ workspaceId: a.workspaceId, workspaceName: 'Support' }] }]);
    // a workspace that is no partner; an id that is none; the same again changes nothing
    const stranger = await api.organization();
    const notPartner = await share({ shared: true, partnerWorkspaceId: stranger.workspaceId });
    expectProblem(notPartner, 404, 'NOT_NETWORKED');
    expect(notPartner.body.detail).toContain('not a network partner of this workspace');
    const bad = await share({ shared: true, partnerWorkspaceId: 'not an id' });
    expectProblem(bad, 400, 'VALIDATION_FAILED');
    expect(bad.body.errors).toEqual([expect.objectContaining({ field: 'partnerWorkspaceId' })]);
    // null is no partner and not "every partner" either (probe 102 F1: taken as a workspace named "null", 200)
    for (const shared of [true, false]) {
      const none = await share({ shared, partnerWorkspaceId: null });
      expectProblem(none, 400, 'VALIDATION_FAILED');
      expect(none.body.errors).toEqual([expect.objectContaining({ field: 'partnerWorkspaceId' })]);
    }
    expect((await share({ shared: true, partnerWorkspaceId: a.workspaceId })).body).toMatchObject({ changed: false, partnerWorkspaceIds: [] });
    // with every partner linked now: C gets it; a partner linked later (D) does not
    expect((await share({ shared: true })).body.partnerWorkspaceIds).toEqual([c.workspaceId]);
    const d = await api.organization();
    const linkedD = await link(b.workspaceId, d.workspaceId);
    expect(await offeredTo(d, linkedD.body.position)).toEqual([]);
    // the unlink ends the sharing with C: linked again, C is offered nothing until B shares again
    expect((await api.request('DELETE', `${B}/network/${c.workspaceId}`, { key: SYSTEM_KEY })).status).toBe(200);
    const relinked = await link(b.workspaceId, c.workspaceId);
    expect(await offeredTo(c, relinked.body.position)).toEqual([]);
    expect(await offeredTo(a, relinked.body.position)).toEqual([['Experts', true]]);
    // unsharing from A leaves no one; B's history names the partners each change reached
    const unshared = await share({ shared: false, partnerWorkspaceId: a.workspaceId });
    expect(unshared.body.partnerWorkspaceIds).toEqual([a.workspaceId]);
    const history = await api.request('GET', `${B}/history?limit=500`, { ...asB, headers: { 'x-min-position': unshared.body.position } });
    expect(history.body.items.filter((e: { change: string }) => e.change.startsWith('team_sh') || e.change.startsWith('team_un')).map((e: { change: string; details: { partnerWorkspaceIds: string[] } }) => [e.change, e.details.partnerWorkspaceIds])).toEqual([
      ['team_shared', [a.workspaceId]],
      ['team_shared', [c.workspaceId]],
      ['team_unshared', [a.workspaceId]],
    ]);
  });

  it('rule 16 (probe 91 F3): a partner team chosen while its owner unshares it is either chosen before the unshare, in log order, or refused', async () => {
    const { api } = app;
    const [a, b] = [await api.organization(), await api.organization()];
    const asA = { key: a.key, actor: a.admin };
    const asB = { key: b.key, actor: b.admin };
    const A = `/v1/workspaces/${a.workspaceId}`;
    const B = `/v1/workspaces/${b.workspaceId}`;
    expect((await api.request('POST', `${A}/network`, { key: SYSTEM_KEY, body: { partnerWorkspaceId: b.workspaceId } })).status).toBe(201);
    const team = (await api.request('POST', `${B}/teams`, { ...asB, body: { name: 'Raced' } })).body.teamId as string;
    const outcomes: string[] = [];
    for (let round = 0; round < 8; round++) {
      expect((await api.request('PUT', `${B}/teams/${team}/sharing`, { ...asB, body: { shared: true } })).status).toBe(200);
      const [unshared, chosen] = await Promise.all([
        api.request('PUT', `${B}/teams/${team}/sharing`, { ...asB, body: { shared: false } }),
        api.request('PUT', `${A}/partner-teams/${team}/visibility`, { ...asA, body: { visible: true } }),
      ]);
      expect(unshared.status).toBe(200);
      if (chosen.status === 200) {
        // the choice was made while the team was offered: before the unshare in the log
        expect(BigInt(chosen.body.position)).toBeLessThan(BigInt(unshared.body.position));
        outcomes.push('chosen first');
        expect((await api.request('PUT', `${A}/partner-teams/${team}/visibility`, { ...asA, body: { visible: false } })).status).toBe(200);
      } else {
        expect(chosen.body.code).toBe('TEAM_NOT_FOUND');
        outcomes.push('refused');
      }
    }
    expect(outcomes).toHaveLength(8);
  });

  it('message patterns teams.* and network.* run the same commands and reads', async () => {
    const { api } = app;
    const a = await api.organization();
    const b = await api.organization();
    const base = { apiKey: a.key, actorId: a.admin, workspaceId: a.workspaceId };
    const created = await send('teams.create', { ...base, name: 'Tier 1' });
    expect(created).toMatchObject({ teamId: expect.any(String), name: 'Tier 1', changed: true });
    await send('teams.addMember', { ...base, teamId: created.teamId, userId: a.admin });
    // sharing needs a partner (docs/adr/0040)
    await expect(send('teams.setSharing', { ...base, teamId: created.teamId, shared: true })).rejects.toMatchObject({ status: 404, code: 'NOT_NETWORKED' });
    await expect(send('network.link', { apiKey: a.key, actorId: a.admin, workspaceId: b.workspaceId, partnerWorkspaceId: a.workspaceId })).rejects.toMatchObject({ code: 'INSUFFICIENT_AUTHORITY' });
    // without an actor too: the key is refused first, as over HTTP (it answered "name the acting user")
    await expect(send('network.link', { apiKey: a.key, workspaceId: b.workspaceId, partnerWorkspaceId: a.workspaceId })).rejects.toMatchObject({ status: 403, code: 'INSUFFICIENT_AUTHORITY' });
    expect(await send('network.link', { apiKey: SYSTEM_KEY, workspaceId: b.workspaceId, partnerWorkspaceId: a.workspaceId })).toMatchObject({ networked: true });
    const shared = await send('teams.setSharing', { ...base, teamId: created.teamId, shared: true, partnerWorkspaceId: b.workspaceId.toUpperCase() });
    expect(shared).toMatchObject({ shared: true, changed: true, partnerWorkspaceIds: [b.workspaceId] });
    const chosen = await send('teams.setPartnerTeamVisibility', { apiKey: b.key, actorId: b.admin, workspaceId: b.workspaceId, teamId: created.teamId, visible: true });
    const lookup = await send('teams.invitees', { apiKey: b.key, actorId: b.admin, workspaceId: b.workspaceId, teamId: created.teamId, minPosition: chosen.position });
    expect(lookup).toMatchObject({ name: 'Tier 1', partner: { workspaceId: a.workspaceId }, items: [{ userId: a.admin, displayName: 'Ada Admin' }] });
    const list = await send('teams.list', { apiKey: b.key, actorId: b.admin, workspaceId: b.workspaceId, minPosition: chosen.position });
    expect(list.items.map((t: { name: string }) => t.name)).toEqual(['Tier 1']);
    // a bad position is named by the field the message sent, not by the HTTP header (probe 9)
    for (const minPosition of ['soon', '99999999999'])
      await expect(send('teams.list', { apiKey: b.key, actorId: b.admin, workspaceId: b.workspaceId, minPosition })).rejects.toMatchObject({
        status: 400,
        code: 'VALIDATION_FAILED',
        errors: [expect.objectContaining({ field: 'minPosition' })],
      });
    expect(await send('network.unlink', { apiKey: SYSTEM_KEY, workspaceId: a.workspaceId, partnerWorkspaceId: b.workspaceId })).toMatchObject({ networked: false });
    await expect(send('teams.invitees', { apiKey: b.key, actorId: b.admin, workspaceId: b.workspaceId, teamId: created.teamId })).rejects.toMatchObject({ code: 'TEAM_NOT_FOUND' });
    await expect(send('teams.create', { ...base, name: 'tier 1' })).rejects.toMatchObject({ code: 'TEAM_NAME_TAKEN' });
  });
});
