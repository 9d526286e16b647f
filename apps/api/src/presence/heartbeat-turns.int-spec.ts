// Rule 13: what status changes cost with a store whose turns last until the commit (KurrentDB: no APPEND_AFTER;
// emulated here by taking the precondition out of every append) and a round trip per append (APPEND_MS). The review of
// session 30 wrote these against the workspace's turn a status change then took (it checked the workspace's stream):
// status changes followed one another a commit apart, and workspace commands waited behind them. Since session 31 a
// status change takes no workspace turn (MembershipEnded orders it after an ending: targets.ts `presence`).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type EventStore, createRollcallEventStore } from '@rollcall/event-store';
import type { Config } from '../config';
import { AcceptInvitationCommand, AcceptInvitationHandler, InviteMemberCommand, InviteMemberHandler } from '../invitations/invitation-handlers';
import { ChangeAccessCommand, ChangeAccessHandler } from '../members/member-handlers';
import { CreateOrganizationCommand, CreateOrganizationHandler } from '../organizations/create-organization';
import { CreateWorkspaceCommand, CreateWorkspaceHandler } from '../workspaces/create-workspace';
import { newCommandContext } from '../shared/command-context';
import { OutboxMailer } from '../shared/mailer';
import { DerivedSecrets, InvitationLinks } from '../shared/secrets';
import { StreamHandler } from '../shared/stream-handler';
import { StreamStates } from '../shared/stream-states';
import { BufferedLeaseStore, SqliteLeaseBackend } from './leases';
import { HeartbeatCommand, HeartbeatHandler, type PresenceOptions } from './presence-handlers';

const SECRET = 'heartbeat-turns-secret-0123456789abcdef0123';
// long enough that one after the other (MEMBERS × APPEND_MS, ~1 s) stays far from the bound (6 × APPEND_MS) on a loaded
// machine: at 25 ms the bound was 150 ms, and a CI run at load ~10 took 230 ms concurrently (session 38)
const APPEND_MS = 60;
const MEMBERS = 16;
const APPEND_AFTER = Symbol.for('rollcall.event-store.appendAfter');
const ctx = (actorId: string) => newCommandContext({ actorId });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let dir: string;
let inner: EventStore;
let leases: BufferedLeaseStore;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rollcall-hb-turns-'));
  ({ store: inner } = await createRollcallEventStore({ dataDir: dir, durability: 'normal' }));
  leases = new BufferedLeaseStore(new SqliteLeaseBackend(dir), 60_000);
});
afterAll(async () => {
  await leases.close();
  await inner.close();
  rmSync(dir, { recursive: true, force: true });
});

