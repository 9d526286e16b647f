import { Controller, Module } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import { connect } from 'node:net';
import { SYSTEM_KEY, type TestApp, tokenOf } from './support/app';
import { type TcpTestApp, startAppOverTcp } from './support/tcp-app';

/** A stand-in for the contacts service: a real Nest TCP microservice that records what it receives. */
const received: { pattern: string; data: any }[] = [];
@Controller()
class ContactsListener {
  @EventPattern('rollcall.events.AccessRevoked')
  revoked(@Payload() data: unknown) {
    received.push({ pattern: 'rollcall.events.AccessRevoked', data });
  }
  @EventPattern('rollcall.events.UserInvited')
  invited(@Payload() data: unknown) {
    received.push({ pattern: 'rollcall.events.UserInvited', data });
  }
  @EventPattern('rollcall.events.InvitationCancelled')
  cancelled(@Payload() data: unknown) {
    received.push({ pattern: 'rollcall.events.InvitationCancelled', data });
  }
  @EventPattern('rollcall.events.UserDeleted')
  deleted(@Payload() data: unknown) {
    received.push({ pattern: 'rollcall.events.UserDeleted', data });
  }
}
@Module({ controllers: [ContactsListener] })
class ContactsModule {}

let app: TestApp;
let send: TcpTestApp['send'];
let running: TcpTestApp;
beforeAll(async () => {
  running = await startAppOverTcp(ContactsModule);
  ({ app, send } = running);
});
afterAll(() => running.stop());

