import type { Decision, DomainEvent } from '@rollcall/domain';
import { MEMBERS, type MemberDoc, membersProjection } from './members';
import { PERMISSION_HISTORY, type HistoryEntryDoc, permissionHistoryProjection } from './permission-history';
import { TEAMS, TEAM_CHOICES, TEAM_LINKS, TEAM_ROSTERS, teamsProjection } from './teams';
import { MemoryModel } from './testing/memory-model';
import { ADMIN, LogScenario, WS } from './testing/scenario';

const must = (d: Decision<DomainEvent>) => {
  if (!d.ok) throw new Error(`refused: ${d.error.code}: ${d.error.message}`);
  return d.events;
};

/** A LogScenario with team commands, acting as the org admin of ws-1 unless told. */
class TeamLog extends LogScenario {
  private teamSeq = 0;

  team(name: string, members: string[] = [], ws = WS, by = ADMIN): string {
    const teamId = `team-${++this.teamSeq}`;
    must(this.log.teams({ type: 'CreateTeam', workspaceId: ws, actorId: by, now: this.log.now, teamId, name }));
    for (const userId of members) this.add(teamId, userId, ws, by);
    return teamId;
  }

  add(teamId: string, userId: string, ws = WS, by = ADMIN): this {
    must(this.log.teams({ type: 'AddTeamMember', workspaceId: ws, actorId: by, now: this.log.now, teamId, userId }));
    return this;
  }

  command(command: Parameters<LogScenario['log']['teams']>[0]): this {
    must(this.log.teams(command));
    return this;
  }
}

const at = (s: LogScenario, workspaceId = WS, actorId = ADMIN) => ({ workspaceId, actorId, now: s.log.now });
/** ws-1 linked with `partner`, a workspace of org-2 (sharing needs a partner: docs/adr/0040) */
function withPartner<S extends LogScenario>(s: S, partner = 'ws-b'): S {
  s.log.createOrganization('org-2', { userId: 'admin-2', email: 'ada@other.test', displayName: 'Other Admin' });
  s.log.createWorkspace('org-2', partner, 'admin-2');
  must(s.log.network('NetworkWorkspaces', WS, partner));
  return s;
}
const build = (s: LogScenario, projection = teamsProjection) => new MemoryModel(projection).run(s.events);

