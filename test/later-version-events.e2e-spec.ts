// Events a later version of Rollcall wrote (docs/adr/0020 point 4): replicas of two versions over one log (a rolling
// upgrade over EventStoreDB and MongoDB, which no data-format mark guards). This version, being the earlier one, must
// neither decide on a stream holding an event it cannot read nor project past it (probe 37b: the old replica invited
// for an org admin the new one had demoted, and its projector moved a checkpoint past the event for good).
import { randomUUID } from 'node:crypto';
import type { EventStore } from '@rollcall/event-store';
import { EVENT_STORE } from '../apps/api/src/shared/tokens';
import { READ_SIDE, type ReadSide } from '../apps/api/src/infrastructure/read-side';
import { type TestApp, expectProblem, startTestApp } from './support/app';

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(() => app.stop());

const store = () => app.app.get<EventStore>(EVENT_STORE);
const appendFromLaterVersion = (stream: string, type: string, schemaVersion: number) =>
  store().append(stream, [{ id: randomUUID(), type, data: {}, metadata: { schemaVersion, occurredAt: new Date().toISOString() } }], 'any');
const eventsOf = async (stream: string) => {
  let n = 0;
  for await (const _ of store().readStream(stream)) n++;
  return n;
};

describe('a stream holding an event of a later version (ADR 0020 point 4)', () => {
  it('writes and the roster on it are 503 WRITTEN_BY_LATER_VERSION and append nothing; other workspaces are served; /health says why', async () => {
    const { api } = app;
    const o = await api.organization();
    const other = await api.request('POST', `/v1/organizations/${o.organizationId}/workspaces`, { key: o.key, actor: o.admin, body: { name: 'Sales' } });
    const invite = (workspaceId: string, email: string) =>
      api.request('POST', `/v1/workspaces/${workspaceId}/invitations`, { key: o.key, actor: o.admin, body: { email }, headers: { 'idempotency-key': `later-${email}` } });
    expect((await invite(o.workspaceId, 'before@acme.test')).status).toBe(201);

    // records of the application's own streams are not the domain's: nothing stops
    await store().append(`erasures-${o.organizationId}`, [{ id: randomUUID(), type: 'SomethingInternal', data: {}, metadata: {} }], 'any');
    expect((await invite(o.workspaceId, 'still@acme.test')).status).toBe(201);

    await appendFromLaterVersion(`workspace-${o.workspaceId}`, 'TeamArchived', 1);
    const stream = `workspace-${o.workspaceId}`;
    const held = await eventsOf(stream);
    const refused = await invite(o.workspaceId, 'after@acme.test');
    expectProblem(refused, 503, 'WRITTEN_BY_LATER_VERSION');
    expect(refused.body.detail).toBe(
      `This server runs an earlier version of Rollcall than the one that wrote ${stream}'s latest events (TeamArchived, schema version 1); it acts on none of them until it is upgraded: retry shortly (with the same Idempotency-Key), another replica may answer.`,
    );
    expect(refused.headers.get('retry-after')).toBe('30');
    expect(await eventsOf(stream)).toBe(held);
    // asked again (a retry), the same
    expectProblem(await invite(o.workspaceId, 'after@acme.test'), 503, 'WRITTEN_BY_LATER_VERSION');
    // the roster replays the stream: not as if the event had not happened
    expectProblem(await api.request('GET', `/v1/workspaces/${o.workspaceId}/access?asOf=${encodeURIComponent(new Date().toISOString())}`, { key: o.key, actor: o.admin }), 503, 'WRITTEN_BY_LATER_VERSION');
    // the organization's other workspace is decided as usual
    expect((await invite(other.body.workspaceId, 'elsewhere@acme.test')).status).toBe(201);

    // the projector stopped before it: /health is 503 (a public route names no error), its status says why
    const deadline = Date.now() + 5000;
    let health = await api.request('GET', '/health');
    while (health.status === 200 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      health = await api.request('GET', '/health');
    }
    expectProblem(health, 503, 'UNHEALTHY');
    expect(health.body.detail).toBe('Not ready: projections down: members failed, org_users failed, permission_history failed, workspaces failed, teams failed, presence_daily failed.');
    for (const projection of app.app.get<ReadSide>(READ_SIDE).projections())
      expect(projection).toMatchObject({ state: 'failed', error: expect.stringContaining(`${stream} holds an event this version of Rollcall cannot read (TeamArchived, schema version 1): a later version wrote it; upgrade this process`) });
  });

  it('a known type in a newer schema version stops decisions on the organization: its every request with its key', async () => {
    const { api } = app;
    const o = await api.organization();
    await appendFromLaterVersion(`organization-${o.organizationId}`, 'OrgAdminChanged', 2);
    // the key is identified against the organization as the log has it: it cannot be, by this version
    expectProblem(await api.request('GET', `/v1/workspaces/${o.workspaceId}/members`, { key: o.key, actor: o.admin }), 503, 'WRITTEN_BY_LATER_VERSION');
    expectProblem(
      await api.request('POST', `/v1/workspaces/${o.workspaceId}/invitations`, { key: o.key, actor: o.admin, body: { email: 'x@acme.test' } }),
      503,
      'WRITTEN_BY_LATER_VERSION',
    );
  });
});
