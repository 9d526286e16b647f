import type { AccessModelName } from '../access-model';
import { expectError, expectEvents } from '../testing/fixture';
import { checkRead } from '../workspace/authority';
import { World } from './testing/world';
import { visiblePartnerTeam, visiblePartnerTeams } from './visibility';

const PRESETS: AccessModelName[] = ['levels', 'permissions', 'studio'];
const A = 'ws-a';
const B = 'ws-b';
const C = 'ws-c';
const adminOf = (ws: string) => World.admin(ws === A ? 'org-a' : 'org-b');
const at = (w: World, workspaceId: string, actorId = adminOf(workspaceId)) => ({ workspaceId, actorId, now: w.now });

/** ws-a (org-a) and ws-b (org-b, another organization), each with a member; not networked yet. */
function twoOrganizations(modelA: AccessModelName = 'levels', modelB: AccessModelName = 'levels') {
  const w = new World('org-a', A, modelA);
  w.organization('org-b').workspace('org-b', B, modelB);
  return w.member(A, 'ann').member(B, 'bea');
}

const choose = (w: World, teamId: string, visible: boolean, viewer = A, actorId?: string) =>
  w.teams({ type: 'SetPartnerTeamVisibility', ...at(w, viewer, actorId), teamId, visible });
const share = (w: World, teamId: string, shared: boolean, owner = B) => w.teams({ type: 'SetTeamSharing', ...at(w, owner), teamId, shared });
const visibleTo = (w: World, viewer: string) => [...visiblePartnerTeams(w.state(viewer), w.ctx(viewer).partners ?? []).keys()];

describe('rule 16: a system admin links two workspaces, of the same or of different organizations', () => {
  it('links them: one WorkspacesNetworked for each side, each from its own side', () => {
    const w = twoOrganizations();
    const [a, b] = expectEvents(w.network('NetworkWorkspaces', A, B), ['WorkspacesNetworked', 'WorkspacesNetworked']);
    expect(a!.data).toEqual({ workspaceId: A, organizationId: 'org-a', partnerWorkspaceId: B, partnerOrganizationId: 'org-b', networkedAt: w.now });
    expect(b!.data).toEqual({ workspaceId: B, organizationId: 'org-b', partnerWorkspaceId: A, partnerOrganizationId: 'org-a', networkedAt: w.now });
    w.givenNetwork('NetworkWorkspaces', A, B);
    expect([...w.state(A).teams.partners.keys()]).toEqual([B]);
    expect([...w.state(B).teams.partners.keys()]).toEqual([A]);
  });

  it('two workspaces of one organization can be linked too', () => {
    const w = new World('org-a', A).workspace('org-a', 'ws-a2');
    expectEvents(w.network('NetworkWorkspaces', A, 'ws-a2'), ['WorkspacesNetworked', 'WorkspacesNetworked']);
  });

  it('only the system links or unlinks: an org admin or a member is INSUFFICIENT_AUTHORITY', () => {
    const w = twoOrganizations();
    expectError(w.network('NetworkWorkspaces', A, B, adminOf(A)), 'INSUFFICIENT_AUTHORITY');
    expectError(w.network('NetworkWorkspaces', A, B, 'ann'), 'INSUFFICIENT_AUTHORITY');
    w.givenNetwork('NetworkWorkspaces', A, B);
    expectError(w.network('UnnetworkWorkspaces', A, B, adminOf(B)), 'INSUFFICIENT_AUTHORITY');
  });

  it('a workspace cannot be linked with itself; linking twice is ALREADY_NETWORKED (from either side)', () => {
    const w = twoOrganizations();
    const self = w.network('NetworkWorkspaces', A, A);
    expectError(self, 'VALIDATION_FAILED');
    expect(!self.ok && self.error.fields).toEqual([{ field: 'partnerWorkspaceId', message: expect.any(String) }]);
    w.givenNetwork('NetworkWorkspaces', A, B);
    expectError(w.network('NetworkWorkspaces', A, B), 'ALREADY_NETWORKED');
    expectError(w.network('NetworkWorkspaces', B, A), 'ALREADY_NETWORKED');
  });

  it('unlinks them on both sides; unlinking workspaces that are not linked is NOT_NETWORKED', () => {
    const w = twoOrganizations();
    expectError(w.network('UnnetworkWorkspaces', A, B), 'NOT_NETWORKED');
    w.givenNetwork('NetworkWorkspaces', A, B);
    const [a, b] = expectEvents(w.network('UnnetworkWorkspaces', B, A), ['WorkspacesUnnetworked', 'WorkspacesUnnetworked']);
    expect([a!.data.workspaceId, b!.data.workspaceId]).toEqual([B, A]);
    w.givenNetwork('UnnetworkWorkspaces', B, A);
    expect(w.state(A).teams.partners.size + w.state(B).teams.partners.size).toBe(0);
  });
});

