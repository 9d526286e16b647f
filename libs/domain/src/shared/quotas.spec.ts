import { decideOrganization } from '../organization/decider';
import { World } from '../teams/testing/world';
import { ADMIN, ORG, Scenario, expectError, expectEvents } from '../testing/fixture';
import { DEFAULT_QUOTAS } from './quotas';
import { SYSTEM_ACTOR } from './events';

/** docs/rules.md "Quotas" (docs/adr/0030): what a tenant creates at will is bounded, each bound the operator's to raise. */
describe('quotas: workspaces per organization, teams per workspace, API keys per organization', () => {
  it('quotas: an organization at its workspace quota is refused another (QUOTA_EXCEEDED, nothing appended); a higher quota takes it', () => {
    const s = new Scenario(); // one workspace already (WS)
    const create = (workspaceId: string, maxWorkspaces?: number) =>
      decideOrganization({ type: 'CreateWorkspace', organizationId: ORG, actorId: ADMIN, now: s.now, workspaceId, name: workspaceId, maxWorkspaces }, s.org);
    s.givenOrg({ type: 'CreateWorkspace', organizationId: ORG, actorId: ADMIN, now: s.now, workspaceId: 'ws-2', name: 'Sales', maxWorkspaces: 2 });
    const refused = expectError(create('ws-3', 2), 'QUOTA_EXCEEDED');
    // which quota, as fields beside the sentence (probe 80 F15: one code for three quotas, a sentence only)
    expect(refused.facts).toEqual({ quota: { name: 'workspacesPerOrganization', used: 2, limit: 2 } });
    expect(refused.message).toBe("This organization has 2 workspaces, and this service allows at most 2; ask the service's operator to raise the limit.");
    // a quota lowered below what the organization holds: the sentence says what it holds (probe 63 F4)
    expect(expectError(create('ws-3', 1), 'QUOTA_EXCEEDED').message).toBe("This organization has 2 workspaces, and this service allows at most 1; ask the service's operator to raise the limit.");
    expectEvents(create('ws-3', 3), ['WorkspaceCreated']);
    // who may not create workspaces hears that first: the quota tells nothing to those the organization does not admit
    expectError(decideOrganization({ type: 'CreateWorkspace', organizationId: ORG, actorId: 'stranger', now: s.now, workspaceId: 'ws-3', name: 'x', maxWorkspaces: 2 }, s.org), 'INSUFFICIENT_AUTHORITY');
  });

  it('quotas: without a quota in the command, the default (1,000 workspaces)', () => {
    const s = new Scenario();
    for (let i = s.org.workspaces.size; i < DEFAULT_QUOTAS.workspacesPerOrganization; i++)
      s.givenOrg({ type: 'CreateWorkspace', organizationId: ORG, actorId: ADMIN, now: s.now, workspaceId: `ws-x${i}`, name: `W${i}` });
    expect(s.org.workspaces.size).toBe(1_000);
    const refused = expectError(decideOrganization({ type: 'CreateWorkspace', organizationId: ORG, actorId: ADMIN, now: s.now, workspaceId: 'one-more', name: 'One more' }, s.org), 'QUOTA_EXCEEDED');
    expect(refused.message).toContain('has 1,000 workspaces, and this service allows at most 1,000');
  });

  it('quotas: API keys not revoked count; a revoked key frees its place; a retry of an issued key is no new key', () => {
    const s = new Scenario(); // the organization's first key: key-1
    const issue = (keyId: string, maxApiKeys = 2) =>
      decideOrganization({ type: 'IssueApiKey', organizationId: ORG, actorId: ADMIN, now: s.now, apiKey: { keyId, secretHash: 'a'.repeat(64) }, maxApiKeys }, s.org);
    s.applyOrg(expectEvents(issue('key-2'), ['ApiKeyIssued']));
    expect(expectError(issue('key-3'), 'QUOTA_EXCEEDED').message).toBe(
      "This organization has 2 API keys not revoked, and this service allows at most 2; revoke those it no longer uses, or ask the service's operator to raise the limit.",
    );
    expect(expectError(issue('key-3'), 'QUOTA_EXCEEDED').facts).toEqual({ quota: { name: 'apiKeysPerOrganization', used: 2, limit: 2 } });
    // a label taken is told as such, whatever the count, as a team's name is (probe 89 F6)
    s.givenOrg({ type: 'LabelApiKey', organizationId: ORG, actorId: ADMIN, now: s.now, keyId: 'key-2', label: 'Zendesk sync' });
    const labelled = decideOrganization({ type: 'IssueApiKey', organizationId: ORG, actorId: ADMIN, now: s.now, apiKey: { keyId: 'key-3', secretHash: 'a'.repeat(64) }, label: 'zendesk SYNC', maxApiKeys: 2 }, s.org);
    expectError(labelled, 'API_KEY_LABEL_TAKEN');
    // the same key again (its idempotency key's retry) is answered as issued, not refused
    expectEvents(issue('key-2'), []);
    // the operator's key is its way back, whatever the customer's count (probe 80 F15)
    expectEvents(decideOrganization({ type: 'IssueApiKey', organizationId: ORG, actorId: SYSTEM_ACTOR, now: s.now, apiKey: { keyId: 'key-op', secretHash: 'b'.repeat(64) }, maxApiKeys: 2 }, s.org), ['ApiKeyIssued']);
    s.givenOrg({ type: 'RevokeApiKey', organizationId: ORG, actorId: ADMIN, now: s.now, keyId: 'key-1' });
    expectEvents(issue('key-3'), ['ApiKeyIssued']);
  });

  it('quotas: a workspace at its team quota is refused another team; a deleted team frees its place', () => {
    const w = new World();
    const create = (teamId: string, name: string) => w.teams({ type: 'CreateTeam', workspaceId: 'ws-1', actorId: World.admin('org-1'), now: w.now, teamId, name, maxTeams: 2 });
    w.givenTeams({ type: 'CreateTeam', workspaceId: 'ws-1', actorId: World.admin('org-1'), now: w.now, teamId: 't1', name: 'One', maxTeams: 2 });
    w.givenTeams({ type: 'CreateTeam', workspaceId: 'ws-1', actorId: World.admin('org-1'), now: w.now, teamId: 't2', name: 'Two', maxTeams: 2 });
    expect(expectError(create('t3', 'Three'), 'QUOTA_EXCEEDED').facts).toEqual({ quota: { name: 'teamsPerWorkspace', used: 2, limit: 2 } });
    expect(expectError(create('t3', 'Three'), 'QUOTA_EXCEEDED').message).toBe(
      "This workspace has 2 teams, and this service allows at most 2; delete those it no longer uses, or ask the service's operator to raise the limit.",
    );
    // one is one team (probe 121 F8: "has 1 teams")
    const single = new World();
    single.givenTeams({ type: 'CreateTeam', workspaceId: 'ws-1', actorId: World.admin('org-1'), now: single.now, teamId: 't1', name: 'One', maxTeams: 1 });
    const refused = single.teams({ type: 'CreateTeam', workspaceId: 'ws-1', actorId: World.admin('org-1'), now: single.now, teamId: 't2', name: 'Two', maxTeams: 1 });
    expect(expectError(refused, 'QUOTA_EXCEEDED').message).toMatch(/^This workspace has 1 team, and this service allows at most 1;/);
    // a name taken is told as such, whatever the count
    expectError(create('t3', 'one'), 'TEAM_NAME_TAKEN');
    w.givenTeams({ type: 'DeleteTeam', workspaceId: 'ws-1', actorId: World.admin('org-1'), now: w.now, teamId: 't1' });
    expectEvents(create('t3', 'Three'), ['TeamCreated']);
  });
});
