import { type AccessModelName, LEVELS, PERMISSIONS, STUDIO } from '../access-model';
import { expectError, expectEvents } from '../testing/fixture';
import { decideWorkspace } from '../workspace/decider';
import { activeMember, evolveWorkspace } from '../workspace/state';
import type { TeamCommand } from './decider';
import { TEAM_NAME_MAX, checkTeamName, teamPermission } from './decider';
import { teamsOf } from './state';
import { World } from './testing/world';

const WS = 'ws-1';
const ADMIN = World.admin('org-1');
const at = (w: World, actorId = ADMIN) => ({ workspaceId: WS, actorId, now: w.now });
const create = (w: World, name: string, actorId = ADMIN, teamId = 'new-team') => w.teams({ type: 'CreateTeam', ...at(w, actorId), teamId, name });
const inTeams = (w: World, userId: string) => teamsOf(w.state(WS).teams, userId).map((t) => t.name).sort();

/** Who may manage teams, per preset (rule 14): [label, allowed, access of the acting member]. */
const AUTHORITY: Record<AccessModelName, [string, boolean, { roles?: string[]; restrictions?: Record<string, true>; grants?: string[] }][]> = {
  levels: [
    ['an owner', true, { roles: ['owner'] }],
    ['a manager', true, { roles: ['manager'] }],
    ['a manager restricted by workspace_settings', false, { roles: ['manager'], restrictions: { workspace_settings: true } }],
    ['a manager restricted by data_export only', true, { roles: ['manager'], restrictions: { data_export: true } }],
    ['an agent', false, { roles: ['agent'] }],
  ],
  permissions: [
    ['a member granted users', true, { grants: ['users'] }],
    ['a member granted settings only', false, { grants: ['settings'] }],
    ['a member with no grants', false, {}],
  ],
  studio: [
    ['an environment_manager', true, { roles: ['environment_manager'] }],
    ['a producer', false, { roles: ['producer'] }],
    ['an operator', false, { roles: ['operator'] }],
  ],
};