describe.each(PRESETS)('rule 16: sharing teams and choosing partner teams (viewer preset %s)', (model) => {
  /** A (of `model`) and B networked; B has a team "Experts" with bea. */
  function networked() {
    const w = twoOrganizations(model, 'levels').givenNetwork('NetworkWorkspaces', A, B);
    const experts = w.team(B, 'Experts', ['bea']);
    return { w, experts };
  }

  it('sharing offers a team to the partners; unsharing stops it; setting the same value again changes nothing', () => {
    const { w, experts } = networked();
    const [shared] = expectEvents(share(w, experts, true), ['TeamShared']);
    expect(shared!.data).toEqual({ workspaceId: B, teamId: experts, sharedAt: w.now, partnerWorkspaceIds: [A] });
    w.givenTeams({ type: 'SetTeamSharing', ...at(w, B), teamId: experts, shared: true });
    expectEvents(share(w, experts, true), []);
    expectEvents(share(w, experts, false), ['TeamUnshared']);
    expectError(share(w, 'no-such-team', true), 'TEAM_NOT_FOUND');
  });

  it('a shared team is visible to the partner only once the partner chose it', () => {
    const { w, experts } = networked();
    w.givenTeams({ type: 'SetTeamSharing', ...at(w, B), teamId: experts, shared: true });
    expect(visibleTo(w, A)).toEqual([]);
    const [chosen] = expectEvents(choose(w, experts, true), ['PartnerTeamVisibilityChanged']);
    // with the team's name as shared, for the viewer's own history (probe 91 F4)
    expect(chosen!.data).toEqual({ workspaceId: A, partnerWorkspaceId: B, teamId: experts, visible: true, changedAt: w.now, teamName: 'Experts' });
    w.givenTeams({ type: 'SetPartnerTeamVisibility', ...at(w, A), teamId: experts, visible: true });
    expect(visibleTo(w, A)).toEqual([experts]);
    expect(visiblePartnerTeam(w.state(A), w.ctx(A).partners!, experts)?.team.members).toEqual(new Set(['bea']));
    // choosing again changes nothing; the owner does not see its own team as a partner team
    expectEvents(choose(w, experts, true), []);
    expect(visibleTo(w, B)).toEqual([]);
  });

  it('a team that is not shared, the partner\'s own team, an unknown team or a team of an unlinked workspace is TEAM_NOT_FOUND to the chooser', () => {
    const { w, experts } = networked();
    expectError(choose(w, experts, true), 'TEAM_NOT_FOUND');
    const own = w.team(A, 'Mine');
    expectError(choose(w, own, true), 'TEAM_NOT_FOUND');
    // the message says why: the team exists here, as the workspace's own (probe 15: it said it did not exist)
    const refused = choose(w, own, true);
    expect(!refused.ok && refused.error.message).toContain("this workspace's own team, not a partner's");
    const notShared = choose(w, experts, true);
    expect(!notShared.ok && notShared.error.message).toContain('not a team a partner workspace shares');
    expectError(choose(w, 'no-such-team', true), 'TEAM_NOT_FOUND');
    // hiding a team not chosen changes nothing, whatever the id names (probe 91 F5)
    for (const teamId of [experts, own, 'no-such-team']) expectEvents(choose(w, teamId, false), []);
    w.organization('org-c').workspace('org-c', 'ws-c').givenNetwork('NetworkWorkspaces', 'ws-c', B);
    const foreign = w.team('ws-c', 'Foreign');
    w.givenTeams({ type: 'SetTeamSharing', workspaceId: 'ws-c', actorId: World.admin('org-c'), now: w.now, teamId: foreign, shared: true });
    expectError(choose(w, foreign, true), 'TEAM_NOT_FOUND');
  });

  it('unsharing hides a chosen team at once; sharing it again shows it again (the choice stands while linked)', () => {
    const { w, experts } = networked();
    w.givenTeams({ type: 'SetTeamSharing', ...at(w, B), teamId: experts, shared: true });
    w.givenTeams({ type: 'SetPartnerTeamVisibility', ...at(w, A), teamId: experts, visible: true });
    w.givenTeams({ type: 'SetTeamSharing', ...at(w, B), teamId: experts, shared: false });
    expect(visibleTo(w, A)).toEqual([]);
    expect(visiblePartnerTeam(w.state(A), w.ctx(A).partners!, experts)).toBeUndefined();
    // the viewer may still stop wanting it (named as its partner holds it)
    expect(expectEvents(choose(w, experts, false), ['PartnerTeamVisibilityChanged'])[0]!.data).toMatchObject({ visible: false, teamName: 'Experts' });
    w.givenTeams({ type: 'SetTeamSharing', ...at(w, B), teamId: experts, shared: true });
    expect(visibleTo(w, A)).toEqual([experts]);
  });

  it('unlinking hides every partner team at once and ends the sharing and the choices: after linking again, nothing is offered until shared again, nothing shows until chosen again', () => {
    const { w, experts } = networked();
    w.givenTeams({ type: 'SetTeamSharing', ...at(w, B), teamId: experts, shared: true });
    w.givenTeams({ type: 'SetPartnerTeamVisibility', ...at(w, A), teamId: experts, visible: true });
    w.givenNetwork('UnnetworkWorkspaces', A, B);
    expect(visiblePartnerTeam(w.state(A), [w.state(B)], experts)).toBeUndefined();
    expectError(choose(w, experts, true), 'TEAM_NOT_FOUND');
    w.givenNetwork('NetworkWorkspaces', A, B);
    expect(visibleTo(w, A)).toEqual([]);
    expectError(choose(w, experts, true), 'TEAM_NOT_FOUND');
    expect([...w.state(B).teams.teams.get(experts)!.sharedWith]).toEqual([]);
    w.givenTeams({ type: 'SetTeamSharing', ...at(w, B), teamId: experts, shared: true });
    expectEvents(choose(w, experts, true), ['PartnerTeamVisibilityChanged']);
  });

  /** B linked with A and with C (org-c); B's team Experts */
  function threeLinked() {
    const { w, experts } = networked();
    w.organization('org-c').workspace('org-c', C, model).givenNetwork('NetworkWorkspaces', B, C);
    return { w, experts };
  }
  const chooseIn = (w: World, viewer: string, teamId: string) => w.teams({ type: 'SetPartnerTeamVisibility', workspaceId: viewer, actorId: viewer === C ? World.admin('org-c') : adminOf(viewer), now: w.now, teamId, visible: true });
  const shareWith = (w: World, teamId: string, shared: boolean, partnerWorkspaceId: string) =>
    w.teams({ type: 'SetTeamSharing', ...at(w, B), teamId, shared, partnerWorkspaceId });

  it('a team shared with one partner is offered to that partner only: another partner of the owner does not see it (docs/adr/0040, probe 91 F2)', () => {
    const { w, experts } = threeLinked();
    const [shared] = expectEvents(shareWith(w, experts, true, A), ['TeamShared']);
    expect(shared!.data.partnerWorkspaceIds).toEqual([A]);
    w.givenTeams({ type: 'SetTeamSharing', ...at(w, B), teamId: experts, shared: true, partnerWorkspaceId: A });
    expectEvents(chooseIn(w, A, experts), ['PartnerTeamVisibilityChanged']);
    expectError(chooseIn(w, C, experts), 'TEAM_NOT_FOUND');
    // sharing with A again changes nothing; with C as well reaches C
    expectEvents(shareWith(w, experts, true, A), []);
    w.givenTeams({ type: 'SetTeamSharing', ...at(w, B), teamId: experts, shared: true, partnerWorkspaceId: C });
    expectEvents(chooseIn(w, C, experts), ['PartnerTeamVisibilityChanged']);
  });

  it('sharing with every partner reaches those linked now, not one the operator links later', () => {
    const { w, experts } = networked();
    expect(expectEvents(share(w, experts, true), ['TeamShared'])[0]!.data.partnerWorkspaceIds).toEqual([A]);
    w.givenTeams({ type: 'SetTeamSharing', ...at(w, B), teamId: experts, shared: true });
    w.organization('org-c').workspace('org-c', C, model).givenNetwork('NetworkWorkspaces', B, C);
    expectError(chooseIn(w, C, experts), 'TEAM_NOT_FOUND');
    // asked again: only the partner that did not have it
    expect(expectEvents(share(w, experts, true), ['TeamShared'])[0]!.data.partnerWorkspaceIds).toEqual([C]);
  });

  it('unsharing from one partner leaves the others; unsharing from every partner ends them all', () => {
    const { w, experts } = threeLinked();
    w.givenTeams({ type: 'SetTeamSharing', ...at(w, B), teamId: experts, shared: true });
    w.givenTeams({ type: 'SetPartnerTeamVisibility', workspaceId: A, actorId: adminOf(A), now: w.now, teamId: experts, visible: true });
    expect(expectEvents(shareWith(w, experts, false, A), ['TeamUnshared'])[0]!.data.partnerWorkspaceIds).toEqual([A]);
    w.givenTeams({ type: 'SetTeamSharing', ...at(w, B), teamId: experts, shared: false, partnerWorkspaceId: A });
    expect(visibleTo(w, A)).toEqual([]);
    expectEvents(chooseIn(w, C, experts), ['PartnerTeamVisibilityChanged']);
    // unsharing from A again changes nothing; from every partner reaches C
    expectEvents(shareWith(w, experts, false, A), []);
    expect(expectEvents(share(w, experts, false), ['TeamUnshared'])[0]!.data.partnerWorkspaceIds).toEqual([C]);
  });

  it('sharing with a workspace that is not a partner, or with every partner where there is none, is NOT_NETWORKED; unsharing from one changes nothing', () => {
    const { w, experts } = networked();
    w.organization('org-c').workspace('org-c', C, model);
    const refused = shareWith(w, experts, true, C);
    expectError(refused, 'NOT_NETWORKED');
    expect(!refused.ok && refused.error.message).toContain('not a network partner of this workspace');
    expectEvents(shareWith(w, experts, false, C), []);
    w.givenNetwork('UnnetworkWorkspaces', A, B);
    const none = share(w, experts, true);
    expectError(none, 'NOT_NETWORKED');
    expect(!none.ok && none.error.message).toContain('no network partner');
    expectEvents(share(w, experts, false), []);
  });

  it('a team shared before session 62 (an event naming no partner) is offered to every partner, present and future, until its sharing is next changed', () => {
    const { w, experts } = networked();
    w.givenEvents(B, [{ type: 'TeamShared', version: 1, data: { workspaceId: B, teamId: experts, sharedAt: w.now } }]);
    w.organization('org-c').workspace('org-c', C, model).givenNetwork('NetworkWorkspaces', B, C);
    // C, linked after it, is offered it as before
    expectEvents(chooseIn(w, C, experts), ['PartnerTeamVisibilityChanged']);
    expectEvents(share(w, experts, true), []);
    // unsharing from A turns it into a sharing with the partners left (C), which a partner linked later no longer gets
    w.givenTeams({ type: 'SetTeamSharing', ...at(w, B), teamId: experts, shared: false, partnerWorkspaceId: A });
    const team = w.state(B).teams.teams.get(experts)!;
    expect([team.sharedWithEveryPartner, [...team.sharedWith]]).toEqual([false, [C]]);
    expectError(chooseIn(w, A, experts), 'TEAM_NOT_FOUND');
  });

  it('hiding a chosen team works; a deleted partner team is no longer visible and can still be hidden', () => {
    const { w, experts } = networked();
    w.givenTeams({ type: 'SetTeamSharing', ...at(w, B), teamId: experts, shared: true });
    w.givenTeams({ type: 'SetPartnerTeamVisibility', ...at(w, A), teamId: experts, visible: true });
    w.givenTeams({ type: 'DeleteTeam', ...at(w, B), teamId: experts });
    expect(visibleTo(w, A)).toEqual([]);
    const [hidden] = expectEvents(choose(w, experts, false), ['PartnerTeamVisibilityChanged']);
    expect(hidden!.data).toMatchObject({ partnerWorkspaceId: B, visible: false });
  });

  it('each side decides for itself: A seeing B\'s team shows B nothing of A', () => {
    const { w, experts } = networked();
    const mine = w.team(A, 'Mine', ['ann']);
    w.givenTeams({ type: 'SetTeamSharing', ...at(w, B), teamId: experts, shared: true });
    w.givenTeams({ type: 'SetTeamSharing', ...at(w, A), teamId: mine, shared: true });
    w.givenTeams({ type: 'SetPartnerTeamVisibility', ...at(w, A), teamId: experts, visible: true });
    expect(visibleTo(w, A)).toEqual([experts]);
    expect(visibleTo(w, B)).toEqual([]);
  });

  it('choosing partner teams needs the team-management permission: a member without it is INSUFFICIENT_AUTHORITY', () => {
    const { w, experts } = networked();
    w.givenTeams({ type: 'SetTeamSharing', ...at(w, B), teamId: experts, shared: true });
    const plain = model === 'levels' ? { roles: ['agent'] } : model === 'studio' ? { roles: ['operator'] } : {};
    w.member(A, 'plain', plain);
    expectError(choose(w, experts, true, A, 'plain'), 'INSUFFICIENT_AUTHORITY');
    expectEvents(choose(w, experts, true, A, adminOf(A)), ['PartnerTeamVisibilityChanged']);
  });
});