describe('teams projection (rules 14-16)', () => {
  it('rule 14: a team with its name, member count and sharing; renamed, shared, deleted', async () => {
    const s = withPartner(new TeamLog().member('ann').member('bob'));
    const sales = s.team('Sales', ['ann', 'bob']);
    expect((await build(s)).get(TEAMS, sales)).toEqual({
      _id: sales,
      teamId: sales,
      workspaceId: WS,
      name: 'Sales',
      sortName: 'sales',
      memberCount: 2,
      shared: false,
      sharedWith: [],
      sharedWithEveryPartner: false,
      asSharedWith: {},
      createdAt: expect.any(String),
    });
    s.command({ type: 'RenameTeam', ...at(s), teamId: sales, name: 'Field Sales' }).command({ type: 'SetTeamSharing', ...at(s), teamId: sales, shared: true });
    s.command({ type: 'RemoveTeamMember', ...at(s), teamId: sales, userId: 'bob' });
    expect((await build(s)).get(TEAMS, sales)).toMatchObject({ name: 'Field Sales', sortName: 'field sales', memberCount: 1, shared: true, sharedWith: ['ws-b'] });
    // the team list's order folds case and accents (sort-key.ts)
    s.command({ type: 'RenameTeam', ...at(s), teamId: sales, name: 'Équipe Ventes' });
    expect((await build(s)).get(TEAMS, sales)).toMatchObject({ name: 'Équipe Ventes', sortName: 'equipe ventes' });
    s.command({ type: 'DeleteTeam', ...at(s), teamId: sales });
    const m = await build(s);
    expect(m.all(TEAMS)).toEqual([]);
    expect(m.all(TEAM_ROSTERS)).toEqual([]);
  });

  it('rule 16: a team no longer shared keeps what partners last saw of it; its later name and size are not shared (probe 52 F1)', async () => {
    const s = withPartner(new TeamLog().member('ann').member('bob'));
    const t = s.team('Escalations', ['ann']);
    s.command({ type: 'SetTeamSharing', ...at(s), teamId: t, shared: true });
    expect((await build(s)).get(TEAMS, t)).toMatchObject({ shared: true, asSharedWith: {} });
    s.command({ type: 'SetTeamSharing', ...at(s), teamId: t, shared: false });
    s.command({ type: 'RenameTeam', ...at(s), teamId: t, name: 'Acquisition review' }).add(t, 'bob');
    expect((await build(s)).get(TEAMS, t)).toMatchObject({ name: 'Acquisition review', memberCount: 2, shared: false, asSharedWith: { 'ws-b': { name: 'Escalations', memberCount: 1 } } });
    // shared again: live again
    s.command({ type: 'SetTeamSharing', ...at(s), teamId: t, shared: true });
    expect((await build(s)).get(TEAMS, t)).toMatchObject({ name: 'Acquisition review', memberCount: 2, shared: true, asSharedWith: {} });
  });

  it('rule 16: a team is shared per partner: each partner it reaches is listed, an unlink ends it with that partner, and a partner linked later is not offered it (docs/adr/0040)', async () => {
    const s = withPartner(new TeamLog(), 'ws-b');
    s.log.createWorkspace('org-2', 'ws-c', 'admin-2');
    must(s.log.network('NetworkWorkspaces', WS, 'ws-c'));
    const t = s.team('Escalations', []);
    s.command({ type: 'SetTeamSharing', ...at(s), teamId: t, shared: true, partnerWorkspaceId: 'ws-c' });
    expect((await build(s)).get(TEAMS, t)).toMatchObject({ shared: true, sharedWith: ['ws-c'] });
    s.command({ type: 'SetTeamSharing', ...at(s), teamId: t, shared: true });
    expect((await build(s)).get(TEAMS, t)).toMatchObject({ sharedWith: ['ws-c', 'ws-b'] });
    s.command({ type: 'SetTeamSharing', ...at(s), teamId: t, shared: false, partnerWorkspaceId: 'ws-b' });
    expect((await build(s)).get(TEAMS, t)).toMatchObject({ shared: true, sharedWith: ['ws-c'], asSharedWith: { 'ws-b': { name: 'Escalations', memberCount: 0 } } });
    // the unlinks end the sharing with ws-c and what ws-b last saw; linking again offers nothing
    must(s.log.network('UnnetworkWorkspaces', WS, 'ws-c'));
    must(s.log.network('UnnetworkWorkspaces', WS, 'ws-b'));
    must(s.log.network('NetworkWorkspaces', WS, 'ws-c'));
    expect((await build(s)).get(TEAMS, t)).toMatchObject({ shared: false, sharedWith: [], sharedWithEveryPartner: false, asSharedWith: {} });
  });

  it('rule 16: a team shared before session 62 (an event naming no partner) is offered to every partner, one linked later too, until its sharing is next changed', async () => {
    const s = withPartner(new TeamLog(), 'ws-b');
    const t = s.team('Escalations', []);
    s.log.givenTeamEvents(WS, [{ type: 'TeamShared', version: 1, data: { workspaceId: WS, teamId: t, sharedAt: s.log.now } }], ADMIN);
    expect((await build(s)).get(TEAMS, t)).toMatchObject({ shared: true, sharedWith: ['ws-b'], sharedWithEveryPartner: true });
    s.log.createWorkspace('org-2', 'ws-c', 'admin-2');
    must(s.log.network('NetworkWorkspaces', WS, 'ws-c'));
    expect((await build(s)).get(TEAMS, t)).toMatchObject({ sharedWith: ['ws-b', 'ws-c'], sharedWithEveryPartner: true });
    s.command({ type: 'SetTeamSharing', ...at(s), teamId: t, shared: false, partnerWorkspaceId: 'ws-b' });
    s.log.createWorkspace('org-2', 'ws-d', 'admin-2');
    must(s.log.network('NetworkWorkspaces', WS, 'ws-d'));
    expect((await build(s)).get(TEAMS, t)).toMatchObject({ shared: true, sharedWith: ['ws-c'], sharedWithEveryPartner: false });
  });

  it('rules 11 and 12: a revoked or deleted member leaves every team (documents and counts)', async () => {
    const s = new TeamLog().member('ann').member('bob').member('cy');
    const sales = s.team('Sales', ['ann', 'bob', 'cy']);
    const ops = s.team('Ops', ['ann', 'cy']);
    s.revoke('ann').deleteUser('cy');
    const m = await build(s);
    expect(m.all(TEAM_ROSTERS)).toEqual([
      { _id: sales, teamId: sales, workspaceId: WS, userIds: ['bob'] },
      { _id: ops, teamId: ops, workspaceId: WS, userIds: [] },
    ].sort((x, y) => (x._id < y._id ? -1 : 1)));
    expect([m.get(TEAMS, sales)?.memberCount, m.get(TEAMS, ops)?.memberCount]).toEqual([1, 0]);
  });

  it('rule 16: links on both sides; a choice of a partner team; unlinking forgets the choices', async () => {
    const s = new TeamLog(['ws-1', 'ws-2']);
    s.log.createOrganization('org-2', { userId: 'admin-2', email: 'ada@other.test', displayName: 'Other Admin' });
    s.log.createWorkspace('org-2', 'ws-b', 'admin-2');
    must(s.log.network('NetworkWorkspaces', WS, 'ws-b'));
    must(s.log.network('NetworkWorkspaces', 'ws-2', 'ws-b'));
    const experts = s.team('Experts', [], 'ws-b', 'admin-2');
    s.command({ type: 'SetTeamSharing', ...at(s, 'ws-b', 'admin-2'), teamId: experts, shared: true });
    s.command({ type: 'SetPartnerTeamVisibility', ...at(s), teamId: experts, visible: true });
    s.command({ type: 'SetPartnerTeamVisibility', ...at(s, 'ws-2'), teamId: experts, visible: true });
    let m = await build(s);
    expect(m.all(TEAM_LINKS).map((d) => d._id)).toEqual([`${WS}:ws-b`, 'ws-2:ws-b', `ws-b:${WS}`, 'ws-b:ws-2']);
    expect(m.get(TEAM_LINKS, `ws-b:${WS}`)).toEqual({ _id: `ws-b:${WS}`, workspaceId: 'ws-b', partnerWorkspaceId: WS, partnerOrganizationId: 'org-1', since: expect.any(String) });
    expect(m.all(TEAM_CHOICES)).toEqual([
      { _id: `${WS}:${experts}`, workspaceId: WS, teamId: experts, partnerWorkspaceId: 'ws-b' },
      { _id: `ws-2:${experts}`, workspaceId: 'ws-2', teamId: experts, partnerWorkspaceId: 'ws-b' },
    ]);
    must(s.log.network('UnnetworkWorkspaces', 'ws-b', WS));
    m = await build(s);
    expect(m.all(TEAM_LINKS).map((d) => d._id)).toEqual(['ws-2:ws-b', 'ws-b:ws-2']);
    expect(m.all(TEAM_CHOICES).map((d) => d._id)).toEqual([`ws-2:${experts}`]);
    s.command({ type: 'SetPartnerTeamVisibility', ...at(s, 'ws-2'), teamId: experts, visible: false });
    expect((await build(s)).all(TEAM_CHOICES)).toEqual([]);
  });
});

