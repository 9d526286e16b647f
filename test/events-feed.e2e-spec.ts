// The integration events as a feed (ADR 0021; probe 38 F1, F5, F6): `GET /v1/events?after=P` gives, with the system key,
// every domain event after a position in log order, in the envelope the push transports carry: what a consumer that was
// away gets back. Compared here with what a real Nest TCP consumer received.
import { Controller, Module } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import { SYSTEM_KEY, expectProblem, tokenOf } from './support/app';
import { type TcpTestApp, startAppOverTcp } from './support/tcp-app';

const METRICS_TOKEN = 'feed-metrics-token-0123456789';
const received = new Map<string, any>();
@Controller()
class Consumer {
  // Nest's TCP transport matches patterns exactly: the types compared below
  @EventPattern('rollcall.events.UserInvited') a(@Payload() e: { eventId: string }) { received.set(e.eventId, e); }
  @EventPattern('rollcall.events.InvitationAccepted') b(@Payload() e: { eventId: string }) { received.set(e.eventId, e); }
  @EventPattern('rollcall.events.AccessRevoked') c(@Payload() e: { eventId: string }) { received.set(e.eventId, e); }
  @EventPattern('rollcall.events.UserDeletedFromWorkspace') d(@Payload() e: { eventId: string }) { received.set(e.eventId, e); }
  @EventPattern('rollcall.events.UserDeleted') f(@Payload() e: { eventId: string }) { received.set(e.eventId, e); }
}
@Module({ controllers: [Consumer] })
class ConsumerModule {}

let running: TcpTestApp;
beforeAll(async () => {
  running = await startAppOverTcp(ConsumerModule, { ROLLCALL_METRICS_TOKEN: METRICS_TOKEN });
});
afterAll(() => running.stop());

const feed = (query = '', key = SYSTEM_KEY) => running.app.api.request('GET', `/v1/events${query}`, { key });

