// Rule 4 and "a deleted user is in no workspace" under racing commands (the probe's item 2). Two replicas are two
// StreamHandlers with their own caches and turn-taking over one embedded event store, as two API processes on one
// data dir would be; the commands run through the real feature handlers.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type OrganizationState, type WorkspaceContext, activeMember, isOwner, modelOf, planOf } from '@rollcall/domain';
import { type EventStore, type PersonalData, createRollcallEventStore } from '@rollcall/event-store';
import type { Config } from '../config';
import { CreateOrganizationCommand, CreateOrganizationHandler } from '../organizations/create-organization';
import { CreateWorkspaceCommand, CreateWorkspaceHandler } from '../workspaces/create-workspace';
import { AcceptInvitationCommand, AcceptInvitationHandler, InviteMemberCommand, InviteMemberHandler } from '../invitations/invitation-handlers';
import { ChangeAccessCommand, ChangeAccessHandler, RevokeAccessCommand, RevokeAccessHandler } from '../members/member-handlers';
import { DeleteUserCommand, DeleteUserHandler } from './user-handlers';
import { newCommandContext } from '../shared/command-path/command-context';
import { OutboxMailer } from '../mail/mailer';
import { DerivedSecrets, InvitationLinks } from '../shared/secrets';
import { StreamHandler } from '../shared/command-path/stream-handler';
import { StreamStates, organizationStream } from '../shared/command-path/stream-states';
import { type WorkspaceRef, loadWorkspace } from '../shared/command-path/targets';

const SECRET = 'race-test-secret-0123456789abcdef0123456789';

/** One API replica: its own states and turn-taking, the real handlers. */
function replica(store: EventStore, personalData: PersonalData, dataDir: string) {
  const streams = new StreamHandler(store, new StreamStates(store));
  const links = new InvitationLinks(SECRET, 'https://console.test');
  const config = { invitationTtlSeconds: 172_800 } as Config;
  const mailer = new OutboxMailer(dataDir);
  return {
    streams,
    createOrg: new CreateOrganizationHandler(streams, new DerivedSecrets(SECRET)),
    createWorkspace: new CreateWorkspaceHandler(streams),
    invite: new InviteMemberHandler(streams, links, mailer, config),
    accept: new AcceptInvitationHandler(streams, links),
    change: new ChangeAccessHandler(streams),
    revoke: new RevokeAccessHandler(streams),
    del: new DeleteUserHandler(streams, personalData, store),
  };
}
type Replica = ReturnType<typeof replica>;

const ctx = (actorId: string) => newCommandContext({ actorId });
const tick = () => new Promise((r) => setImmediate(r));
const jitter = async () => {
  for (let i = Math.floor(Math.random() * 3); i > 0; i--) await tick();
};