describe('members projection: the teams of a member (rule 14, `?team=`)', () => {
  it('adds and removes team ids; revoke, deletion and a deleted team take them away', async () => {
    const s = new TeamLog().member('ann').member('bob');
    const sales = s.team('Sales', ['ann', 'bob']);
    const ops = s.team('Ops', ['ann']);
    const teamIds = async (userId: string) => (await build(s, membersProjection)).get<MemberDoc>(MEMBERS, `${WS}:${userId}`)?.teamIds;
    expect(await teamIds('ann')).toEqual([sales, ops]);
    s.command({ type: 'DeleteTeam', ...at(s), teamId: sales });
    expect([await teamIds('ann'), await teamIds('bob')]).toEqual([[ops], []]);
    s.revoke('ann');
    expect(await teamIds('ann')).toEqual([]);
    // invited again: a member in no team
    s.member('ann');
    expect(await teamIds('ann')).toEqual([]);
  });
});

describe('permission history: team membership is access (rule 14, rule 17)', () => {
  it('records added to / removed from a team with the team name, the actor and the reason', async () => {
    const s = new TeamLog().member('ann', { roles: ['manager'] }).member('bob').member('cy').member('dee');
    const sales = s.team('Sales', ['bob', 'cy', 'dee'], WS, 'ann');
    s.command({ type: 'RenameTeam', ...at(s), teamId: sales, name: 'Deals' });
    s.command({ type: 'RemoveTeamMember', ...at(s, WS, 'ann'), teamId: sales, userId: 'bob' });
    s.revoke('cy').deleteUser('dee');
    const ops = s.team('Ops', ['ann']);
    s.command({ type: 'DeleteTeam', ...at(s), teamId: ops });
    const entries = (await build(s, permissionHistoryProjection))
      .all<HistoryEntryDoc>(PERMISSION_HISTORY)
      .filter((e) => e.change === 'added_to_team' || e.change === 'removed_from_team')
      .sort((a, b) => a.position - b.position)
      .map((e) => [e.change, e.userId, e.actorId, e.details, e.organizationId]);
    expect(entries).toEqual([
      ['added_to_team', 'bob', 'ann', { teamId: sales, teamName: 'Sales', reason: 'command' }, 'org-1'],
      ['added_to_team', 'cy', 'ann', { teamId: sales, teamName: 'Sales', reason: 'command' }, 'org-1'],
      ['added_to_team', 'dee', 'ann', { teamId: sales, teamName: 'Sales', reason: 'command' }, 'org-1'],
      ['removed_from_team', 'bob', 'ann', { teamId: sales, teamName: 'Deals', reason: 'command' }, 'org-1'],
      ['removed_from_team', 'cy', ADMIN, { teamId: sales, teamName: 'Deals', reason: 'revoke' }, 'org-1'],
      ['removed_from_team', 'dee', ADMIN, { teamId: sales, teamName: 'Deals', reason: 'deletion' }, 'org-1'],
      ['added_to_team', 'ann', ADMIN, { teamId: ops, teamName: 'Ops', reason: 'command' }, 'org-1'],
      ['removed_from_team', 'ann', ADMIN, { teamId: ops, teamName: 'Ops', reason: 'team_deleted' }, 'org-1'],
    ]);
  });
});