describe('rule 14: teams are created, renamed and deleted by those who manage teams', () => {
  it('creates a team with a trimmed name', () => {
    const w = new World();
    const [created] = expectEvents(create(w, '  Night shift  '), ['TeamCreated']);
    expect(created!.data).toEqual({ workspaceId: WS, teamId: 'new-team', name: 'Night shift', createdAt: w.now });
    expect(created!.version).toBe(1);
  });

  it('names are 1 to 80 characters after trimming, on one line, without direction overrides', () => {
    const w = new World();
    for (const bad of ['', '   ', 'x'.repeat(TEAM_NAME_MAX + 1), 'two\nlines', 'tab\there', 'evil\u202eeman', '\u200d', '\ufe0f', 'Sales\u200bEU', 42, null]) {
      const d = create(w, bad as string);
      expectError(d, 'VALIDATION_FAILED');
      expect(!d.ok && d.error.fields).toEqual([{ field: 'name', message: expect.any(String) }]);
    }
    expectEvents(create(w, 'x'.repeat(TEAM_NAME_MAX)), ['TeamCreated']);
    // characters, not UTF-16 units: 80 emoji are 80 characters
    expectEvents(create(w, '🚀'.repeat(TEAM_NAME_MAX)), ['TeamCreated']);
    expect(checkTeamName('Cafe\u0301')).toEqual({ name: 'Café' });
  });

  it('names are unique in a workspace ignoring case: TEAM_NAME_TAKEN', () => {
    const w = new World();
    w.team(WS, 'Sales');
    expectError(create(w, 'sales'), 'TEAM_NAME_TAKEN');
    expectError(create(w, '  SALES '), 'TEAM_NAME_TAKEN');
    // another workspace may use the name
    w.workspace('org-1', 'ws-2');
    expect(w.teams({ type: 'CreateTeam', workspaceId: 'ws-2', actorId: ADMIN, now: w.now, teamId: 't', name: 'Sales' }).ok).toBe(true);
  });

  it('rule 14: names ignore case as addresses do, by Unicode case folding, not lower-casing alone (probe 34 F5)', () => {
    const pairs: [string, string][] = [
      ['Straße', 'STRASSE'],
      ['Οδυσσευσ', 'οδυσσευς'],
      ['ſam', 'sam'],
      ['ﬁle team', 'FILE team'],
      ['Café', 'CAFE\u0301'],
      // names that read alike (probe 73 F3): width, compatibility forms, spaces, tatweel, the Turkish İ
      ['サポート', 'ｻﾎﾟｰﾄ'],
      ['Sales EU', 'ＳＡＬＥＳ ＥＵ'],
      ['Team 1', 'Team １'],
      ['Sales EU', 'Sales\u00a0EU'],
      ['Sales EU', 'Sales\u3000EU'],
      ['Sales EU', 'Sales  EU'],
      ['Tier IV', 'Tier Ⅳ'],
      ['سالم', 'سـالم'],
      ['İstanbul', 'istanbul'],
    ];
    for (const [first, second] of pairs) {
      const w = new World();
      w.team(WS, first);
      const d = create(w, second);
      expect({ first, second, code: !d.ok && d.error.code }).toEqual({ first, second, code: 'TEAM_NAME_TAKEN' });
    }
    // the dotless ı stays apart from i, as folding keeps it
    const w = new World();
    w.team(WS, 'Bıg');
    expectEvents(create(w, 'Big'), ['TeamCreated']);
  });

  it('rule 14: renaming a team to its own name is no change, also a name stored before a rule that refuses it now (probe 74 F4)', () => {
    const w = new World();
    const zalgo = `Zalgo${'\u0336'.repeat(10)}`;
    // created before names were limited to six marks on a letter, folded in as the log holds it
    evolveWorkspace(w.state(WS), { type: 'TeamCreated', version: 1, data: { workspaceId: WS, teamId: 'old', name: zalgo, createdAt: w.now } });
    expectEvents(w.teams({ type: 'RenameTeam', ...at(w), teamId: 'old', name: ` ${zalgo} ` }), []);
    expectError(w.teams({ type: 'RenameTeam', ...at(w), teamId: 'old', name: `${zalgo}!` }), 'VALIDATION_FAILED');
  });

  it('rule 14: of two teams whose names fold alike from before, either may respell its own name (probe 74 F5)', () => {
    const w = new World();
    const earlier = w.team(WS, 'Istanbul');
    evolveWorkspace(w.state(WS), { type: 'TeamCreated', version: 1, data: { workspaceId: WS, teamId: 'later', name: 'ISTANBUL', createdAt: w.now } });
    expectEvents(w.teams({ type: 'RenameTeam', ...at(w), teamId: earlier, name: 'istanbul' }), ['TeamRenamed']);
    expectEvents(w.teams({ type: 'RenameTeam', ...at(w), teamId: 'later', name: 'IsTanbul' }), ['TeamRenamed']);
    // another team still may not take it
    const other = w.team(WS, 'Ankara');
    expectError(w.teams({ type: 'RenameTeam', ...at(w), teamId: other, name: 'istanbul' }), 'TEAM_NAME_TAKEN');
  });

  it('rule 14: TEAM_NAME_TAKEN quotes the name as the team list shows it, not as sent (probe 73 F3)', () => {
    const w = new World();
    w.team(WS, 'Straße');
    const d = create(w, 'STRASSE');
    expect(!d.ok && d.error.message).toBe('A team named "Straße" already exists in this workspace (names ignore case, width and spacing).');
  });

  it('rule 14: two teams whose names fold alike from before keep the name taken while either has it, renamed or deleted', () => {
    for (const end of ['renamed', 'deleted'] as const)
      for (const which of ['earlier', 'later'] as const) {
        const w = new World();
        const earlier = w.team(WS, 'Straße');
        // created before names were case-folded (lower-casing kept "straße" and "strasse" apart), folded in as the log holds it
        evolveWorkspace(w.state(WS), { type: 'TeamCreated', version: 1, data: { workspaceId: WS, teamId: 'later', name: 'STRASSE', createdAt: w.now } });
        const leave = (teamId: string) =>
          end === 'renamed' ? w.givenTeams({ type: 'RenameTeam', ...at(w), teamId, name: `Elsewhere ${teamId}` }) : w.givenTeams({ type: 'DeleteTeam', ...at(w), teamId });
        leave(which === 'earlier' ? earlier : 'later');
        const d = create(w, 'strasse');
        expect({ end, which, code: !d.ok && d.error.code }).toEqual({ end, which, code: 'TEAM_NAME_TAKEN' });
        // the other one left too: the name is free
        leave(which === 'earlier' ? 'later' : earlier);
        expectEvents(create(w, 'strasse'), ['TeamCreated']);
      }
  });

  it('an existing team id is TEAM_EXISTS', () => {
    const w = new World();
    const teamId = w.team(WS, 'Sales');
    expectError(create(w, 'Other', ADMIN, teamId), 'TEAM_EXISTS');
  });

  it('renames a team, to a free name or to its own in another case; an unchanged name changes nothing', () => {
    const w = new World();
    const sales = w.team(WS, 'Sales');
    w.team(WS, 'Support');
    const rename = (name: string, teamId = sales) => w.teams({ type: 'RenameTeam', ...at(w), teamId, name });
    const [renamed] = expectEvents(rename(' Field sales '), ['TeamRenamed']);
    expect(renamed!.data).toEqual({ workspaceId: WS, teamId: sales, before: 'Sales', name: 'Field sales', renamedAt: w.now });
    expectEvents(rename('SALES'), ['TeamRenamed']);
    expectEvents(rename('Sales'), []);
    expectError(rename('support'), 'TEAM_NAME_TAKEN');
    expectError(rename(''), 'VALIDATION_FAILED');
    expectError(rename('X', 'no-such-team'), 'TEAM_NOT_FOUND');
  });

  it('a renamed team frees its old name and takes the new one', () => {
    const w = new World();
    const sales = w.team(WS, 'Sales');
    w.givenTeams({ type: 'RenameTeam', ...at(w), teamId: sales, name: 'Deals' });
    expectEvents(create(w, 'sales'), ['TeamCreated']);
    expectError(create(w, 'DEALS'), 'TEAM_NAME_TAKEN');
  });

  it('deleting a team takes its members out of it first (reason team_deleted), then frees its name', () => {
    const w = new World().member(WS, 'ann').member(WS, 'bob');
    const sales = w.team(WS, 'Sales', ['ann', 'bob']);
    const d = w.teams({ type: 'DeleteTeam', ...at(w), teamId: sales });
    const events = expectEvents(d, ['TeamMemberRemoved', 'TeamMemberRemoved', 'TeamDeleted']);
    expect(events.slice(0, 2).map((e) => [e.data.userId, e.data.reason])).toEqual([['ann', 'team_deleted'], ['bob', 'team_deleted']]);
    expect(events[2]!.data).toEqual({ workspaceId: WS, teamId: sales, name: 'Sales', deletedAt: w.now });
    w.givenTeams({ type: 'DeleteTeam', ...at(w), teamId: sales });
    expect(inTeams(w, 'ann')).toEqual([]);
    expectEvents(create(w, 'Sales'), ['TeamCreated']);
    expectError(w.teams({ type: 'DeleteTeam', ...at(w), teamId: sales }), 'TEAM_NOT_FOUND');
  });

  describe.each(Object.entries(AUTHORITY) as [AccessModelName, (typeof AUTHORITY)['levels']][])('preset %s', (model, cases) => {
    it.each(cases)('%s may manage teams: %s', (_, allowed, access) => {
      const w = new World('org-1', WS, model, 'advanced').member(WS, 'actor', access).member(WS, 'm');
      // a partner to share with (sharing needs one: docs/adr/0040)
      w.organization('org-p').workspace('org-p', 'ws-p').givenNetwork('NetworkWorkspaces', WS, 'ws-p');
      const teamId = w.team(WS, 'Existing', ['m']);
      const commands: TeamCommand[] = [
        { type: 'CreateTeam', ...at(w, 'actor'), teamId: 'x', name: 'New' },
        { type: 'RenameTeam', ...at(w, 'actor'), teamId, name: 'Renamed' },
        { type: 'AddTeamMember', ...at(w, 'actor'), teamId, userId: 'actor' },
        { type: 'RemoveTeamMember', ...at(w, 'actor'), teamId, userId: 'm' },
        { type: 'SetTeamSharing', ...at(w, 'actor'), teamId, shared: true },
        { type: 'DeleteTeam', ...at(w, 'actor'), teamId },
      ];
      for (const command of commands) {
        const d = w.teams(command);
        if (allowed) expect({ command: command.type, ok: d.ok }).toEqual({ command: command.type, ok: true });
        else expectError(d, 'INSUFFICIENT_AUTHORITY');
      }
    });

    it('the org admin always may (rule 5); someone who is not a member may not', () => {
      const w = new World('org-1', WS, model);
      expectEvents(create(w, 'Ops'), ['TeamCreated']);
      expectError(create(w, 'Ops', 'stranger'), 'INSUFFICIENT_AUTHORITY');
    });

    it('a revoked manager of teams may no longer manage them', () => {
      const manager = cases.find(([, allowed]) => allowed)![2];
      const w = new World('org-1', WS, model).member(WS, 'boss', manager).revoke(WS, 'boss');
      expectError(create(w, 'Ops', 'boss'), 'INSUFFICIENT_AUTHORITY');
    });
  });

  it('the permission comes from the catalog: settings.teams where the catalog has it, else the member-management one', () => {
    expect(teamPermission(LEVELS)).toBe('settings.teams');
    expect(teamPermission(PERMISSIONS)).toBe('users');
    expect(teamPermission(STUDIO)).toBe('users');
  });
});

