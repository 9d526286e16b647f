import type { Decision, DomainEvent, TeamCommand } from '@rollcall/domain';
import { PROJECTIONS } from '../projections';
import { rebuild } from '../projector/rebuild';
import { TempStores } from '../projector/testing/temp-stores';
import { ADMIN, LogScenario, WS } from '../projections/testing/scenario';
import type { SqliteReadStore } from '../store';
import { listMembers } from './members';
import { listOfferedTeams, listTeamInvitees, listTeams, pageTeamInvitees, pageTeams } from './teams';

const silent = { info: () => undefined, error: () => undefined };
const must = (d: Decision<DomainEvent>) => {
  if (!d.ok) throw new Error(`refused: ${d.error.code}: ${d.error.message}`);
};

describe('team queries (rules 14-16) over the embedded read store', () => {
  let stores: TempStores;
  let s: LogScenario;
  const ids: Record<string, string> = {};
  let seq = 0;
  const run = (command: TeamCommand) => must(s.log.teams(command));
  const team = (name: string, members: string[], ws = WS, actorId = ADMIN) => {
    const teamId = `t${++seq}`;
    run({ type: 'CreateTeam', workspaceId: ws, actorId, now: s.log.now, teamId, name });
    for (const userId of members) run({ type: 'AddTeamMember', workspaceId: ws, actorId, now: s.log.now, teamId, userId });
    return teamId;
  };
  const at = (workspaceId: string, actorId: string) => ({ workspaceId, actorId, now: s.log.now });

  async function readModels(): Promise<SqliteReadStore> {
    await stores.append(s.log.takeAppends());
    const read = stores.readStore(`read-${++seq}`);
    await rebuild(stores.events, read, PROJECTIONS, { logger: silent });
    return read;
  }

  beforeAll(() => {
    stores = new TempStores();
    s = new LogScenario();
    s.member('zoe', {}, WS, 'Zoe Zed').member('amy', { roles: ['manager'] }, WS, 'amy adams').member('gone', {}, WS, 'Gone');
    s.profile('zoe', { alias: 'zz', avatarUrl: 'https://img.test/zoe.png' });
    s.log.createOrganization('org-b', { userId: 'admin-b', email: 'admin@b.test', displayName: 'Bea Admin' });
    s.log.createWorkspace('org-b', 'ws-b', 'admin-b');
    must(s.log.workspace({ type: 'InviteMember', workspaceId: 'ws-b', actorId: 'admin-b', now: s.log.now, invitationId: 'inv-b', email: 'bo@b.test', ttlSeconds: 3600 }));
    must(s.log.accept('ws-b', 'inv-b', 'bo', 'Bo Partner'));
    ids.support = team('support', ['zoe', 'amy', 'gone']);
    ids.billing = team('Billing', []);
    ids.experts = team('Experts', ['bo', 'admin-b'], 'ws-b', 'admin-b');
    ids.hidden = team('Hidden', ['bo'], 'ws-b', 'admin-b');
    ids.unchosen = team('Unchosen', [], 'ws-b', 'admin-b');
    s.revoke('gone');
    must(s.log.network('NetworkWorkspaces', WS, 'ws-b'));
    for (const teamId of [ids.experts!, ids.unchosen!]) run({ type: 'SetTeamSharing', ...at('ws-b', 'admin-b'), teamId, shared: true });
    run({ type: 'SetPartnerTeamVisibility', ...at(WS, ADMIN), teamId: ids.experts!, visible: true });
  });
  afterAll(() => stores.close());

  it('rule 15: the team list in pages: own teams `limit` at a time by name, the visible partner teams on the last page; another workspace\'s cursor is refused (probe 59)', async () => {
    const read = await readModels();
    const first = await pageTeams(read, WS, { limit: 1 });
    expect(first.items.map((t) => t.name)).toEqual(['Billing']);
    const last = await pageTeams(read, WS, { limit: 1, cursor: first.nextCursor });
    expect([last.items.map((t) => [t.name, t.partner?.workspaceId]), last.nextCursor]).toEqual([[['support', undefined], ['Experts', 'ws-b']], undefined]);
    expect((await pageTeams(read, WS, { limit: 2 })).items.map((t) => t.name)).toEqual(['Billing', 'support', 'Experts']);
    const other = await pageTeams(read, 'ws-b', { limit: 1 });
    await expect(pageTeams(read, WS, { limit: 1, cursor: other.nextCursor })).rejects.toMatchObject({ field: 'cursor' });
  });

  it('rule 15: the team list has own teams by name (member count, shared) then the visible partner teams, marked', async () => {
    const read = await readModels();
    expect(await listTeams(read, WS)).toEqual([
      { teamId: ids.billing, name: 'Billing', memberCount: 0, shared: false, sharedWith: [] },
      { teamId: ids.support, name: 'support', memberCount: 2, shared: false, sharedWith: [] },
      { teamId: ids.experts, name: 'Experts', memberCount: 2, shared: true, partner: { workspaceId: 'ws-b', workspaceName: 'Workspace ws-b' } },
    ]);
    // the partner's own list: its teams, nothing of ws-1's (ws-1 shares nothing and chose for itself)
    expect((await listTeams(read, 'ws-b')).map((t) => [t.name, t.partner])).toEqual([
      ['Experts', undefined],
      ['Hidden', undefined],
      ['Unchosen', undefined],
    ]);
  });

  it('rule 16: offered partner teams are the shared ones (and the chosen ones unshared since), with the choice', async () => {
    const read = await readModels();
    expect(await listOfferedTeams(read, WS)).toEqual([
      { teamId: ids.experts, name: 'Experts', memberCount: 2, visible: true, shared: true, partner: { workspaceId: 'ws-b', workspaceName: 'Workspace ws-b' } },
      { teamId: ids.unchosen, name: 'Unchosen', memberCount: 0, visible: false, shared: true, partner: { workspaceId: 'ws-b', workspaceName: 'Workspace ws-b' } },
    ]);
  });

  it('rule 16: a team shared with another partner only is not offered; the owner lists whom it shares with, a partner never (docs/adr/0040)', async () => {
    s.log.createWorkspace('org-b', 'ws-c', 'admin-b');
    must(s.log.network('NetworkWorkspaces', 'ws-b', 'ws-c'));
    run({ type: 'SetTeamSharing', ...at('ws-b', 'admin-b'), teamId: ids.hidden!, shared: true, partnerWorkspaceId: 'ws-c' });
    const read = await readModels();
    expect((await listOfferedTeams(read, WS)).map((t) => t.name)).toEqual(['Experts', 'Unchosen']);
    expect((await listOfferedTeams(read, 'ws-c')).map((t) => [t.name, t.shared])).toEqual([['Hidden', true]]);
    const named = (id: string) => [{ workspaceId: id, workspaceName: `Workspace ${id}` }];
    expect((await listTeams(read, 'ws-b')).map((t) => [t.name, t.sharedWith])).toEqual([['Experts', named(WS)], ['Hidden', named('ws-c')], ['Unchosen', named(WS)]]);
    expect((await listTeams(read, WS)).find((t) => t.partner !== undefined)).toEqual({
      teamId: ids.experts, name: 'Experts', memberCount: 2, shared: true, partner: { workspaceId: 'ws-b', workspaceName: 'Workspace ws-b' },
    });
    must(s.log.network('UnnetworkWorkspaces', 'ws-b', 'ws-c'));
  });

  it('rule 15: the invite lookup gives active members with name, alias, avatar and presence only, by name', async () => {
    const read = await readModels();
    const support = { teamId: ids.support!, workspaceId: WS };
    expect(await listTeamInvitees(read, support)).toEqual([
      { userId: 'amy', displayName: 'amy adams', alias: null, avatarUrl: null, presence: 'offline', lastSeenAt: null },
      { userId: 'zoe', displayName: 'Zoe Zed', alias: 'zz', avatarUrl: 'https://img.test/zoe.png', presence: 'offline', lastSeenAt: null },
    ]);
    // a partner team's members: the same fields, never an email or roles
    const experts = await listTeamInvitees(read, { teamId: ids.experts!, workspaceId: 'ws-b' });
    expect(experts.map((i) => i.displayName)).toEqual(['Bea Admin', 'Bo Partner']);
    for (const invitee of experts) expect(Object.keys(invitee).sort()).toEqual(['alias', 'avatarUrl', 'displayName', 'lastSeenAt', 'presence', 'userId']);
  });

  it('rule 14: the user list filters by team, and members carry their teams', async () => {
    const read = await readModels();
    const page = await listMembers(read, WS, { team: ids.support });
    expect(page.items.map((m) => m.userId).sort()).toEqual(['amy', 'zoe']);
    expect(page.items.every((m) => m.teamIds.includes(ids.support!))).toBe(true);
    expect((await listMembers(read, WS, { team: ids.billing })).items).toEqual([]);
  });

  it('rule 16: unsharing or unlinking takes the partner team out of the list at once (as soon as projected)', async () => {
    run({ type: 'SetTeamSharing', ...at('ws-b', 'admin-b'), teamId: ids.experts!, shared: false });
    expect((await listTeams(await readModels(), WS)).map((t) => t.name)).toEqual(['Billing', 'support']);
    run({ type: 'SetTeamSharing', ...at('ws-b', 'admin-b'), teamId: ids.experts!, shared: true });
    expect((await listTeams(await readModels(), WS)).map((t) => t.name)).toEqual(['Billing', 'support', 'Experts']);
    must(s.log.network('UnnetworkWorkspaces', 'ws-b', WS));
    const read = await readModels();
    expect((await listTeams(read, WS)).map((t) => t.name)).toEqual(['Billing', 'support']);
    expect(await listOfferedTeams(read, WS)).toEqual([]);
  });
});

