// The authority matrix (issue 13): every preset x every actor x every command x every target role, over HTTP, against
// the table written out in test/support/authority-table.ts. 0 escalations, 0 over-refusals, and a refusal appends
// nothing. Then another organization's key on every tenant endpoint of the live OpenAPI document: 404, never data.
import type { EventStore } from '@rollcall/event-store';
import { EVENT_STORE } from '../apps/api/src/shared/tokens';
import { type Reply, type TestApp, startTestApp, tokenOf } from './support/app';
import { AUTHORITY, type AccessSpec, type Preset, actorsOf, expectedOf, parseRow } from './support/authority-table';
import { crossTenantRequests } from './support/openapi-ops';

let app: TestApp;
let events: EventStore;
beforeAll(async () => {
  // no presence timeout during the run: nothing is appended in the background between a request and the head check
  app = await startTestApp({ ROLLCALL_PRESENCE_TIMEOUT_SECONDS: '86400' });
  events = app.app.get(EVENT_STORE);
});
afterAll(() => app.stop());

const head = () => events.headPosition();
let unique = 0;
const fresh = (what: string) => `${what}-${++unique}`;

interface Workspace {
  preset: Preset;
  key: string;
  admin: string;
  organizationId: string;
  workspaceId: string;
  ws: string;
  actors: Record<string, string>;
  team: string;
}

/** A workspace of the preset with one member per actor access, a team, and the outsider (another org's admin). */
async function workspaceFor(preset: Preset, outsider: string): Promise<Workspace> {
  const o = await app.api.organization({ accessModel: preset, plan: 'advanced' });
  const actors: Record<string, string> = { admin: o.admin, outsider };
  for (const [name, access] of Object.entries(AUTHORITY[preset].actors))
    actors[name] = await app.api.member({ key: o.key, actor: o.admin, workspaceId: o.workspaceId }, `${fresh(name)}@acme.test`, access as Record<string, unknown>);
  const ws = `/v1/workspaces/${o.workspaceId}`;
  const team = await app.api.request('POST', `${ws}/teams`, { key: o.key, actor: o.admin, body: { name: 'Matrix' } });
  expect(team.status).toBe(201);
  return { preset, ...o, ws, actors, team: team.body.teamId };
}

/**
 * Targets, made by the org admin on demand and reused while no allowed command changed them: a member per access,
 * a pending invitation per access.
 */
class Targets {
  private members = new Map<string, string[]>();
  private invitations = new Map<string, string[]>();
  constructor(private readonly w: Workspace) {}

  async member(access: string): Promise<string> {
    const pooled = this.members.get(access)?.pop();
    if (pooled) return pooled;
    const spec = AUTHORITY[this.w.preset].targets[access]!;
    return app.api.member({ key: this.w.key, actor: this.w.admin, workspaceId: this.w.workspaceId }, `${fresh('target')}@acme.test`, spec as Record<string, unknown>);
  }

  async invitation(access: string): Promise<string> {
    const pooled = this.invitations.get(access)?.pop();
    if (pooled) return pooled;
    const spec = AUTHORITY[this.w.preset].targets[access]!;
    const invited = await app.api.request('POST', `${this.w.ws}/invitations`, { key: this.w.key, actor: this.w.admin, body: { email: `${fresh('invitee')}@acme.test`, ...spec } });
    expect(invited.status).toBe(201);
    return invited.body.invitationId;
  }

  release(kind: 'member' | 'invitation', access: string, id: string): void {
    const pool = kind === 'member' ? this.members : this.invitations;
    pool.set(access, [...(pool.get(access) ?? []), id]);
  }
}

/** the whole access of a spec: roles only where the preset names some (preset permissions has its implicit role) */
const accessBody = (spec: AccessSpec) => ({ ...(spec.roles && { roles: spec.roles }), grants: spec.grants ?? [], restrictions: spec.restrictions ?? {} });