describe('rule 14: only active members are in teams, and a member can be in several', () => {
  it('adds an active member; adding them again changes nothing', () => {
    const w = new World().member(WS, 'ann');
    const sales = w.team(WS, 'Sales');
    const add = () => w.teams({ type: 'AddTeamMember', ...at(w), teamId: sales, userId: 'ann' });
    const [added] = expectEvents(add(), ['TeamMemberAdded']);
    expect(added!.data).toEqual({ workspaceId: WS, teamId: sales, userId: 'ann', addedAt: w.now });
    w.givenTeams({ type: 'AddTeamMember', ...at(w), teamId: sales, userId: 'ann' });
    expectEvents(add(), []);
  });

  it('a member can be in several teams', () => {
    const w = new World().member(WS, 'ann');
    w.team(WS, 'Sales', ['ann']);
    w.team(WS, 'Support', ['ann']);
    w.team(WS, 'Night', ['ann']);
    expect(inTeams(w, 'ann')).toEqual(['Night', 'Sales', 'Support']);
  });

  it('the workspace owner (its creator) and org admins who are members can be in teams', () => {
    const w = new World();
    w.team(WS, 'Leads', [ADMIN]);
    expect(inTeams(w, ADMIN)).toEqual(['Leads']);
  });

  it('a pending invitee, a revoked member and a deleted user are MEMBER_NOT_ACTIVE; a stranger NOT_A_MEMBER; an unknown team TEAM_NOT_FOUND', () => {
    const w = new World().member(WS, 'gone').member(WS, 'del').member(WS, 'kept');
    // an org user invited to a second workspace is pending there
    w.workspace('org-1', 'ws-2');
    w.invited('ws-2', 'kept@org-1.test');
    w.revoke(WS, 'gone').givenDeleted('org-1', 'del');
    const sales = w.team(WS, 'Sales');
    const other = w.team('ws-2', 'Sales');
    const add = (userId: string, workspaceId = WS, teamId = sales) => w.teams({ type: 'AddTeamMember', ...at(w), workspaceId, teamId, userId });
    const why = (d: ReturnType<typeof add>) => (d.ok ? '' : d.error.message);
    expectError(add('kept', 'ws-2', other), 'MEMBER_NOT_ACTIVE');
    expect(why(add('kept', 'ws-2', other))).toMatch(/invited/);
    expectError(add('gone'), 'MEMBER_NOT_ACTIVE');
    expect(why(add('gone'))).toMatch(/revoked/);
    expectError(add('del'), 'MEMBER_NOT_ACTIVE');
    expect(why(add('del'))).toMatch(/deleted/);
    expectError(add('stranger'), 'NOT_A_MEMBER');
    expectError(add('kept', WS, 'no-such-team'), 'TEAM_NOT_FOUND');
    // a pending invitation's id (the user list shows it beside members): said, as every member command says it (probe 98 F6)
    const pending = w.invited(WS, 'new.person@org-1.test');
    expect(why(add(pending))).toMatch(new RegExp(`^${pending} is a pending invitation, not a member`));
  });
  it('a revoked member invited again is MEMBER_NOT_ACTIVE as invited and not accepted yet, the order NOT_A_MEMBER and INVALID_REASSIGNMENT say it in', () => {
    const w = new World().member(WS, 'gone');
    w.revoke(WS, 'gone');
    w.invited(WS, 'gone@org-1.test');
    const sales = w.team(WS, 'Sales');
    const added = w.teams({ type: 'AddTeamMember', ...at(w), workspaceId: WS, teamId: sales, userId: 'gone' });
    expectError(added, 'MEMBER_NOT_ACTIVE');
    expect(added.ok ? '' : added.error.message).toBe('User gone is invited but has not accepted yet; only active members can be in a team.');
  });
  it("a deleted user who was never a member of this workspace is no one here: NOT_A_MEMBER, not 'was deleted' (probe 98 F6)", () => {
    const w = new World();
    w.workspace('org-1', 'ws-2');
    w.member('ws-2', 'elsewhere').givenDeleted('org-1', 'elsewhere');
    const sales = w.team(WS, 'Sales');
    const added = w.teams({ type: 'AddTeamMember', ...at(w), workspaceId: WS, teamId: sales, userId: 'elsewhere' });
    expectError(added, 'NOT_A_MEMBER');
    expect(added.ok ? '' : added.error.message).toBe('User elsewhere is not a member of this workspace.');
  });

  it('removes a member (reason command); removing someone not in the team changes nothing', () => {
    const w = new World().member(WS, 'ann').member(WS, 'bob');
    const sales = w.team(WS, 'Sales', ['ann']);
    const remove = (userId: string) => w.teams({ type: 'RemoveTeamMember', ...at(w), teamId: sales, userId });
    const [removed] = expectEvents(remove('ann'), ['TeamMemberRemoved']);
    expect(removed!.data).toEqual({ workspaceId: WS, teamId: sales, userId: 'ann', reason: 'command', removedAt: w.now });
    expectEvents(remove('bob'), []);
    expectError(w.teams({ type: 'RemoveTeamMember', ...at(w), teamId: 'nope', userId: 'ann' }), 'TEAM_NOT_FOUND');
  });

  it('rule 14: removing an id the workspace and its organization never knew is NOT_A_MEMBER, as adding it is (probe 36 F4)', () => {
    const w = new World().member(WS, 'ann');
    const sales = w.team(WS, 'Sales', []);
    const remove = (userId: string) => w.teams({ type: 'RemoveTeamMember', ...at(w), teamId: sales, userId });
    expectError(remove('stranger'), 'NOT_A_MEMBER');
    expectError(remove('ANN'), 'NOT_A_MEMBER');
    expectEvents(remove('ann'), []);
  });
});