describe('team lists by name', () => {
  it('the invite lookup and the partner teams fold case and accents, as the user list does (ADR 0015)', async () => {
    const stores = new TempStores();
    try {
      const s = new LogScenario();
      for (const [id, name] of [['z', 'Zoë'], ['e', 'Émile'], ['a', 'ärger'], ['b', 'Bob']] as const) s.member(id, {}, WS, name);
      s.log.createOrganization('org-b', { userId: 'admin-b', email: 'admin@b.test', displayName: 'Bea Admin' });
      s.log.createWorkspace('org-b', 'ws-b', 'admin-b');
      const teams = (ws: string, actorId: string, names: string[]) =>
        names.map((name, i) => {
          const teamId = `${ws}-t${i}`;
          must(s.log.teams({ type: 'CreateTeam', workspaceId: ws, actorId, now: s.log.now, teamId, name }));
          return teamId;
        });
      const [all] = teams(WS, ADMIN, ['All']);
      for (const userId of ['z', 'e', 'a', 'b']) must(s.log.teams({ type: 'AddTeamMember', workspaceId: WS, actorId: ADMIN, now: s.log.now, teamId: all!, userId }));
      const partnerTeams = teams('ws-b', 'admin-b', ['Zeta', 'Équipe', 'alpha']);
      must(s.log.network('NetworkWorkspaces', WS, 'ws-b'));
      for (const teamId of partnerTeams) must(s.log.teams({ type: 'SetTeamSharing', workspaceId: 'ws-b', actorId: 'admin-b', now: s.log.now, teamId, shared: true }));
      await stores.append(s.log.takeAppends());
      const read = stores.readStore();
      await rebuild(stores.events, read, PROJECTIONS, { logger: silent });
      expect((await listTeamInvitees(read, { teamId: all!, workspaceId: WS })).map((i) => i.displayName)).toEqual(['ärger', 'Bob', 'Émile', 'Zoë']);
      expect((await listOfferedTeams(read, WS)).map((t) => t.name)).toEqual(['alpha', 'Équipe', 'Zeta']);

      // probe 42 F5: in pages, the same invitees in the same order, a cursor after each page but the last
      const team = { teamId: all!, workspaceId: WS };
      const whole = await listTeamInvitees(read, team);
      for (const limit of [1, 3, 4, 10]) {
        const pages = [];
        let cursor: string | undefined;
        do {
          const page = await pageTeamInvitees(read, team, { limit, ...(cursor !== undefined && { cursor }) });
          expect(page.items.length).toBeLessThanOrEqual(limit);
          pages.push(...page.items);
          cursor = page.nextCursor;
        } while (cursor !== undefined);
        expect(pages).toEqual(whole);
      }
      // only the members the decision state names; a cursor of another list or made up is refused, naming it
      expect((await pageTeamInvitees(read, team, { limit: 10, only: new Set(['e', 'z']) })).items.map((i) => i.displayName)).toEqual(['Émile', 'Zoë']);
      for (const cursor of ['garbage', Buffer.from('[1,2]').toString('base64url'), Buffer.from('{"after":"x"}').toString('base64url')])
        await expect(pageTeamInvitees(read, team, { limit: 2, cursor })).rejects.toMatchObject({ name: 'InvalidQueryError', field: 'cursor' });
      // probe 50 F4: another team's cursor is refused; one made before cursors named their team (session 48) is taken
      const { nextCursor } = await pageTeamInvitees(read, team, { limit: 1 });
      await expect(pageTeamInvitees(read, { ...team, teamId: 'team-other' }, { limit: 2, cursor: nextCursor })).rejects.toMatchObject({ field: 'cursor' });
      const [sortKey, userId] = JSON.parse(Buffer.from(nextCursor!, 'base64url').toString()) as string[];
      const legacy = Buffer.from(JSON.stringify([sortKey, userId])).toString('base64url');
      expect(await pageTeamInvitees(read, team, { limit: 2, cursor: legacy })).toEqual(await pageTeamInvitees(read, team, { limit: 2, cursor: nextCursor }));
    } finally {
      await stores.close();
    }
  });
});