/** Runs one cell; returns the reply and whether the target it used may be used again. */
async function runCell(w: Workspace, targets: Targets, row: string, actor: string): Promise<{ reply: Reply; before: bigint; after: bigint }> {
  const { verb, target } = parseRow(row);
  const table = AUTHORITY[w.preset];
  const actorId = w.actors[actor]!;
  // reads wait for the read models to include everything written so far (the targets were just made)
  const as = (method: string, path: string, body?: unknown) =>
    app.api.request(method, path, { key: w.key, actor: actorId, body, headers: method === 'GET' ? { 'x-min-position': String(before) } : {} });
  const org = `/v1/organizations/${w.organizationId}`;
  const self = target === 'self';
  let before = 0n;
  // what the cell needs, made before the head is read
  const member = !self && target && !['invite', 'resend', 'cancel', 'copy-link'].includes(verb) ? await targets.member(verb === 'promote' ? table.base : target) : undefined;
  const invitation = target && ['resend', 'cancel', 'copy-link'].includes(verb) ? await targets.invitation(target) : undefined;
  if (verb === 'team-remove') await app.api.request('PUT', `${w.ws}/teams/${w.team}/members/${member}`, { key: w.key, actor: w.admin });
  const subject = self ? actorId : member;
  before = await head();
  const day = new Date().toISOString().slice(0, 10);
  const send: Record<string, () => Promise<Reply>> = {
    invite: () => as('POST', `${w.ws}/invitations`, { email: `${fresh('new')}@acme.test`, ...table.targets[target!] }),
    resend: () => as('POST', `${w.ws}/invitations/${invitation}/resend`),
    cancel: () => as('DELETE', `${w.ws}/invitations/${invitation}`),
    'copy-link': () => as('GET', `${w.ws}/invitations/${invitation}/link`),
    promote: () => as('PATCH', `${w.ws}/members/${subject}/access`, accessBody(table.targets[target!]!)),
    demote: () => as('PATCH', `${w.ws}/members/${subject}/access`, accessBody(table.targets[table.base]!)),
    restrict: () => as('PATCH', `${w.ws}/members/${subject}/access`, { restrictions: { workflows: true } }),
    unrestrict: () => as('PATCH', `${w.ws}/members/${subject}/access`, { restrictions: {} }),
    change: () => as('PATCH', `${w.ws}/members/${subject}/access`, accessBody(table.targets[table.base]!)),
    revoke: () => as('DELETE', `${w.ws}/members/${subject}`, {}),
    read: () => as('GET', `${w.ws}/members/${subject}`),
    'access-as-of': () => as('GET', `${w.ws}/members/${subject}/access`),
    profile: () => as('PATCH', `${org}/users/${subject}`, { displayName: fresh('Renamed') }),
    delete: () => as('DELETE', `${org}/users/${subject}`),
    'force-offline': () => as('POST', `${w.ws}/members/${subject}/presence/offline`),
    'team-add': () => as('PUT', `${w.ws}/teams/${w.team}/members/${subject}`),
    'team-remove': () => as('DELETE', `${w.ws}/teams/${w.team}/members/${subject}`),
    'team-create': () => as('POST', `${w.ws}/teams`, { name: fresh('Team') }),
    list: () => as('GET', `${w.ws}/members`),
    history: () => as('GET', `${w.ws}/history`),
    'roster-as-of': () => as('GET', `${w.ws}/access`),
    export: () => as('GET', `${w.ws}/members/export.csv`),
    report: () => as('GET', `${w.ws}/reports/presence?from=${day}&to=${day}`),
    heartbeat: () => as('POST', `${w.ws}/presence/heartbeat`, { status: 'online' }),
  };
  if (!send[verb]) throw new Error(`no request for the row '${row}'`);
  const reply = await send[verb]();
  const after = await head();
  // a target an allowed command changed (or removed) is not reused; one that a refusal left as it was is
  const changed = reply.status < 300 && ['promote', 'demote', 'restrict', 'unrestrict', 'revoke', 'delete', 'cancel'].includes(verb);
  if (member && !changed) targets.release('member', verb === 'promote' ? table.base : target!, member);
  if (invitation && !changed) targets.release('invitation', target!, invitation);
  return { reply, before, after };
}

