// Who from outside could be asked into a workspace's chats at a time T (probe 33 O9): the roster at T lists the partner
// teams visible then (rule 16: linked, shared, chosen), each with its members then, replayed from both workspaces'
// streams. No history entry of the viewing workspace records a partner's team changes.
import { SYSTEM_KEY, type TestApp, startTestApp } from './support/app';
import { auditCli } from './support/audit-cli';

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(() => app.stop());

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** an instant strictly between the changes before and after it (changes are dated to the millisecond) */
const instant = async () => {
  await sleep(15);
  const at = new Date().toISOString();
  await sleep(15);
  return at;
};

interface PartnerTeamAsOf {
  workspaceId: string;
  organizationId: string;
  teamId: string;
  name: string;
  members: string[];
}

describe('rule 16 at T: the roster at T lists the partner teams visible in the workspace then, with their members then (probe 33 O9)', () => {
  it('follows the link, the sharing, the choice, the team’s members and its name over time; never an address of the other organization', async () => {
    const { api } = app;
    const a = await api.organization();
    const b = await api.organization({ accessModel: 'studio' });
    const asA = { key: a.key, actor: a.admin };
    const asB = { key: b.key, actor: b.admin };
    const A = `/v1/workspaces/${a.workspaceId}`;
    const B = `/v1/workspaces/${b.workspaceId}`;
    const inB = { ...asB, workspaceId: b.workspaceId };
    const bea = await api.member(inB, 'bea@b.test', { roles: ['operator'] });
    const bob = await api.member(inB, 'bob@b.test', { roles: ['operator'] });
    const experts = (await api.request('POST', `${B}/teams`, { ...asB, body: { name: 'Experts' } })).body.teamId as string;
    const hidden = (await api.request('POST', `${B}/teams`, { ...asB, body: { name: 'Hidden' } })).body.teamId as string;
    for (const [team, user] of [[experts, bea], [hidden, bob]]) expect((await api.request('PUT', `${B}/teams/${team}/members/${user}`, asB)).status).toBe(200);
    const beforeLink = await instant();
    expect((await api.request('POST', `${A}/network`, { key: SYSTEM_KEY, body: { partnerWorkspaceId: b.workspaceId } })).status).toBe(201);
    // (shared once linked: a team is shared with partners linked at the time, docs/adr/0040)
    expect((await api.request('PUT', `${B}/teams/${experts}/sharing`, { ...asB, body: { shared: true } })).status).toBe(200);
    expect((await api.request('PUT', `${B}/teams/${hidden}/sharing`, { ...asB, body: { shared: true } })).status).toBe(200);
    const linkedNotChosen = await instant();
    expect((await api.request('PUT', `${A}/partner-teams/${experts}/visibility`, { ...asA, body: { visible: true } })).status).toBe(200);
    const chosen = await instant();
    expect((await api.request('PUT', `${B}/teams/${experts}/members/${bob}`, asB)).status).toBe(200);
    expect((await api.request('PATCH', `${B}/teams/${experts}`, { ...asB, body: { name: 'Experts EU' } })).status).toBe(200);
    const grown = await instant();
    expect((await api.request('PUT', `${B}/teams/${experts}/sharing`, { ...asB, body: { shared: false } })).status).toBe(200);
    const unshared = await instant();
    expect((await api.request('PUT', `${B}/teams/${experts}/sharing`, { ...asB, body: { shared: true } })).status).toBe(200);
    const sharedAgain = await instant();
    // bob revoked from B: out of its teams (rule 11), so out of what A could reach
    expect((await api.request('DELETE', `${B}/members/${bob}`, { ...asB, body: {} })).status).toBe(200);
    const bobRevoked = await instant();
    expect((await api.request('DELETE', `${B}/network/${a.workspaceId}`, { key: SYSTEM_KEY })).status).toBe(200);

    const rosterAt = async (at?: string) => {
      const reply = await api.request('GET', `${A}/access${at ? `?asOf=${encodeURIComponent(at)}` : ''}`, asA);
      expect(reply.status).toBe(200);
      return reply.body as { partnerTeams: PartnerTeamAsOf[]; basedOn: { eventsReplayed: number } };
    };
    const team = (name: string, members: string[]) => [{ workspaceId: b.workspaceId, organizationId: b.organizationId, teamId: experts, name, members: [...members].sort() }];
    const seen = {
      beforeLink: (await rosterAt(beforeLink)).partnerTeams,
      linkedNotChosen: (await rosterAt(linkedNotChosen)).partnerTeams,
      chosen: (await rosterAt(chosen)).partnerTeams,
      grown: (await rosterAt(grown)).partnerTeams,
      unshared: (await rosterAt(unshared)).partnerTeams,
      sharedAgain: (await rosterAt(sharedAgain)).partnerTeams,
      bobRevoked: (await rosterAt(bobRevoked)).partnerTeams,
      now: (await rosterAt()).partnerTeams,
    };
    expect(seen).toEqual({
      beforeLink: [],
      // linked, but A had chosen nothing: B's shared teams were on offer, not visible (rule 16)
      linkedNotChosen: [],
      chosen: team('Experts', [bea]),
      grown: team('Experts EU', [bea, bob]),
      unshared: [],
      // the choice outlived the unsharing (rule 16)
      sharedAgain: team('Experts EU', [bea, bob]),
      bobRevoked: team('Experts EU', [bea]),
      // unlinked: the choice is gone with the link
      now: [],
    });
    // the partner's streams are replayed, but not counted in basedOn: its count and latest position, readable at any T,
    // were a meter of the partner organization's activity (probe 52 F2); the partner's team grew between these two
    // instants, nothing of this workspace's changed
    const withPartner = await rosterAt(chosen);
    expect((await rosterAt(grown)).basedOn).toEqual(withPartner.basedOn);
    // user ids only: nothing of the other organization's people beyond them (ADR 0009 point 6)
    const body = JSON.stringify(await rosterAt(grown));
    for (const secret of ['bea@b.test', 'bob@b.test', 'operator', 'Hidden', hidden]) expect(body).not.toContain(secret);

    // the auditor's CLI says it too
    const roster = await auditCli(['roster', '--workspace', a.workspaceId, '--at', grown], { ROLLCALL_URL: app.url, ROLLCALL_API_KEY: a.key, ROLLCALL_ACTOR_ID: a.admin });
    expect({ status: roster.status, stderr: roster.stderr }).toEqual({ status: 0, stderr: '' });
    expect(roster.stdout).toContain(`partner teams visible here (rule 16):\n  ${experts} "Experts EU" of workspace ${b.workspaceId}: ${[bea, bob].sort().join(', ')}\n`);
  });
});