describe.each(PRESETS)('rule 15: the team invite lookup (preset %s)', (model) => {
  it('every active member may read the teams and the lookup, an agent too; someone who is not a member may not', () => {
    const plain = model === 'levels' ? { roles: ['agent'] } : model === 'studio' ? { roles: ['operator'] } : {};
    const w = new World('org-1', 'ws-1', model).member('ws-1', 'plain', plain).member('ws-1', 'gone').revoke('ws-1', 'gone');
    const ctx = w.ctx('ws-1');
    expect(checkRead(ctx, 'plain', 'teams')).toBeUndefined();
    expect(checkRead(ctx, World.admin('org-1'), 'teams')).toBeUndefined();
    expect(checkRead(ctx, 'gone', 'teams')?.code).toBe('INSUFFICIENT_AUTHORITY');
    expect(checkRead(ctx, 'stranger', 'teams')?.code).toBe('INSUFFICIENT_AUTHORITY');
  });

  it('a team holds exactly its active members: who the lookup returns', () => {
    const w = new World('org-1', 'ws-1', model).member('ws-1', 'ann').member('ws-1', 'bob').member('ws-1', 'cy');
    const team = w.team('ws-1', 'Support', ['ann', 'bob', 'cy']);
    w.revoke('ws-1', 'bob').givenDeleted('org-1', 'cy');
    expect([...w.state('ws-1').teams.teams.get(team)!.members]).toEqual(['ann']);
  });

  it('a visible partner team is in the lookup of the viewer with its members (rule 16), and only then', () => {
    const w = twoOrganizations(model, model).givenNetwork('NetworkWorkspaces', A, B);
    const experts = w.team(B, 'Experts', ['bea']);
    const lookup = () => visiblePartnerTeam(w.state(A), w.ctx(A).partners!, experts);
    expect(lookup()).toBeUndefined();
    w.givenTeams({ type: 'SetTeamSharing', ...at(w, B), teamId: experts, shared: true });
    expect(lookup()).toBeUndefined();
    w.givenTeams({ type: 'SetPartnerTeamVisibility', ...at(w, A), teamId: experts, visible: true });
    expect(lookup()).toMatchObject({ workspaceId: B, team: { name: 'Experts', members: new Set(['bea']) } });
    // without the partner's state (it is not a partner) nothing is visible
    expect(visiblePartnerTeam(w.state(A), [], experts)).toBeUndefined();
  });
});