describe('commands over @nestjs/microservices (TCP)', () => {
  /** One frame in Nest's framing (`<length>#<json>`) on a raw socket; resolves with the reply, or with 'closed'. */
  const rawFrame = (frame: string) =>
    new Promise<string>((resolve, reject) => {
      const socket = connect(app.tcpPort, '127.0.0.1', () => socket.write(`${frame.length}#${frame}`));
      let got = '';
      socket.on('data', (chunk) => {
        got += chunk.toString();
        if (got.includes('"isDisposed":true')) {
          socket.end();
          resolve(got);
        }
      });
      socket.on('close', () => resolve(got || 'closed'));
      socket.on('error', (error: NodeJS.ErrnoException) => (error.code === 'ECONNRESET' ? resolve(got || 'closed') : reject(error)));
    });

  it('runs the member story through message patterns and publishes integration events', async () => {
    const org = await send('organizations.create', { apiKey: SYSTEM_KEY, name: 'Acme', admin: { email: 'ada@acme.test', displayName: 'Ada' } });
    const base = { apiKey: org.apiKey, actorId: org.adminUserId };
    const ws = await send('workspaces.create', { ...base, organizationId: org.organizationId, name: 'Support' });
    const inv = await send('members.invite', { ...base, workspaceId: ws.workspaceId, email: 'jane@acme.test', roles: ['agent'] });
    const joe = await send('members.invite', { ...base, workspaceId: ws.workspaceId, email: 'joe@acme.test', roles: ['agent'] });
    const jane = await send('invitations.accept', { token: tokenOf(inv.inviteUrl) });
    const joeUser = await send('invitations.accept', { token: tokenOf(joe.inviteUrl) });
    const changed = await send('members.changeAccess', { ...base, workspaceId: ws.workspaceId, userId: jane.userId, roles: ['manager'] });
    expect(changed.changed).toEqual(['AccessLevelChanged']);
    const revoked = await send('members.revoke', { ...base, workspaceId: ws.workspaceId, userId: jane.userId, reassignContactsTo: joeUser.userId });
    expect(revoked.contacts).toEqual({ mode: 'reassigned', toUserId: joeUser.userId });

    // the contacts service hears about the revocation, with the reassignment
    const deadline = Date.now() + 5000;
    while (!received.some((r) => r.pattern === 'rollcall.events.AccessRevoked') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const event = received.find((r) => r.pattern === 'rollcall.events.AccessRevoked')!;
    expect(event.data).toMatchObject({
      type: 'AccessRevoked',
      eventId: expect.any(String),
      position: revoked.position,
      data: { userId: jane.userId, workspaceId: ws.workspaceId, contacts: { mode: 'reassigned', toUserId: joeUser.userId } },
    });
    expect(received.filter((r) => r.pattern === 'rollcall.events.UserInvited')).toHaveLength(2);
  });

  it("rule 12: a deletion's own events publish nothing of the user: the invitation it cancels goes out without its address (probe 13)", async () => {
    const org = await send('organizations.create', { apiKey: SYSTEM_KEY, name: 'Acme', admin: { email: 'ada@acme.test', displayName: 'Ada' } });
    const base = { apiKey: org.apiKey, actorId: org.adminUserId };
    const a = await send('workspaces.create', { ...base, organizationId: org.organizationId, name: 'A' });
    const b = await send('workspaces.create', { ...base, organizationId: org.organizationId, name: 'B' });
    const address = `leak-${Math.random().toString(36).slice(2)}@acme.test`;
    const joined = await send('invitations.accept', { token: tokenOf((await send('members.invite', { ...base, workspaceId: a.workspaceId, email: address })).inviteUrl) });
    // left pending in B: the deletion cancels it in the same append as UserDeleted
    const pending = await send('members.invite', { ...base, workspaceId: b.workspaceId, email: address });
    await send('users.delete', { ...base, organizationId: org.organizationId, userId: joined.userId });
    const cancelledHere = (r: { pattern: string; data: any }) => r.pattern === 'rollcall.events.InvitationCancelled' && r.data.data.invitationId === pending.invitationId;
    const deadline = Date.now() + 5000;
    while (!received.some(cancelledHere) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const cancelled = received.find(cancelledHere)!;
    // (and who cancelled it: who deleted the user, probe 82 F7)
    expect(cancelled.data.data).toEqual({ workspaceId: b.workspaceId, invitationId: pending.invitationId, email: null, cancelledAt: expect.any(String), cancelledBy: org.adminUserId });
    const published = JSON.stringify(received.filter((r) => BigInt(r.data.position) > BigInt(pending.position)));
    expect(published).toContain('InvitationCancelled');
    expect(published).not.toContain(address);
    expect(received.some((r) => r.pattern === 'rollcall.events.UserDeleted' && r.data.data.userId === joined.userId)).toBe(true);
  });

  it('refusals come back as the same problem objects as over HTTP', async () => {
    const org = await send('organizations.create', { apiKey: SYSTEM_KEY, name: 'Acme', admin: { email: 'ada@acme.test', displayName: 'Ada' } });
    const ws = await send('workspaces.create', { apiKey: org.apiKey, actorId: org.adminUserId, organizationId: org.organizationId, name: 'S' });
    await expect(send('members.revoke', { apiKey: org.apiKey, actorId: org.adminUserId, workspaceId: ws.workspaceId, userId: org.adminUserId })).rejects.toMatchObject({
      status: 403,
      code: 'CANNOT_MODIFY_SELF',
    });
    await expect(send('members.invite', { apiKey: 'wrong', actorId: 'x', workspaceId: ws.workspaceId, email: 'a@b.io' })).rejects.toMatchObject({ status: 401, code: 'UNAUTHENTICATED' });
    // no key at all, or an empty one: 401 as over HTTP, before the fields are looked at (it was 400, probe 10)
    for (const apiKey of [undefined, ''])
      await expect(send('teams.list', { apiKey, actorId: org.adminUserId, workspaceId: ws.workspaceId, extra: 1 })).rejects.toMatchObject({
        status: 401,
        code: 'UNAUTHENTICATED',
        detail: "Send your API key in the message's `apiKey` field.",
      });
    await expect(send('nope.pattern', {})).rejects.toMatchObject({ status: 404, code: 'UNKNOWN_PATTERN', detail: expect.stringContaining('nope.pattern') });
    await expect(send('members.invite', { apiKey: org.apiKey, actorId: org.adminUserId, workspaceId: ws.workspaceId, email: 'a@b.io', extra: 1 })).rejects.toMatchObject({
      status: 400,
      code: 'VALIDATION_FAILED',
    });
  });

  it('the key is judged before the fields, as over HTTP: a wrong key is 401 and a key of the wrong kind 403 whatever else is wrong (it was 400, probe 13)', async () => {
    const org = await send('organizations.create', { apiKey: SYSTEM_KEY, name: 'Acme', admin: { email: 'ada@acme.test', displayName: 'Ada' } });
    const ws = await send('workspaces.create', { apiKey: org.apiKey, actorId: org.adminUserId, organizationId: org.organizationId, name: 'S' });
    const bad = { actorId: org.adminUserId, workspaceId: ws.workspaceId, email: 'not an address' };
    await expect(send('members.invite', { ...bad, apiKey: 'rk_wrong' })).rejects.toMatchObject({ status: 401, code: 'UNAUTHENTICATED' });
    // a key that cannot be one: 401 too, naming none of the message's fields to the caller (probe 14: 400 listing them)
    for (const apiKey of [123, ['x'], { k: 1 }, true])
      await expect(send('members.invite', { ...bad, apiKey })).rejects.toEqual(expect.objectContaining({ status: 401, code: 'UNAUTHENTICATED' }));
    await expect(send('workspaces.create', { apiKey: 'rk_wrong', actorId: org.adminUserId, organizationId: org.organizationId, name: 'S', plan: 'gold' })).rejects.toMatchObject({ status: 401, code: 'UNAUTHENTICATED' });
    await expect(send('members.invite', { ...bad, apiKey: SYSTEM_KEY })).rejects.toMatchObject({ status: 403, code: 'INSUFFICIENT_AUTHORITY' });
    await expect(send('network.link', { apiKey: org.apiKey, workspaceId: ws.workspaceId })).rejects.toMatchObject({ status: 403, code: 'INSUFFICIENT_AUTHORITY' });
    await expect(send('organizations.create', { apiKey: org.apiKey, name: 'X', admin: { email: 'x@acme.test' } })).rejects.toMatchObject({ status: 403, code: 'INSUFFICIENT_AUTHORITY' });
    // with the right key, the fields are what is wrong
    await expect(send('members.invite', { ...bad, apiKey: org.apiKey })).rejects.toMatchObject({ status: 400, code: 'VALIDATION_FAILED' });
    await expect(send('network.link', { apiKey: SYSTEM_KEY, workspaceId: ws.workspaceId })).rejects.toMatchObject({ status: 400, code: 'VALIDATION_FAILED' });
  });

  it('payloads get the same guards as HTTP bodies: deep nesting and prototype keys are refused with a problem, never a crash', async () => {
    // Nest's TCP client cannot even serialize 5,000 levels: speak its framing (`<length>#<json>`) on a raw socket
    const deep = `${'['.repeat(5000)}"x"${']'.repeat(5000)}`;
    const frame = `{"pattern":"invitations.accept","data":{"token":"a.b","nested":${deep}},"id":"deep-1"}`;
    const answer = await rawFrame(frame);
    expect(JSON.parse(answer.slice(answer.indexOf('#') + 1)).err).toMatchObject({ status: 400, code: 'JSON_TOO_DEEP' });
    const org = await send('organizations.create', { apiKey: SYSTEM_KEY, name: 'Acme', admin: { email: 'ada@acme.test', displayName: 'Ada' } });
    const ws = await send('workspaces.create', { apiKey: org.apiKey, actorId: org.adminUserId, organizationId: org.organizationId, name: 'S' });
    const polluted = JSON.parse(`{"apiKey":"${org.apiKey}","actorId":"${org.adminUserId}","workspaceId":"${ws.workspaceId}","email":"p@acme.test","restrictions":{"__proto__":{"x":1}}}`);
    await expect(send('members.invite', polluted)).rejects.toMatchObject({ status: 422, code: 'INVALID_RESTRICTION' });
    // names of Object.prototype were skipped by class-transformer and the command ran without them (probe 30 F1)
    for (const name of ['toString', 'valueOf', 'hasOwnProperty'])
      await expect(send('workspaces.create', { apiKey: org.apiKey, actorId: org.adminUserId, organizationId: org.organizationId, name: 'T', [name]: 1 })).rejects.toMatchObject({
        status: 400,
        code: 'VALIDATION_FAILED',
        errors: [{ field: name, message: 'is not allowed' }],
      });
  });

  it('a message larger than the body limit is 413 PAYLOAD_TOO_LARGE, as over HTTP; a frame far larger closes the connection unread (probe 12), also one that only declares it (probe 89 F9)', async () => {
    const org = await send('organizations.create', { apiKey: SYSTEM_KEY, name: 'Acme', admin: { email: 'ada@acme.test', displayName: 'Ada' } });
    const ws = await send('workspaces.create', { apiKey: org.apiKey, actorId: org.adminUserId, organizationId: org.organizationId, name: 'S' });
    const message = (name: string) => ({ apiKey: org.apiKey, actorId: org.adminUserId, workspaceId: ws.workspaceId, name });
    // 64 kB is the default limit (ROLLCALL_BODY_LIMIT): a name of 70,000 characters reached the validation before
    await expect(send('teams.create', message('x'.repeat(70_000)))).rejects.toMatchObject({ status: 413, code: 'PAYLOAD_TOO_LARGE' });
    // within the limit, the same message is validated as before
    await expect(send('teams.create', message('x'.repeat(1_000)))).rejects.toMatchObject({ status: 400, code: 'VALIDATION_FAILED' });
    // a raw client gets the refusal as Nest's own: with `isDisposed`, which ends the answer (review)
    const raw = await rawFrame(JSON.stringify({ pattern: 'teams.create', data: message('x'.repeat(70_000)), id: 'big-1' }));
    expect(JSON.parse(raw.slice(raw.indexOf('#') + 1))).toMatchObject({ id: 'big-1', isDisposed: true, err: { status: 413, code: 'PAYLOAD_TOO_LARGE' } });
    const huge = JSON.stringify({ pattern: 'teams.create', data: message('x'.repeat(2_000_000)), id: 'huge-1' });
    expect(await rawFrame(huge)).toBe('closed');
    // one whose header alone declares a frame far larger is closed at its header, not held until Nest's 30 s idle
    // timer (probe 89 F9)
    const started = Date.now();
    const declared = await new Promise<string>((resolve) => {
      const socket = connect(app.tcpPort, '127.0.0.1', () => socket.write('10000000#{"pattern":"x"'));
      socket.on('close', () => resolve('closed'));
      socket.on('error', () => resolve('closed'));
    });
    expect({ declared, fast: Date.now() - started < 5_000 }).toEqual({ declared: 'closed', fast: true });
    // the transport still serves the next connection
    await expect(send('teams.list', { apiKey: org.apiKey, actorId: org.adminUserId, workspaceId: ws.workspaceId })).resolves.toMatchObject({ items: [] });
  });

  it('members.revoke with reassignContactsTo null is 400 naming the field, as over HTTP (it was 422 over HTTP, probe 12)', async () => {
    const org = await send('organizations.create', { apiKey: SYSTEM_KEY, name: 'Acme', admin: { email: 'ada@acme.test', displayName: 'Ada' } });
    const base = { apiKey: org.apiKey, actorId: org.adminUserId };
    const ws = await send('workspaces.create', { ...base, organizationId: org.organizationId, name: 'S' });
    const inv = await send('members.invite', { ...base, workspaceId: ws.workspaceId, email: 'jane@acme.test' });
    // a blank display name counts as none at the acceptance (rule 8), over this transport too
    const jane = await send('invitations.accept', { token: tokenOf(inv.inviteUrl), displayName: '' });
    const refused = send('members.revoke', { ...base, workspaceId: ws.workspaceId, userId: jane.userId, reassignContactsTo: null });
    await expect(refused).rejects.toMatchObject({ status: 400, code: 'VALIDATION_FAILED', errors: [{ field: 'reassignContactsTo', message: expect.any(String) }] });
    const http = await app.api.request('DELETE', `/v1/workspaces/${ws.workspaceId}/members/${jane.userId}`, { key: org.apiKey, actor: org.adminUserId, body: { reassignContactsTo: null } });
    expect({ status: http.status, code: http.body.code, errors: http.body.errors }).toEqual({ status: 400, code: 'VALIDATION_FAILED', errors: [{ field: 'reassignContactsTo', message: expect.any(String) }] });
    // nothing was revoked
    await expect(send('members.revoke', { ...base, workspaceId: ws.workspaceId, userId: jane.userId })).resolves.toMatchObject({ contacts: { mode: 'unassigned' } });
  });

  it('organizations.create with an organization key is 403, with or without actorId, as over HTTP', async () => {
    const org = await send('organizations.create', { apiKey: SYSTEM_KEY, name: 'Acme', admin: { email: 'ada@acme.test', displayName: 'Ada' } });
    const again = { name: 'Other', admin: { email: 'o@acme.test', displayName: 'O' } };
    await expect(send('organizations.create', { apiKey: org.apiKey, ...again })).rejects.toMatchObject({ status: 403, code: 'INSUFFICIENT_AUTHORITY' });
    await expect(send('organizations.create', { apiKey: org.apiKey, actorId: org.adminUserId, ...again })).rejects.toMatchObject({ status: 403, code: 'INSUFFICIENT_AUTHORITY' });
  });

  it("the system key on an organization's operation is 403, as over HTTP (it was 401, or 404 for an organization that exists)", async () => {
    const org = await send('organizations.create', { apiKey: SYSTEM_KEY, name: 'Acme', admin: { email: 'ada@acme.test', displayName: 'Ada' } });
    const ws = await send('workspaces.create', { apiKey: org.apiKey, actorId: org.adminUserId, organizationId: org.organizationId, name: 'S' });
    const system = { apiKey: SYSTEM_KEY };
    for (const [pattern, payload] of [
      ['members.invite', { ...system, workspaceId: ws.workspaceId, email: 'x@acme.test' }],
      ['presence.heartbeat', { ...system, workspaceId: ws.workspaceId, status: 'online' }],
      ['users.updateProfile', { ...system, organizationId: org.organizationId, userId: org.adminUserId, displayName: 'X' }],
      ['workspaces.create', { ...system, organizationId: org.organizationId, name: 'T' }],
    ] as const)
      await expect(send(pattern, payload)).rejects.toMatchObject({ status: 403, code: 'INSUFFICIENT_AUTHORITY', detail: "The system key manages organizations; use the organization's API key here." });
  });

  it('a payload that is not a JSON object is named, as an HTTP body is', async () => {
    for (const [payload, kind] of [[[1, 2], 'an array'], ['x', 'a string'], [7, 'a number'], [true, 'a boolean']] as const)
      await expect(send('members.invite', payload as unknown as object)).rejects.toMatchObject({ status: 400, code: 'VALIDATION_FAILED', detail: `The message payload must be a JSON object; it is ${kind}.` });
  });

  it('idempotency keys work over the transport too', async () => {
    const org = await send('organizations.create', { apiKey: SYSTEM_KEY, name: 'Acme', admin: { email: 'ada@acme.test', displayName: 'Ada' } });
    const ws = await send('workspaces.create', { apiKey: org.apiKey, actorId: org.adminUserId, organizationId: org.organizationId, name: 'S' });
    const msg = { apiKey: org.apiKey, actorId: org.adminUserId, workspaceId: ws.workspaceId, email: 'once@acme.test', idempotencyKey: 'once' };
    const [a, b] = [await send('members.invite', msg), await send('members.invite', msg)];
    expect(b).toEqual(a);
  });
});