describe('GET /v1/events: the integration events after a position (ADR 0021)', () => {
  it('every domain event in log order, as the push carries it; paged by `after`; a deleted user read as the log reads now', async () => {
    const { api } = running.app;
    const start = (await feed('?limit=1000')).body.head as string;
    const o = await api.organization();
    const ws = `/v1/workspaces/${o.workspaceId}`;
    const invite = async (email: string) => (await api.request('POST', `${ws}/invitations`, { key: o.key, actor: o.admin, body: { email } })).body;
    const accept = async (inviteUrl: string) => (await api.request('POST', '/v1/invitations/accept', { body: { token: tokenOf(inviteUrl) } })).body.userId as string;
    const jane = await accept((await invite('jane.feed@acme.test')).inviteUrl);
    const joe = await accept((await invite('joe.feed@acme.test')).inviteUrl);
    const revoked = await api.request('DELETE', `${ws}/members/${jane}`, { key: o.key, actor: o.admin, body: { reassignContactsTo: joe }, headers: { 'x-request-id': 'TICKET-REVOKE-1' } });
    expect(revoked.status).toBe(200);
    const deleted = await api.request('DELETE', `/v1/organizations/${o.organizationId}/users/${joe}`, { key: o.key, actor: o.admin });
    expect(deleted.status).toBe(200);

    // the events of one request name it, and the key it came with (probe 87 F3): the revoke's (its membership's end, its
    // AccessRevoked) — and no other event of the story
    const revokeEvents = (await feed(`?${start === '-1' ? '' : `after=${start}&`}limit=1000`)).body.items.filter((e: { correlationId?: string }) => e.correlationId === 'TICKET-REVOKE-1');
    expect(revokeEvents.map((e: { type: string; apiKeyId?: string }) => [e.type, e.apiKeyId])).toEqual(
      expect.arrayContaining([
        ['AccessRevoked', o.key.split('_')[2]],
        ['MembershipEnded', o.key.split('_')[2]],
      ]),
    );
    expect(new Set(revokeEvents.map((e: { position: string }) => e.position)).size).toBe(revokeEvents.length);
    expect(revokeEvents.every((e: { type: string }) => ['AccessRevoked', 'MembershipEnded', 'TeamMemberRemoved'].includes(e.type))).toBe(true);

    // the whole story, in pages of 3
    const pages: any[] = [];
    // (an empty log's head is -1: then from the first event, without `after`)
    let after: string | undefined = start === '-1' ? undefined : start;
    for (;;) {
      const page = await feed(`?${after === undefined ? '' : `after=${after}&`}limit=3`);
      expect(page.status).toBe(200);
      pages.push(...page.body.items);
      if (page.body.items.length < 3) {
        // caught up: next is the head, past the deletion's own record the feed leaves out (probe 45 F9)
        expect(page.body.next).toBe(page.body.head);
        break;
      }
      after = page.body.next;
    }
    const positions = pages.map((e) => BigInt(e.position));
    expect(positions).toEqual([...positions].sort((a, b) => (a < b ? -1 : 1)));
    expect(new Set(pages.map((e) => e.eventId)).size).toBe(pages.length);
    const ofThisOrg = pages.filter((e) => JSON.stringify(e.data).includes(o.organizationId) || JSON.stringify(e.data).includes(o.workspaceId));
    const types = ofThisOrg.map((e) => e.type);
    expect(types).toEqual(expect.arrayContaining(['OrganizationCreated', 'ApiKeyIssued', 'WorkspaceCreated', 'UserInvited', 'InvitationAccepted', 'AccessRevoked', 'UserDeletedFromWorkspace', 'UserDeleted']));
    // not the log's own records; no key hash
    expect(types).not.toContain('PersonalDataErased');
    expect(ofThisOrg.find((e) => e.type === 'ApiKeyIssued').data).not.toHaveProperty('secretHash');
    expect(ofThisOrg.find((e) => e.type === 'AccessRevoked').data.contacts).toEqual({ mode: 'reassigned', toUserId: joe });
    // a deletion unassigns the user's contacts in each workspace, and says so (probe 38 F7)
    expect(ofThisOrg.find((e) => e.type === 'UserDeletedFromWorkspace').data).toMatchObject({ userId: joe, contacts: { mode: 'unassigned' } });
    // read now, after the deletion: the deleted user's address is gone from their invitation
    const joesInvitation = ofThisOrg.find((e) => e.type === 'UserInvited' && e.data.email !== 'jane.feed@acme.test');
    expect(joesInvitation.data.email).toBeNull();
    expect(JSON.stringify(pages)).not.toContain('joe.feed@acme.test');

    // what the TCP consumer got is the same envelope, event for event
    const deadline = Date.now() + 5000;
    const pushed = ofThisOrg.filter((e) => ['UserInvited', 'InvitationAccepted', 'AccessRevoked', 'UserDeletedFromWorkspace', 'UserDeleted'].includes(e.type));
    while (pushed.some((e) => !received.has(e.eventId)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    for (const e of pushed) {
      const { data: pushedData, previousPosition, ...pushedEnvelope } = received.get(e.eventId);
      const { data, ...envelope } = e;
      // but the push says which position it follows (probe 67 F1): one before this event's
      expect(BigInt(previousPosition)).toBeLessThan(BigInt(e.position));
      expect(pushedEnvelope).toEqual(envelope);
      // the same data, but the deleted user's address, which the push carried before the deletion: null in the feed, read after it
      expect(data).toEqual(JSON.parse(JSON.stringify(pushedData).replaceAll('"joe.feed@acme.test"', 'null')));
    }
  });

  it("rule 12: a deletion says the contacts are unassigned only where it ended the membership; of a user revoked before (their contacts reassigned), the revoke's disposition stands (probe 119 F2)", async () => {
    const { api } = running.app;
    const start = (await feed('?limit=1')).body.head as string;
    const o = await api.organization();
    const as = { key: o.key, actor: o.admin };
    const [leaver, heir, member] = [await api.member({ ...as, workspaceId: o.workspaceId }, 'leaver.feed@acme.test'), await api.member({ ...as, workspaceId: o.workspaceId }, 'heir.feed@acme.test'), await api.member({ ...as, workspaceId: o.workspaceId }, 'member.feed@acme.test')];
    expect((await api.request('DELETE', `/v1/workspaces/${o.workspaceId}/members/${leaver}`, { ...as, body: { reassignContactsTo: heir } })).status).toBe(200);
    for (const userId of [leaver, member]) expect((await api.request('DELETE', `/v1/organizations/${o.organizationId}/users/${userId}`, as)).status).toBe(200);
    const events = (await feed(`?${start === '-1' ? '' : `after=${start}&`}limit=1000`)).body.items as { type: string; data: Record<string, unknown> }[];
    const ofUser = (userId: string) => events.filter((e) => ['AccessRevoked', 'UserDeletedFromWorkspace'].includes(e.type) && e.data.userId === userId).map((e) => [e.type, e.data.wasMember, e.data.contacts]);
    expect(ofUser(leaver)).toEqual([
      ['AccessRevoked', undefined, { mode: 'reassigned', toUserId: heir }],
      // (their accepted invitation's address erased here: the event, without a disposition of their contacts)
      ['UserDeletedFromWorkspace', false, undefined],
    ]);
    expect(ofUser(member)).toEqual([['UserDeletedFromWorkspace', true, { mode: 'unassigned' }]]);
  });

  it('every event names its organization: a workspace\'s, a presence stream\'s, a mail ledger\'s, and each side of a partner link across organizations (probe 87 F4); a mail names its request\'s key (probe 88 F4)', async () => {
    const { api } = running.app;
    const start = (await feed('?limit=1')).body.head as string;
    const [a, b] = [await api.organization(), await api.organization()];
    const organizationOfWorkspace = new Map([[a.workspaceId, a.organizationId], [b.workspaceId, b.organizationId]]);
    const asA = { key: a.key, actor: a.admin };
    const ws = `/v1/workspaces/${a.workspaceId}`;
    const jane = await api.member({ ...asA, workspaceId: a.workspaceId }, 'jane.orgs@acme.test');
    const joe = await api.member({ ...asA, workspaceId: a.workspaceId }, 'joe.orgs@acme.test');
    const steps = [
      await api.request('POST', `${ws}/presence/heartbeat`, { key: a.key, actor: jane, body: { status: 'online' } }),
      await api.request('PATCH', `${ws}/members/${jane}/access`, { ...asA, body: { roles: ['manager'] } }),
      await api.request('POST', `${ws}/teams`, { ...asA, body: { name: 'Night shift' } }),
      await api.request('GET', `${ws}/members/export.csv`, asA),
      await api.request('POST', `${ws}/invitations`, { ...asA, body: { email: 'ann.orgs@acme.test' }, headers: { 'x-request-id': 'TICKET-INVITE-ANN' } }),
      await api.request('POST', `${ws}/network`, { key: SYSTEM_KEY, body: { partnerWorkspaceId: b.workspaceId } }),
      // a revoke writes MembershipEnded on the member's presence stream, which it does not load
      await api.request('DELETE', `${ws}/members/${jane}`, { ...asA, body: {} }),
      await api.request('DELETE', `/v1/organizations/${a.organizationId}/users/${joe}`, asA),
    ];
    expect(steps.map((r) => r.status)).toEqual([200, 200, 201, 200, 201, 201, 200, 200]);
    const link = await api.request('GET', `${ws}/invitations/${steps[4]!.body.invitationId}/link`, asA);
    expect(link.status).toBe(200);

    const items: { type: string; stream: string; organizationId?: string; data: { workspaceId?: string } }[] = [];
    for (let after = start; ; ) {
      const page = await feed(`?${after === '-1' ? '' : `after=${after}&`}limit=1000`);
      items.push(...page.body.items);
      if (page.body.items.length < 1000) break;
      after = page.body.next;
    }
    /** the organization each stream is of, as the story made them */
    const expected = (e: (typeof items)[number]): string | undefined => {
      for (const prefix of ['organization-', 'mail-']) if (e.stream.startsWith(prefix)) return e.stream.slice(prefix.length);
      if (e.stream.startsWith('workspace-')) return organizationOfWorkspace.get(e.stream.slice('workspace-'.length));
      return organizationOfWorkspace.get(e.data.workspaceId!);
    };
    const ours = items.filter((e) => expected(e) !== undefined);
    expect(ours.map((e) => [e.type, e.stream, e.organizationId])).toEqual(ours.map((e) => [e.type, e.stream, expected(e)]));
    // each kind of stream was in the story: a workspace's, a presence stream's (a heartbeat; a revoke's end), the mail ledger's
    const types = new Set(ours.map((e) => `${e.stream.split('-')[0]}:${e.type}`));
    for (const kind of ['workspace:WorkspacesNetworked', 'presence:PresenceChanged', 'presence:MembershipEnded', 'mail:InvitationLinkCopied', 'organization:DataExported', 'workspace:TeamCreated', 'workspace:AccessLevelChanged'])
      expect(types).toContain(kind);
    // the partner link: one event in each workspace, each naming its own organization
    const linked = ours.filter((e) => e.type === 'WorkspacesNetworked').map((e) => [e.stream, e.organizationId]);
    expect(linked).toEqual(expect.arrayContaining([[`workspace-${a.workspaceId}`, a.organizationId], [`workspace-${b.workspaceId}`, b.organizationId]]));
    // the invitation's mail, handed over by the system in the request, names the request and its key as the request's
    // own events do (probe 88 F4: it had no apiKeyId)
    const invitation = items.filter((e) => (e as { correlationId?: string }).correlationId === 'TICKET-INVITE-ANN') as { type: string; apiKeyId?: string; actorId?: string }[];
    expect(invitation.map((e) => [e.type, e.apiKeyId])).toEqual([
      ['UserInvited', a.key.split('_')[2]],
      ['InvitationMailed', a.key.split('_')[2]],
    ]);
    expect(invitation[1]!.actorId).toBe('system');
    // and no event of the log since goes without one (other tests' events included)
    expect(items.filter((e) => e.organizationId === undefined).map((e) => e.type)).toEqual([]);
  });

  it("an organization's own feed (probe 87 F2): its org admins' and the operator's; every event of the operator's feed that names it, none of another's, paged to the head; over TCP the same", async () => {
    const { api } = running.app;
    const start = (await feed('?limit=1')).body.head as string;
    const [a, b] = [await api.organization(), await api.organization()];
    const agent = await api.member({ key: a.key, actor: a.admin, workspaceId: a.workspaceId }, 'agent.orgfeed@acme.test');
    await api.member({ key: b.key, actor: b.admin, workspaceId: b.workspaceId }, 'bea.orgfeed@acme.test');
    expect((await api.request('POST', `/v1/workspaces/${a.workspaceId}/network`, { key: SYSTEM_KEY, body: { partnerWorkspaceId: b.workspaceId } })).status).toBe(201);
    expect((await api.request('POST', `/v1/workspaces/${a.workspaceId}/presence/heartbeat`, { key: a.key, actor: agent, body: { status: 'online' } })).status).toBe(200);
    const operator = (await feed(`?${start === '-1' ? '' : `after=${start}&`}limit=1000`)).body.items as { eventId: string; organizationId: string }[];
    const ofA = operator.filter((e) => e.organizationId === a.organizationId);
    expect(ofA.length).toBeGreaterThan(8);

    const orgFeed = `/v1/organizations/${a.organizationId}/events`;
    const pages: { eventId: string; organizationId: string; position: string }[] = [];
    let after = start;
    for (let guard = 0; guard < 100; guard++) {
      const page = await api.request('GET', `${orgFeed}?${after === '-1' ? '' : `after=${after}&`}limit=3`, { key: a.key, actor: a.admin });
      expect(page.status).toBe(200);
      pages.push(...page.body.items);
      if (page.body.next === page.body.head) break;
      after = page.body.next;
    }
    // what the operator's feed holds of A, event for event and in the same envelope; the partner link's event in B's
    // workspace is B's
    expect(pages).toEqual(ofA);
    expect(pages.every((e) => e.organizationId === a.organizationId)).toBe(true);
    // the operator reads it with the system key; an agent is refused, as another organization's key
    const whole = await api.request('GET', `${orgFeed}?${start === '-1' ? '' : `after=${start}&`}limit=1000`, { key: SYSTEM_KEY });
    expect(whole.body.items).toEqual(ofA);
    expectProblem(await api.request('GET', orgFeed, { key: a.key, actor: agent }), 403, 'INSUFFICIENT_AUTHORITY');
    expectProblem(await api.request('GET', orgFeed, { key: b.key, actor: b.admin }), 404, 'ORGANIZATION_NOT_FOUND');
    expectProblem(await api.request('GET', `${orgFeed}?after=-1`, { key: a.key, actor: a.admin }), 400, 'VALIDATION_FAILED');
    // over TCP (organizations.events): the same page
    const http = (await api.request('GET', `${orgFeed}?limit=4`, { key: a.key, actor: a.admin })).body;
    expect(await running.send('organizations.events', { apiKey: a.key, actorId: a.admin, organizationId: a.organizationId, limit: 4 })).toEqual({ ...http, head: expect.any(String) });
    await expect(running.send('organizations.events', { apiKey: a.key, actorId: agent, organizationId: a.organizationId })).rejects.toMatchObject({ status: 403, code: 'INSUFFICIENT_AUTHORITY' });
  });

  it('over TCP too (events.list): the same page as over HTTP; the system key only', async () => {
    await running.app.api.organization();
    const http = (await feed('?after=0&limit=5')).body;
    expect(await running.send('events.list', { apiKey: SYSTEM_KEY, after: '0', limit: 5 })).toEqual(http);
    const o = await running.app.api.organization();
    await expect(running.send('events.list', { apiKey: o.key, actorId: o.admin })).rejects.toMatchObject({ status: 403, code: 'INSUFFICIENT_AUTHORITY' });
    await expect(running.send('events.list', { apiKey: SYSTEM_KEY, limit: 0 })).rejects.toMatchObject({ status: 400, code: 'VALIDATION_FAILED' });
    // a null `after` is one left out, as a null limit is (probe 88 F1: a 500)
    const first = (await feed('?limit=5')).body;
    expect(await running.send('events.list', { apiKey: SYSTEM_KEY, after: null, limit: 5 })).toEqual({ ...first, head: expect.any(String) });
  });

  it('system key only; bad positions and limits are 400 naming the parameter; after the head: 400, not a page that reads as caught up (probe 47 F4)', async () => {
    const o = await running.app.api.organization();
    expectProblem(await feed('', o.key), 403, 'INSUFFICIENT_AUTHORITY');
    expectProblem(await running.app.api.request('GET', '/v1/events'), 401, 'UNAUTHENTICATED');
    // past what a store can hold is refused too, not a 500 (probe 45b F1)
    for (const bad of ['?after=abc', '?after=-1', '?after=+1', '?after=1e3', '?limit=0', '?limit=1001', '?limit=x', '?from=1', '?after=9223372036854775808', '?after=9999999999999999999'])
      expectProblem(await feed(bad), 400, 'VALIDATION_FAILED');
    // digits past 19: one sentence, the bound (probe 107 F3: "must be a position: a whole number in decimal digits" too)
    expect((await feed('?after=18446744073709551616')).body.errors).toEqual([{ field: 'after', message: 'must be at most 9223372036854775807 (a log position)' }]);
    const head = (await feed()).body.head as string;
    const beyond = (BigInt(head) + 1000n).toString();
    const past = await feed(`?after=${beyond}`);
    expectProblem(past, 400, 'VALIDATION_FAILED');
    expect(past.body.errors).toEqual([{ field: 'after', message: 'is beyond the end of the event log' }]);
    expect((await feed(`?after=${head}`)).body).toEqual({ items: [], next: head, head });
    // leading zeros, as every whole number of the API takes them (probe 118 F7: `after=0007` was refused, `limit=0007` not)
    expect((await feed(`?after=000${head}`)).body).toEqual({ items: [], next: head, head });
    expect((await feed('?after=00&limit=2')).body).toEqual((await feed('?after=0&limit=2')).body);
    const first = await feed('?limit=2');
    expect(first.body.items.map((e: any) => e.type)).toEqual(['OrganizationCreated', 'ApiKeyIssued']);
  });

  it("/health and /metrics say where the publisher stands: caught up here, behind by what the log holds after its checkpoint (probe 38 F4)", async () => {
    const { api } = running.app;
    await api.organization();
    const head = (await feed()).body.head;
    const deadline = Date.now() + 5000;
    let health = await api.request('GET', '/health');
    while (health.body.info.integrationEvents.checkpoint !== head && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      health = await api.request('GET', '/health');
    }
    expect(health.status).toBe(200);
    const caughtUp = { state: 'running', consecutiveFailures: 0, failedSends: 0, checkpoint: head, behind: 0 };
    expect(health.body.info.integrationEvents).toEqual({ status: 'up', ...caughtUp, transports: { tcp: caughtUp } });
    const metrics = await api.request('GET', '/metrics', { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(metrics.body).toMatch(/^rollcall_integration_events_behind\{transport="tcp"\} 0$/m);
    expect(metrics.body).toMatch(/^rollcall_integration_events_failed_sends\{transport="tcp"\} 0$/m);
  });

  it('after a deletion, whose last record the feed leaves out: a caught-up page\'s next reaches head, and /health is not behind (probe 45 F9)', async () => {
    const { api } = running.app;
    const o = await api.organization();
    const joe = await api.member({ key: o.key, actor: o.admin, workspaceId: o.workspaceId }, 'joe-f9@acme.test');
    expect((await api.request('DELETE', `/v1/organizations/${o.organizationId}/users/${joe}`, { key: o.key, actor: o.admin })).status).toBe(200);
    const all = (await feed('?limit=1000')).body;
    const lastPublished = all.items.at(-1).position as string;
    // the log's last record is the deletion's own (PersonalDataErased), never published
    expect(BigInt(all.head)).toBeGreaterThan(BigInt(lastPublished));
    expect(all.items.map((e: { type: string }) => e.type)).not.toContain('PersonalDataErased');
    expect(all.next).toBe(all.head);
    expect((await feed(`?after=${lastPublished}`)).body).toEqual({ items: [], next: all.head, head: all.head });
    // a full page still ends at its last item
    const two = (await feed('?limit=2')).body;
    expect(two.next).toBe(two.items[1].position);
    const deadline = Date.now() + 5000;
    let events = (await api.request('GET', '/health')).body.info.integrationEvents;
    while (events.checkpoint !== lastPublished && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      events = (await api.request('GET', '/health')).body.info.integrationEvents;
    }
    expect(events).toMatchObject({ checkpoint: lastPublished, behind: 0 });
  });
});