describe("permission history: the workspace's own changes besides access (rule 17; probe 69 F6)", () => {
  it('records teams created, renamed, shared and deleted, partner links on both sides, a partner team shown or hidden, and a plan change — naming no member', async () => {
    const s = new TeamLog(['ws-1']);
    s.log.createOrganization('org-2', { userId: 'admin-2', email: 'ada@other.test', displayName: 'Other Admin' });
    s.log.createWorkspace('org-2', 'ws-b', 'admin-2');
    must(s.log.network('NetworkWorkspaces', WS, 'ws-b'));
    const sales = s.team('Sales');
    s.command({ type: 'RenameTeam', ...at(s), teamId: sales, name: 'Deals' });
    s.command({ type: 'SetTeamSharing', ...at(s), teamId: sales, shared: true });
    s.command({ type: 'SetTeamSharing', ...at(s), teamId: sales, shared: false });
    const experts = s.team('Experts', [], 'ws-b', 'admin-2');
    s.command({ type: 'SetTeamSharing', ...at(s, 'ws-b', 'admin-2'), teamId: experts, shared: true });
    s.command({ type: 'SetPartnerTeamVisibility', ...at(s), teamId: experts, visible: true });
    s.command({ type: 'SetPartnerTeamVisibility', ...at(s), teamId: experts, visible: false });
    s.command({ type: 'DeleteTeam', ...at(s), teamId: sales });
    must(s.log.plan(WS, 'enterprise'));
    must(s.log.network('UnnetworkWorkspaces', 'ws-b', WS));
    const m = await build(s, permissionHistoryProjection);
    const of = (ws: string) =>
      m
        .all<HistoryEntryDoc>(PERMISSION_HISTORY)
        .filter((e) => e.workspaceId === ws && e.userId === null && e.invitationId === null)
        .sort((a, b) => a.position - b.position)
        .map((e) => [e.change, e.details]);
    expect(of(WS)).toEqual([
      ['partner_linked', { partnerWorkspaceId: 'ws-b', partnerOrganizationId: 'org-2' }],
      ['team_created', { teamId: sales, teamName: 'Sales' }],
      ['team_renamed', { teamId: sales, teamName: 'Deals', previousName: 'Sales' }],
      ['team_shared', { teamId: sales, teamName: 'Deals', partnerWorkspaceIds: ['ws-b'] }],
      ['team_unshared', { teamId: sales, teamName: 'Deals', partnerWorkspaceIds: ['ws-b'] }],
      // (the team's name as the choice saw it: probe 91 F4)
      ['partner_team_shown', { teamId: experts, teamName: 'Experts', partnerWorkspaceId: 'ws-b' }],
      ['partner_team_hidden', { teamId: experts, teamName: 'Experts', partnerWorkspaceId: 'ws-b' }],
      ['team_deleted', { teamId: sales, teamName: 'Deals' }],
      ['plan_changed', { before: 'advanced', plan: 'enterprise' }],
      ['partner_unlinked', { partnerWorkspaceId: 'ws-b', partnerOrganizationId: 'org-2' }],
    ]);
    // the partner's side: its own link, its own team; none of the viewer's choices
    expect(of('ws-b')).toEqual([
      ['partner_linked', { partnerWorkspaceId: WS, partnerOrganizationId: 'org-1' }],
      ['team_created', { teamId: experts, teamName: 'Experts' }],
      ['team_shared', { teamId: experts, teamName: 'Experts', partnerWorkspaceIds: [WS] }],
      ['partner_unlinked', { partnerWorkspaceId: WS, partnerOrganizationId: 'org-1' }],
    ]);
    // who did it: the workspace's admin for its teams and choices, the system for the link and the plan
    const actors = m.all<HistoryEntryDoc>(PERMISSION_HISTORY).filter((e) => e.workspaceId === WS && e.change.startsWith('team_')).map((e) => e.actorId);
    expect(new Set(actors)).toEqual(new Set([ADMIN]));
  });
});