const outcomeOf = (reply: Reply, actor: string): 'Y' | 'N' | string => {
  if (reply.status >= 200 && reply.status < 300) return 'Y';
  if (reply.status === 403 && ['INSUFFICIENT_AUTHORITY', 'CANNOT_MODIFY_SELF'].includes(reply.body?.code)) return 'N';
  // another organization's user is nobody here: what they name may not exist for them either
  if (actor === 'outsider' && reply.status === 404) return 'N';
  return `${reply.status} ${reply.body?.code ?? ''}`.trim();
};

describe('authority matrix over HTTP (rules 1-5, 10, 12, 13, 14, 17, 18; ADR 0002)', () => {
  const totals = { cells: 0, escalations: 0, overRefusals: 0, refusals: 0 };
  let outsider: string;
  beforeAll(async () => {
    outsider = (await app.api.organization()).admin;
  });
  afterAll(() => console.log(`authority matrix: ${JSON.stringify(totals)}`));

  for (const preset of Object.keys(AUTHORITY) as Preset[]) {
    it(`${preset}: every actor x every row as written in the table; a refusal appends nothing`, async () => {
      const w = await workspaceFor(preset, outsider);
      const targets = new Targets(w);
      const mismatches: string[] = [];
      const appendedByRefusal: string[] = [];
      for (const row of Object.keys(AUTHORITY[preset].rows)) {
        const expected = expectedOf(preset, row);
        for (const actor of actorsOf(preset)) {
          const { reply, before, after } = await runCell(w, targets, row, actor);
          const observed = outcomeOf(reply, actor);
          totals.cells++;
          if (observed !== expected[actor]) {
            mismatches.push(`${preset} | ${row} | ${actor}: expected ${expected[actor]}, got ${observed}`);
            if (observed === 'Y') totals.escalations++;
            else totals.overRefusals++;
          }
          if (reply.status >= 400) {
            totals.refusals++;
            if (after !== before) appendedByRefusal.push(`${preset} | ${row} | ${actor}: ${reply.status} moved the head ${before} -> ${after}`);
          }
        }
      }
      expect(mismatches).toEqual([]);
      expect(appendedByRefusal).toEqual([]);
    }, 120_000);
  }
});

describe("another organization's key on every tenant endpoint of the OpenAPI document", () => {
  it('404 with a problem, never the data, and nothing appended', async () => {
    const victim = await app.api.organization({ plan: 'advanced' });
    const as = { key: victim.key, actor: victim.admin, workspaceId: victim.workspaceId };
    const member = await app.api.member(as, 'secret.person@victim.test', { roles: ['manager'] });
    const invited = await app.api.request('POST', `/v1/workspaces/${victim.workspaceId}/invitations`, { key: victim.key, actor: victim.admin, body: { email: 'pending.person@victim.test' } });
    const team = await app.api.request('POST', `/v1/workspaces/${victim.workspaceId}/teams`, { key: victim.key, actor: victim.admin, body: { name: 'Victim team' } });
    const victimsEvent = String(await head());
    const attacker = await app.api.organization();
    const doc = (await app.api.request('GET', '/docs/openapi.json')).body;
    const ids = {
      ws: victim.workspaceId,
      org: victim.organizationId,
      userId: member,
      id: invited.body.invitationId,
      teamId: team.body.teamId,
      partnerWorkspaceId: attacker.workspaceId,
      position: victimsEvent,
    };
    const secrets = ['secret.person', 'pending.person', 'Victim team', member, invited.body.invitationId, tokenOf(invited.body.inviteUrl)];
    const requests = crossTenantRequests(doc, ids);
    expect(requests.length).toBeGreaterThan(20);
    const wrong: string[] = [];
    for (const r of requests) {
      const before = await head();
      const reply = await r.send(app.url, { key: attacker.key, actor: attacker.admin });
      const leaked = secrets.filter((s) => JSON.stringify(reply.body ?? '').includes(s) && !r.path.includes(s));
      if (reply.status !== 404 || reply.headers.get('content-type')?.startsWith('application/problem+json') !== true || leaked.length > 0 || (await head()) !== before)
        wrong.push(`${r.method} ${r.template}: ${reply.status} ${reply.body?.code ?? ''} leaked=${leaked.join(',')}`);
    }
    expect(wrong).toEqual([]);
    console.log(`cross-tenant: ${requests.length} operations, all 404`);
  }, 60_000);
});
