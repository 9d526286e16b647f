// The AsyncAPI document of the message patterns (/docs/asyncapi.json): valid AsyncAPI 3.0 (the official JSON Schema
// of the specification, @asyncapi/specs), one channel per pattern the app registers, and payload schemas that say
// what the app really does: a message built as documented is accepted, one without a required field is refused.
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { type ClientProxy, ClientProxyFactory, Transport } from '@nestjs/microservices';
import { firstValueFrom, lastValueFrom } from 'rxjs';
import { MESSAGE_TWINS } from '../apps/api/src/shared/http/message-twins';
import { SYSTEM_KEY, type TestApp, startTestApp } from './support/app';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const ASYNCAPI_3_0 = require('@asyncapi/specs/schemas/3.0.0-without-$id.json') as object;

type Doc = {
  asyncapi: string;
  channels: Record<string, { address: string; messages: Record<string, { $ref: string }> }>;
  operations: Record<string, { action: string; channel: { $ref: string } }>;
  components: { schemas: Record<string, object>; messages: Record<string, { payload: object }> };
};

let app: TestApp;
let client: ClientProxy;
let doc: Doc;
beforeAll(async () => {
  app = await startTestApp();
  client = ClientProxyFactory.create({ transport: Transport.TCP, options: { host: '127.0.0.1', port: app.tcpPort } });
  await client.connect();
  const reply = await app.api.request('GET', '/docs/asyncapi.json');
  expect(reply.status).toBe(200);
  doc = reply.body as Doc;
});
afterAll(async () => {
  await client.close();
  await app.stop();
});

/** a validator of one message's payload, with the document's component schemas to resolve its $refs */
function payloadValidator(message: string) {
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addSchema({ components: doc.components }, 'doc');
  const payload = JSON.parse(JSON.stringify(doc.components.messages[message]!.payload).replaceAll('"#/components/', '"doc#/components/'));
  return ajv.compile(payload);
}