/** KurrentDB-like: no APPEND_AFTER (turns last until the commit), and each append takes APPEND_MS */
function remote(store: EventStore): EventStore {
  const strip = <T extends { metadata?: unknown }>(e: T): T => {
    const metadata = { ...(e.metadata as Record<string | symbol, unknown>) };
    delete metadata[APPEND_AFTER];
    return { ...e, metadata };
  };
  return new Proxy(store, {
    get: (target, name) => {
      if (name === 'append')
        return async (stream: string, events: { metadata?: unknown }[], expected: unknown) => {
          await sleep(APPEND_MS);
          return (target.append as (...a: unknown[]) => unknown)(stream, events.map(strip), expected);
        };
      if (name === 'appendMany')
        return async (parts: { events: { metadata?: unknown }[] }[]) => {
          await sleep(APPEND_MS);
          return target.appendMany(parts.map((p) => ({ ...p, events: p.events.map(strip) })) as never);
        };
      const value = Reflect.get(target, name, target) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

async function workspaceOfMembers() {
  const store = remote(inner);
  const streams = new StreamHandler(store, new StreamStates(store));
  const links = new InvitationLinks(SECRET, 'https://console.test');
  const invite = new InviteMemberHandler(streams, links, new OutboxMailer(dir), { invitationTtlSeconds: 172_800 } as Config);
  const accept = new AcceptInvitationHandler(streams, links);
  const org = await new CreateOrganizationHandler(streams, new DerivedSecrets(SECRET)).execute(new CreateOrganizationCommand(ctx('system'), `Acme ${Math.random()}`, { email: `admin${Math.random()}@acme.test`, displayName: 'Admin' }));
  const admin = org.adminUserId;
  const w = { organizationId: org.organizationId, workspaceId: (await new CreateWorkspaceHandler(streams).execute(new CreateWorkspaceCommand(ctx(admin), org.organizationId, { name: 'W' }))).workspaceId };
  const members: string[] = [];
  for (let i = 0; i < MEMBERS; i++) {
    const inv = await invite.execute(new InviteMemberCommand(w, ctx(admin), { email: `m${i}-${Math.random()}@acme.test`, roles: ['agent'] }));
    members.push((await accept.execute(new AcceptInvitationCommand(ctx('invitee'), new URL(inv.inviteUrl).searchParams.get('token')!))).userId as string);
  }
  const heartbeat = new HeartbeatHandler(streams, streams.states, leases, { timeoutSeconds: 60 } as PresenceOptions);
  return { streams, w, admin, members, heartbeat, access: new ChangeAccessHandler(streams) };
}

describe('rule 13: heartbeats that change a status, with turns lasting until the commit (KurrentDB)', () => {
  it(`${MEMBERS} members coming online at once in one workspace are not answered one commit after the other`, async () => {
    const s = await workspaceOfMembers();
    const started = Date.now();
    await Promise.all(s.members.map((m) => s.heartbeat.execute(new HeartbeatCommand(s.w, ctx(m), 'online'))));
    const elapsed = Date.now() - started;
    // concurrent appends: a few round trips; one after the other: MEMBERS round trips and more
    expect(elapsed).toBeLessThan(6 * APPEND_MS);
  });

  it("a workspace command is not held up behind its members' status changes", async () => {
    const s = await workspaceOfMembers();
    const beats = s.members.map((m) => s.heartbeat.execute(new HeartbeatCommand(s.w, ctx(m), 'online')));
    // once the first of them holds the workspace's turn
    await sleep(APPEND_MS / 2);
    const started = Date.now();
    await s.access.execute(new ChangeAccessCommand(s.w, ctx(s.admin), s.members[0]!, { roles: ['manager'] }));
    const elapsed = Date.now() - started;
    await Promise.all(beats);
    expect(elapsed).toBeLessThan(6 * APPEND_MS);
  });
});

describe('rule 13: heartbeats that change nothing, on a replica that holds no presence state yet (started, or evicted)', () => {
  it("take no workspace turn: they do not wait for the workspace's write in flight (they append nothing)", async () => {
    const s = await workspaceOfMembers();
    await Promise.all(s.members.map((m) => s.heartbeat.execute(new HeartbeatCommand(s.w, ctx(m), 'online'))));
    // another replica (or this one restarted): its states are cold
    const store = remote(inner);
    const streams = new StreamHandler(store, new StreamStates(store));
    const heartbeat = new HeartbeatHandler(streams, streams.states, leases, { timeoutSeconds: 60 } as PresenceOptions);
    const access = new ChangeAccessHandler(streams);
    await access.execute(new ChangeAccessCommand(s.w, ctx(s.admin), s.members[0]!, { roles: ['agent'] }));
    const order: string[] = [];
    const write = access.execute(new ChangeAccessCommand(s.w, ctx(s.admin), s.members[0]!, { roles: ['manager'] })).then(() => order.push('write committed'));
    await sleep(2);
    const answers = await Promise.all(s.members.map((m) => heartbeat.execute(new HeartbeatCommand(s.w, ctx(m), 'online')).then((a) => (order.push('heartbeat'), a))));
    await write;
    expect(answers.every((a) => !a.changed)).toBe(true);
    // answered from the states, as they would be without the write in flight (its append takes APPEND_MS)
    expect(order[0]).toBe('heartbeat');
  });
});
