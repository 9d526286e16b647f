import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type TestApp, startTestApp, tokenOf } from './support/app';
import { EVENT_STORE } from '../apps/api/src/shared/tokens';
import type { EventStore, RecordedEvent } from '@rollcall/event-store';

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(() => app.stop());

const orgEvents = async (organizationId: string) => {
  const out: RecordedEvent[] = [];
  for await (const e of app.app.get<EventStore>(EVENT_STORE).readStream(`organization-${organizationId}`)) out.push(e);
  return out;
};

describe('rule 12: deleting a user erases their personal data from the events (crypto-shredding)', () => {
  it('personal data never reaches the log in clear; after deletion it reads as null, others are untouched', async () => {
    const o = await app.api.organization();
    const as = { key: o.key, actor: o.admin, workspaceId: o.workspaceId };
    const jane = await app.api.member(as, 'jane.secret@acme.test');
    await app.api.request('PATCH', `/v1/organizations/${o.organizationId}/users/${jane}`, { key: o.key, actor: jane, body: { email: 'jane.new@acme.test', alias: 'JS' } });
    const joe = await app.api.member(as, 'joe@acme.test');

    for (const file of ['events.sqlite', 'events.sqlite-wal'].map((f) => join(app.dataDir, f)).filter(existsSync))
      expect(readFileSync(file).includes(Buffer.from('jane.secret@acme.test'))).toBe(false);

    const del = await app.api.request('DELETE', `/v1/organizations/${o.organizationId}/users/${jane}`, { key: o.key, actor: o.admin });
    expect(del.status).toBe(200);

    const events = await orgEvents(o.organizationId);
    const janeJoined = events.find((e) => e.type === 'UserJoinedOrganization' && (e.data as { userId: string }).userId === jane)!;
    expect(janeJoined.data).toMatchObject({ userId: jane, email: null, displayName: null });
    const janeProfile = events.find((e) => e.type === 'UserProfileUpdated')!;
    expect(janeProfile.data).toMatchObject({ userId: jane, changes: { alias: null } });
    // the new address waits for its confirmation (rule 10) and is erased with the rest
    const janeEmailChange = events.find((e) => e.type === 'EmailChangeRequested')!;
    expect(janeEmailChange.data).toMatchObject({ userId: jane, email: null });
    const joeJoined = events.find((e) => e.type === 'UserJoinedOrganization' && (e.data as { userId: string }).userId === joe)!;
    expect(joeJoined.data).toMatchObject({ email: 'joe@acme.test' });

    // the invitation to her first address is erased too (it was keyed by the address)
    const wsEvents: RecordedEvent[] = [];
    for await (const e of app.app.get<EventStore>(EVENT_STORE).readStream(`workspace-${o.workspaceId}`)) wsEvents.push(e);
    const invited = wsEvents.filter((e) => e.type === 'UserInvited').map((e) => (e.data as { email: string | null }).email);
    expect(invited).toEqual([null, 'joe@acme.test']);

    // the address can be invited again: a new person, new data, readable
    const again = await app.api.request('POST', `/v1/workspaces/${o.workspaceId}/invitations`, { key: o.key, actor: o.admin, body: { email: 'jane.secret@acme.test' } });
    expect(again.status).toBe(201);
    const accepted = await app.api.request('POST', '/v1/invitations/accept', { body: { token: tokenOf(again.body.inviteUrl) } });
    expect(accepted.body.userId).not.toBe(jane);
  });
});