describe('rule 14 with rules 11 and 12: revoking or deleting a member takes them out of every team, in the same decision', () => {
  it.each(['levels', 'permissions', 'studio'] as AccessModelName[])('preset %s: revoke removes from every team first (reason revoke), then AccessRevoked', (model) => {
    const w = new World('org-1', WS, model).member(WS, 'ann').member(WS, 'bob');
    const sales = w.team(WS, 'Sales', ['ann', 'bob']);
    const support = w.team(WS, 'Support', ['ann']);
    w.team(WS, 'Empty');
    const decided = expectEvents(decideWorkspace({ type: 'RevokeAccess', ...at(w), userId: 'ann' }, w.ctx(WS)), [
      'TeamMemberRemoved',
      'TeamMemberRemoved',
      'AccessRevoked',
    ]);
    expect(decided.slice(0, 2).map((e) => [e.data.teamId, e.data.userId, e.data.reason])).toEqual([
      [sales, 'ann', 'revoke'],
      [support, 'ann', 'revoke'],
    ]);
    w.revoke(WS, 'ann');
    expect(inTeams(w, 'ann')).toEqual([]);
    expect(inTeams(w, 'bob')).toEqual(['Sales']);
  });

  it('a member revoked and invited again is active in no team until added again', () => {
    const w = new World().member(WS, 'ann');
    const sales = w.team(WS, 'Sales', ['ann']);
    w.revoke(WS, 'ann');
    w.accepted(WS, w.invited(WS, 'ann@org-1.test'), 'ann');
    expect(activeMember(w.ctx(WS), 'ann')).toBeDefined();
    expect(inTeams(w, 'ann')).toEqual([]);
    expectEvents(w.teams({ type: 'AddTeamMember', ...at(w), teamId: sales, userId: 'ann' }), ['TeamMemberAdded']);
  });

  it('deleting a user removes them from every team of every workspace (reason deletion), before leaving each workspace', () => {
    const w = new World().member(WS, 'ann').workspace('org-1', 'ws-2');
    w.accepted('ws-2', w.invited('ws-2', 'ann@org-1.test'), 'ann');
    w.team(WS, 'Sales', ['ann']);
    w.team('ws-2', 'Ops', ['ann']);
    const d = w.deleteUser('org-1', 'ann');
    expect(d.ok && d.events.map((e) => `${e.type}${'workspaceId' in e.data ? `@${e.data.workspaceId}` : ''}`)).toEqual([
      'TeamMemberRemoved@ws-1',
      'UserDeletedFromWorkspace@ws-1',
      'TeamMemberRemoved@ws-2',
      'UserDeletedFromWorkspace@ws-2',
      'UserDeleted',
    ]);
    expect(d.ok && d.events.filter((e) => e.type === 'TeamMemberRemoved').map((e) => e.data.reason)).toEqual(['deletion', 'deletion']);
    w.givenDeleted('org-1', 'ann');
    expect(inTeams(w, 'ann')).toEqual([]);
    expect(teamsOf(w.state('ws-2').teams, 'ann')).toEqual([]);
  });
});