describe('the AsyncAPI document of the message patterns', () => {
  it('is valid AsyncAPI 3.0', () => {
    const ajv = new Ajv({ strict: false, allErrors: true });
    addFormats(ajv);
    const validate = ajv.compile(ASYNCAPI_3_0);
    expect(validate(doc) ? [] : validate.errors).toEqual([]);
    expect(doc.asyncapi).toBe('3.0.0');
  });

  it('has a channel and an operation for every pattern the app answers, and the integration events', () => {
    const [tcp] = app.app.getMicroservices() as unknown as { serverInstance: { getHandlers(): Map<string, { isEventHandler?: boolean }> } }[];
    const registered = [...tcp!.serverInstance.getHandlers()].filter(([, h]) => !h.isEventHandler).map(([pattern]) => pattern).sort();
    const addresses = Object.values(doc.channels).map((c) => c.address);
    expect(registered).toEqual(Object.keys(MESSAGE_TWINS).sort());
    expect(addresses.filter((a) => !a.startsWith('rollcall.events.') && !a.startsWith('rollcall.org.')).sort()).toEqual(registered);
    expect(addresses).toContain('rollcall.events.{type}');
    // an organization's own subject (ROLLCALL_NATS_EVENT_SUBJECTS)
    expect(addresses).toContain('rollcall.org.{organizationId}.events.{type}');
    expect(Object.values(doc.operations).filter((o) => o.action === 'receive')).toHaveLength(registered.length);
    // and the API page's list names each of them (it left two out: probe 30 F5; moved from the README to docs/api.md)
    const page = readFileSync(join(__dirname, '..', 'docs', 'api.md'), 'utf8');
    expect(registered.filter((pattern) => !page.includes(`\`${pattern}\``))).toEqual([]);
  });

  it('a problem lists the transports\' own refusals and none HTTP alone meets; an unknown pattern\'s code is named (probe 45 F7)', async () => {
    const problems = Object.entries(doc.components.messages).filter(([name]) => name.endsWith('_problem'));
    expect(problems.length).toBe(Object.keys(MESSAGE_TWINS).length);
    for (const [name, { payload }] of problems) {
      const codes = (payload as { allOf: { properties?: { code?: { enum: string[] } } }[] }).allOf[1]!.properties!.code!.enum;
      expect({ name, answerTooLarge: codes.includes('ANSWER_TOO_LARGE'), httpOnly: codes.filter((c) => ['HEADERS_TOO_LARGE', 'REQUEST_TIMEOUT', 'UNSUPPORTED_MEDIA_TYPE', 'NOT_FOUND'].includes(c)) }).toEqual({ name, answerTooLarge: true, httpOnly: [] });
    }
    expect((doc as unknown as { info: { description: string } }).info.description).toContain('404 UNKNOWN_PATTERN');
    const unknown = await firstValueFrom(client.send('no.such.pattern', {})).catch((e: { code?: string }) => e);
    expect(unknown).toMatchObject({ code: 'UNKNOWN_PATTERN' });
  });

  it('documents what the app does: a message built as documented is accepted, the reply matches its schema; a refusal is one of the documented problems', async () => {
    const send = (pattern: string, data: object) => lastValueFrom(client.send(pattern, data));
    const request = payloadValidator('organizations_create_request');
    const message = { apiKey: SYSTEM_KEY, name: 'Acme', admin: { email: 'ada@acme.test', displayName: 'Ada' } };
    expect(request(message) ? [] : request.errors).toEqual([]);
    const created = (await send('organizations.create', message)) as { apiKey: string; adminUserId: string; organizationId: string };
    const reply = payloadValidator('organizations_create_reply');
    expect(reply(created) ? [] : reply.errors).toEqual([]);

    const invite = payloadValidator('members_invite_request');
    const workspace = (await send('workspaces.create', { apiKey: created.apiKey, actorId: created.adminUserId, organizationId: created.organizationId, name: 'S' })) as { workspaceId: string };
    const withoutWorkspace = { apiKey: created.apiKey, actorId: created.adminUserId, email: 'jane@acme.test', roles: ['agent'] };
    expect(invite(withoutWorkspace)).toBe(false);
    const refused = await send('members.invite', withoutWorkspace).catch((e: unknown) => e);
    const problem = payloadValidator('members_invite_problem');
    expect(problem(refused) ? [] : problem.errors).toEqual([]);
    expect(refused).toMatchObject({ status: 400, code: 'VALIDATION_FAILED' });
    // a field the message does not declare: invalid by the document, refused by the server (probe 45b F5)
    const get = payloadValidator('workspaces_get_request');
    const asked = { apiKey: created.apiKey, actorId: created.adminUserId, workspaceId: workspace.workspaceId };
    expect(get(asked) ? [] : get.errors).toEqual([]);
    expect(get({ ...asked, extra: 1 })).toBe(false);
    expect(await send('workspaces.get', { ...asked, extra: 1 }).catch((e: unknown) => e)).toMatchObject({ status: 400, code: 'VALIDATION_FAILED' });

    const valid = { ...withoutWorkspace, workspaceId: workspace.workspaceId };
    expect(invite(valid) ? [] : invite.errors).toEqual([]);
    const invited = await send('members.invite', valid);
    const invitedReply = payloadValidator('members_invite_reply');
    expect(invitedReply(invited) ? [] : invitedReply.errors).toEqual([]);
  });

  it("a twin's query filter named as an envelope field has a field of its own: the changes' `actorId` filter is `changesBy` (probe 83 F8: documented as `actorId`, which filtered nothing)", async () => {
    const send = (pattern: string, data: object) => lastValueFrom(client.send(pattern, data));
    const payload = doc.components.messages.organizations_changes_request!.payload as { properties: Record<string, { description?: string }> };
    const envelope = doc.components.schemas.Envelope as { properties: Record<string, { description?: string }> };
    expect(payload.properties.actorId).toEqual(envelope.properties.actorId);
    expect(payload.properties.changesBy?.description).toMatch(/the changes one user made/);
    const created = (await send('organizations.create', { apiKey: SYSTEM_KEY, name: 'Acme', admin: { email: 'ada@acme.test', displayName: 'Ada' } })) as { organizationId: string; adminUserId: string; apiKey: string };
    // the organization's creation is the operator's; a workspace, Ada's
    await send('workspaces.create', { apiKey: created.apiKey, actorId: created.adminUserId, organizationId: created.organizationId, name: 'By Ada' });
    const request = payloadValidator('organizations_changes_request');
    const message = { apiKey: SYSTEM_KEY, organizationId: created.organizationId, changesBy: created.adminUserId };
    expect(request(message) ? [] : request.errors).toEqual([]);
    const filtered = (await send('organizations.changes', message)) as { items: { actorId: string | null }[] };
    const all = (await send('organizations.changes', { apiKey: SYSTEM_KEY, organizationId: created.organizationId })) as { items: { actorId: string | null }[] };
    expect(all.items.some((c) => c.actorId !== created.adminUserId)).toBe(true);
    expect(filtered.items.length).toBeGreaterThan(0);
    expect(filtered.items.every((c) => c.actorId === created.adminUserId)).toBe(true);
  });

  it("every integration event's data matches its type's schema, a deleted user's too; a wrong shape does not (probe 38 F8: any object did)", async () => {
    const { api } = app;
    const start = (await api.request('GET', '/v1/events?limit=1', { key: SYSTEM_KEY })).body.head as string;
    const o = await api.organization();
    const as = { key: o.key, actor: o.admin };
    const ws = `/v1/workspaces/${o.workspaceId}`;
    const invite = async (email: string) => (await api.request('POST', `${ws}/invitations`, { ...as, body: { email } })).body;
    const accept = async (url: string) => (await api.request('POST', '/v1/invitations/accept', { body: { token: new URL(url).searchParams.get('token') } })).body.userId as string;
    const jane = await accept((await invite('jane.schema@acme.test')).inviteUrl);
    const joe = await accept((await invite('joe.schema@acme.test')).inviteUrl);
    const pending = await invite('pending.schema@acme.test');
    await api.request('POST', `${ws}/invitations/${pending.invitationId}/resend`, as);
    await api.request('DELETE', `${ws}/invitations/${pending.invitationId}`, as);
    expect((await api.request('PATCH', `${ws}/members/${jane}/access`, { ...as, body: { roles: ['manager'] } })).status).toBe(200);
    await api.request('PATCH', `/v1/organizations/${o.organizationId}/users/${jane}`, { ...as, body: { displayName: 'Jane S', alias: 'js' } });
    const team = (await api.request('POST', `${ws}/teams`, { ...as, body: { name: 'Night' } })).body.teamId as string;
    await api.request('PUT', `${ws}/teams/${team}/members/${jane}`, as);
    await api.request('PATCH', `${ws}/teams/${team}`, { ...as, body: { name: 'Nights' } });
    await api.request('POST', `${ws}/presence/heartbeat`, { key: o.key, actor: jane, body: { status: 'online' } });
    await api.request('DELETE', `${ws}/members/${jane}`, { ...as, body: { reassignContactsTo: joe } });
    await api.request('DELETE', `/v1/organizations/${o.organizationId}/users/${joe}`, as);
    const events = (await api.request('GET', `/v1/events?after=${start}&limit=1000`, { key: SYSTEM_KEY })).body.items as { type: string; data: Record<string, unknown> }[];
    expect(new Set(events.map((e) => e.type))).toEqual(
      new Set(['OrganizationCreated', 'ApiKeyIssued', 'UserJoinedOrganization', 'WorkspaceCreated', 'UserInvited', 'InvitationMailed', 'InvitationAccepted', 'InvitationResent', 'InvitationCancelled',
        'AccessLevelChanged', 'UserProfileUpdated', 'TeamCreated', 'TeamMemberAdded', 'TeamRenamed', 'PresenceChanged', 'MembershipEnded', 'TeamMemberRemoved', 'AccessRevoked', 'UserDeletedFromWorkspace', 'UserDeleted']),
    );
    const envelope = payloadValidator('IntegrationEvent');
    const invalid = events.filter((e) => !envelope({ pattern: `rollcall.events.${e.type}`, data: e })).map((e) => ({ type: e.type, errors: (envelope(({ pattern: `rollcall.events.${e.type}`, data: e })), envelope.errors) }));
    expect(invalid).toEqual([]);
    // read after the deletion: joe's address null, and valid so
    expect(events.some((e) => e.type === 'UserInvited' && e.data.email === null)).toBe(true);
    // not any object: a disposition the contacts service does not know is refused
    const revoked = events.find((e) => e.type === 'AccessRevoked')!;
    expect(envelope({ pattern: 'rollcall.events.AccessRevoked', data: { ...revoked, data: { ...revoked.data, contacts: { mode: 'lost' } } } })).toBe(false);
    expect(envelope({ pattern: 'rollcall.events.AccessRevoked', data: { ...revoked, data: { ...revoked.data, userId: 42 } } })).toBe(false);
  });

  it("the TCP framing as the document states it: `<length>#<JSON>`, the length in UTF-16 code units (probe 34 F1)", async () => {
    const server = (doc as unknown as { servers: Record<string, { protocol: string; description: string }> }).servers;
    const tcp = Object.values(server).find((s) => s.protocol === 'tcp')!;
    expect(tcp.description).toMatch(/UTF-16 code units/);
    // a frame built by that description alone, over a plain socket, with characters of 1 and 2 UTF-16 units
    const json = JSON.stringify({ pattern: 'organizations.create', data: { apiKey: SYSTEM_KEY, name: 'Café 🚀', admin: { email: 'zoë@acme.test', displayName: 'Zoë' } }, id: 'frame-1' });
    expect(Buffer.byteLength(json)).not.toBe(json.length);
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(app.tcpPort, '127.0.0.1', () => socket.write(`${json.length}#${json}`));
      let got = '';
      socket.setEncoding('utf8').on('data', (d: string) => {
        got += d;
        const at = got.indexOf('#');
        if (at > 0 && got.length - at - 1 >= Number(got.slice(0, at))) {
          socket.destroy();
          resolve(got.slice(at + 1));
        }
      });
      socket.on('error', reject);
    });
    const reply = JSON.parse(answer) as { id: string; response?: { organizationId?: string }; err?: unknown };
    expect([reply.id, reply.err, typeof reply.response?.organizationId]).toEqual(['frame-1', undefined, 'string']);
  });
});