let dir: string;
let store: EventStore;
let personalData: PersonalData;
let a: Replica;
let b: Replica;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rollcall-races-'));
  const stores = await createRollcallEventStore({ dataDir: dir, durability: 'normal' });
  store = stores.store;
  personalData = stores.personalData;
  a = replica(store, stores.personalData, dir);
  b = replica(store, stores.personalData, dir);
});
afterAll(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

/** An organization with a workspace whose owners are exactly x and y (the admin is demoted to manager). */
async function twoOwners(r: Replica) {
  const org = await r.createOrg.execute(new CreateOrganizationCommand(ctx('system'), 'Acme', { email: 'admin@acme.test', displayName: 'Admin' }));
  const admin = org.adminUserId;
  const { workspaceId } = await r.createWorkspace.execute(new CreateWorkspaceCommand(ctx(admin), org.organizationId, { name: 'W' }));
  const ref: WorkspaceRef = { organizationId: org.organizationId, workspaceId };
  const join = async (email: string) => {
    const inv = await r.invite.execute(new InviteMemberCommand(ref, ctx(admin), { email, roles: ['owner'] }));
    const token = new URL(inv.inviteUrl).searchParams.get('token')!;
    return (await r.accept.execute(new AcceptInvitationCommand(ctx('invitee'), token))).userId as string;
  };
  const x = await join('x@acme.test');
  const y = await join('y@acme.test');
  await r.change.execute(new ChangeAccessCommand(ref, ctx(x), admin, { roles: ['manager'] }));
  return { ref, admin, x, y };
}

/** Checks the decided state as a fresh replica loads it from the log. */
async function decided(ref: WorkspaceRef): Promise<WorkspaceContext> {
  return (await loadWorkspace(new StreamStates(store), ref)).context;
}

const owners = (c: WorkspaceContext) =>
  [...c.ws.members.values()].filter((m) => activeMember(c, m.userId) && isOwner(m.access, modelOf(c), planOf(c))).map((m) => m.userId);

/** Members the workspace stream itself holds as active although their org user is deleted. */
const deletedButActive = (c: WorkspaceContext) =>
  [...c.ws.members.values()].filter((m) => m.status === 'active' && c.org.users.get(m.userId)?.deleted).map((m) => m.userId);

/**
 * A replica's states that, each time the deletion's view (the organization's lock) has loaded `workspaceId`, run
 * `contend` — a write of the same replica to that workspace — and give it 100 ms to commit before the deletion goes on.
 */
/** A second workspace W2 with a member (an agent) whose access the tests change: writes to W2 alone. */
async function workspaceWithMember(r: Replica, organizationId: string, admin: string) {
  const { workspaceId } = await r.createWorkspace.execute(new CreateWorkspaceCommand(ctx(admin), organizationId, { name: 'W2' }));
  const second = { organizationId, workspaceId };
  const inv = await r.invite.execute(new InviteMemberCommand(second, ctx(admin), { email: `busy-${workspaceId}@acme.test`, roles: ['agent'] }));
  const busy = (await r.accept.execute(new AcceptInvitationCommand(ctx('invitee'), new URL(inv.inviteUrl).searchParams.get('token')!))).userId as string;
  return { second, busy };
}

class ContendedStates extends StreamStates {
  contend?: { organizationId: string; workspaceId: string; write: () => Promise<unknown>; writes: Promise<unknown>[] };

  override async workspace(org: OrganizationState, workspaceId: string) {
    const loaded = await super.workspace(org, workspaceId);
    const contend = this.contend;
    const deleting = (this as unknown as { owner?: string }).owner === organizationStream(org.organizationId);
    if (contend && deleting && workspaceId === contend.workspaceId) {
      const write = contend.write();
      contend.writes.push(write);
      await Promise.race([write, new Promise((r) => setTimeout(r, 100))]);
    }
    return loaded;
  }
}

describe('rule 4 and rule 12 under races between replicas (docs/adr/0004)', () => {
  it('rule 4: deleting owner X while another replica revokes or demotes owner Y never leaves the workspace without an owner (200 rounds)', async () => {
    const outcomes = { deleteWon: 0, otherWon: 0, bothRefused: 0 };
    for (let round = 0; round < 200; round++) {
      const { ref, admin, x, y } = await twoOwners(a);
      const other: () => Promise<unknown> =
        round % 2 === 0
          ? () => b.revoke.execute(new RevokeAccessCommand(ref, ctx(admin), y))
          : () => b.change.execute(new ChangeAccessCommand(ref, ctx(admin), y, { roles: ['agent'] }));
      const [deleted, changed] = await Promise.allSettled([
        jitter().then(() => a.del.execute(new DeleteUserCommand(ref.organizationId, ctx(admin), x))),
        jitter().then(other),
      ]);
      const c = await decided(ref);
      expect({ round, owners: owners(c).length > 0 }).toEqual({ round, owners: true });
      expect(deleted.status === 'fulfilled' && changed.status === 'fulfilled').toBe(false);
      for (const r of [deleted, changed]) if (r.status === 'rejected') expect((r.reason as { error?: { code: string } }).error?.code).toBe('LAST_OWNER');
      if (deleted.status === 'fulfilled') outcomes.deleteWon++;
      else if (changed.status === 'fulfilled') outcomes.otherWon++;
      else outcomes.bothRefused++;
    }
    // the race was real: each side won some rounds
    expect(outcomes.deleteWon).toBeGreaterThan(0);
    expect(outcomes.otherWon).toBeGreaterThan(0);
  }, 180_000);

  it('rule 12: deleting a user while they accept an invitation to another workspace never leaves them active there (200 rounds)', async () => {
    const outcomes = { acceptedFirst: 0, deletedFirst: 0 };
    for (let round = 0; round < 200; round++) {
      const { ref, admin, x } = await twoOwners(a);
      const { workspaceId } = await a.createWorkspace.execute(new CreateWorkspaceCommand(ctx(admin), ref.organizationId, { name: 'W2' }));
      const second = { organizationId: ref.organizationId, workspaceId };
      const inv = await a.invite.execute(new InviteMemberCommand(second, ctx(admin), { email: 'x@acme.test' }));
      const token = new URL(inv.inviteUrl).searchParams.get('token')!;
      const [deleted, accepted] = await Promise.allSettled([
        jitter().then(() => a.del.execute(new DeleteUserCommand(ref.organizationId, ctx(admin), x))),
        jitter().then(() => b.accept.execute(new AcceptInvitationCommand(ctx('invitee'), token))),
      ]);
      expect(deleted.status).toBe('fulfilled');
      const c = await decided(second);
      expect({ round, deletedButActive: deletedButActive(c) }).toEqual({ round, deletedButActive: [] });
      if (accepted.status === 'fulfilled') {
        outcomes.acceptedFirst++;
        // the deletion saw the membership: it lists the workspace, so read models remove the member there
        expect(deleted.status === 'fulfilled' && deleted.value.workspaceIds).toContain(workspaceId);
      } else {
        outcomes.deletedFirst++;
        expect((accepted.reason as { error?: { code: string } }).error?.code).toMatch(/^(INVITATION_NOT_PENDING|INVITATION_ADDRESSEE_ERASED)$/);
      }
    }
    expect(outcomes.acceptedFirst).toBeGreaterThan(0);
    expect(outcomes.deletedFirst).toBeGreaterThan(0);
  }, 180_000);

  it('rule 12: an invitation sent and accepted in a workspace the deletion had loaded without the user, before it is appended, sends the deletion back to decide again: the user is deleted there too', async () => {
    // review, session 25: the deletion appended only to the streams it wrote to, so a workspace it had read as not
    // holding the user could take them in meanwhile (no event of the organization's: an existing user's acceptance
    // writes the workspace only), and the deleted user stayed its member; now every stream loaded is checked
    const { ref, admin, x } = await twoOwners(a);
    const { workspaceId } = await a.createWorkspace.execute(new CreateWorkspaceCommand(ctx(admin), ref.organizationId, { name: 'W2' }));
    const second = { organizationId: ref.organizationId, workspaceId };
    let interleaved = false;
    // replica a's store: its next append is preceded by another replica's invitation and acceptance in W2
    const hooked = new Proxy(store, {
      get(target, name, receiver) {
        const value = Reflect.get(target, name, receiver) as unknown;
        if ((name !== 'append' && name !== 'appendMany') || typeof value !== 'function') return typeof value === 'function' ? value.bind(target) : value;
        return async (...args: unknown[]) => {
          if (!interleaved) {
            interleaved = true;
            const inv = await b.invite.execute(new InviteMemberCommand(second, ctx(admin), { email: 'x@acme.test' }));
            await b.accept.execute(new AcceptInvitationCommand(ctx('invitee'), new URL(inv.inviteUrl).searchParams.get('token')!));
            expect(activeMember(await decided(second), x)).toBeTruthy();
          }
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
    const deleting = replica(hooked, personalData, dir);
    const deleted = await deleting.del.execute(new DeleteUserCommand(ref.organizationId, ctx(admin), x));
    expect(interleaved).toBe(true);
    expect(deleted.workspaceIds).toEqual(expect.arrayContaining([ref.workspaceId, workspaceId]));
    expect(deletedButActive(await decided(second))).toEqual([]);
  });
  it.each(['turns lasting until the commit', 'pipelined turns'])('rule 12: a deletion sent back by its own replica\'s write to a workspace takes that workspace\'s turn for its next attempt: a write between every load and append does not starve it (%s)', async (mode) => {
    // review, session 25: decided over every workspace, a deletion was sent back by a write to any of them between its
    // load and its append; in a busy organization it ran out of attempts (409). Here every attempt meets one.
    const { ref, admin, x } = await twoOwners(a);
    const { second, busy } = await workspaceWithMember(a, ref.organizationId, admin);
    const states = new ContendedStates(store);
    const streams = new StreamHandler(store, states);
    // the replica's writes to W2: access changes (a workspace's write alone; an invitation takes the organization's
    // turn, which the deletion holds, session 28)
    const change = new ChangeAccessHandler(streams);
    let n = 0;
    const write = () => change.execute(new ChangeAccessCommand(second, ctx(admin), busy, { roles: [n++ % 2 ? 'agent' : 'manager'] }));
    // a replica's first append tells it whether the store takes pipelined appends (the embedded one does)
    if (mode === 'pipelined turns') await write();
    const writes: Promise<unknown>[] = [];
    states.contend = { ...second, writes, write };
    const deleted = await new DeleteUserHandler(streams, personalData, store).execute(new DeleteUserCommand(ref.organizationId, ctx(admin), x));
    states.contend = undefined;
    expect(deleted.workspaceIds).toEqual([ref.workspaceId]);
    // the first attempt lost to the write it met; the second held the workspace's turn: its write waited, then went in
    expect(writes).toHaveLength(2);
    await expect(Promise.all(writes)).resolves.toHaveLength(2);
    const c = await decided(second);
    expect(activeMember(c, busy)?.access.roles).toEqual([(n - 1) % 2 ? 'agent' : 'manager']);
    expect(c.org.users.get(x)?.deleted).toBe(true);
  });

  it('rule 12 (pipelined turns): a deletion sent back waits, once it holds the workspaces\' turns, for its replica\'s writes to them still in flight: it does not decide behind one and lose to it again', async () => {
    // review of session 26: holding a workspace's turn stops new decisions there, not a write that gave its turn back
    // with its append still in flight; the deletion loaded the workspace without it, and lost to it once more
    const { ref, admin, x } = await twoOwners(a);
    const { second, busy } = await workspaceWithMember(a, ref.organizationId, admin);
    // appendMany(parts) or append(stream, events, expected): a batch with UserDeleted is the deletion's
    const isDeletion = (args: unknown[]) => {
      const events = Array.isArray(args[0]) ? (args[0] as { events: { type: string }[] }[]).flatMap((p) => p.events) : (args[1] as { type: string }[]);
      return events.some((e) => e.type === 'UserDeleted');
    };
    let deletionAppends = 0;
    // the replica's own write to W2 whose append is held here: sent (its turn given back), not yet in the store
    let heldWrite: (() => Promise<unknown>) | undefined;
    let writeSent!: () => void;
    const sent = new Promise<void>((r) => (writeSent = r));
    let local: ReturnType<typeof replica> | undefined;
    let started: Promise<unknown> | undefined;
    const hooked = new Proxy(store, {
      get(target, name, receiver) {
        const value = Reflect.get(target, name, receiver) as unknown;
        if ((name !== 'append' && name !== 'appendMany') || typeof value !== 'function') return typeof value === 'function' ? value.bind(target) : value;
        const real = (args: unknown[]) => (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        return async (...args: unknown[]) => {
          if (isDeletion(args)) {
            deletionAppends++;
            if (deletionAppends === 1) {
              // the first attempt: another replica's write to W2 lands before it (sent back), and this replica's
              // own write to W2 is decided and sent, its append held
              await b.change.execute(new ChangeAccessCommand(second, ctx(admin), busy, { roles: ['manager'] }));
              // (an access change: a workspace's write alone; an invitation would wait for the deletion, session 28)
              started = local!.change.execute(new ChangeAccessCommand(second, ctx(admin), busy, { roles: ['agent'] }));
              await sent;
            } else await heldWrite?.().catch(() => undefined);
            return real(args);
          }
          if (!heldWrite && started) {
            // this replica's write to W2: held until the deletion's next append comes (then it is written first, as
            // it was sent first), or 100 ms (a deletion that waits for it)
            let written: Promise<unknown> | undefined;
            const send = () => (written ??= real(args));
            heldWrite = send;
            setTimeout(send, 100);
            writeSent();
            while (!written) await new Promise((r) => setTimeout(r, 5));
            return written;
          }
          return real(args);
        };
      },
    });
    local = replica(hooked, personalData, dir);
    // a first append: the replica learns that the store takes pipelined appends
    await local.change.execute(new ChangeAccessCommand(second, ctx(admin), busy, { roles: ['agent'] }));
    const deleted = await local.del.execute(new DeleteUserCommand(ref.organizationId, ctx(admin), x));
    expect(deleted.workspaceIds).toEqual([ref.workspaceId]);
    await expect(started).resolves.toMatchObject({ userId: busy });
    // sent back once (the other replica's write), then through: not behind the write in flight
    expect(deletionAppends).toBe(2);
  });
});
