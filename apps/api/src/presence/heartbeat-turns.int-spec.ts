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
import { newCommandContext } from '../shared/command-path/command-context';
import { OutboxMailer } from '../mail/mailer';
import { DerivedSecrets, InvitationLinks } from '../shared/secrets';
import { StreamHandler } from '../shared/command-path/stream-handler';
import { StreamStates } from '../shared/command-path/stream-states';
import { BufferedLeaseStore, SqliteLeaseBackend } from './leases';
import { HeartbeatCommand, HeartbeatHandler, type PresenceOptions, PresenceReactions } from './presence-handlers';

const SECRET = 'heartbeat-turns-secret-0123456789abcdef0123';
const APPEND_MS = 25;
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

/**
 * The presence streams' appends in flight, and a gate that holds them: the tests count what is in flight at once, not
 * milliseconds (timing bounds failed on loaded CI machines twice: sessions 38 and 39).
 */
const presence = { inFlight: 0, gate: undefined as Promise<void> | undefined };
const holdPresenceAppends = (): (() => void) => {
  let open!: () => void;
  presence.gate = new Promise((resolve) => (open = resolve));
  return () => {
    presence.gate = undefined;
    open();
  };
};
const until = async (what: string, condition: () => boolean, ms = 10_000) => {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${what}`);
    await sleep(5);
  }
};

/** KurrentDB-like: no APPEND_AFTER (turns last until the commit), and each append takes APPEND_MS */
function remote(store: EventStore): EventStore {
  const strip = <T extends { metadata?: unknown }>(e: T): T => {
    const metadata = { ...(e.metadata as Record<string | symbol, unknown>) };
    delete metadata[APPEND_AFTER];
    return { ...e, metadata };
  };
  const roundTrip = async (streams: string[], append: () => unknown) => {
    const onPresence = streams.some((stream) => stream.startsWith('presence-'));
    if (onPresence) presence.inFlight++;
    try {
      await sleep(APPEND_MS);
      if (onPresence) await presence.gate;
      return await append();
    } finally {
      if (onPresence) presence.inFlight--;
    }
  };
  return new Proxy(store, {
    get: (target, name) => {
      if (name === 'append')
        return (stream: string, events: { metadata?: unknown }[], expected: unknown) =>
          roundTrip([stream], () => (target.append as (...a: unknown[]) => unknown)(stream, events.map(strip), expected));
      if (name === 'appendMany')
        return (parts: { stream: string; events: { metadata?: unknown }[] }[]) =>
          roundTrip(
            parts.map((p) => p.stream),
            () => target.appendMany(parts.map((p) => ({ ...p, events: p.events.map(strip) })) as never),
          );
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
  const options = { timeoutSeconds: 60 } as PresenceOptions;
  const heartbeat = new HeartbeatHandler(streams, streams.states, leases, options, new PresenceReactions(streams, leases, options));
  return { streams, w, admin, members, heartbeat, access: new ChangeAccessHandler(streams) };
}

describe('rule 13: heartbeats that change a status, with turns lasting until the commit (KurrentDB)', () => {
  it(`${MEMBERS} members coming online at once in one workspace are not answered one commit after the other`, async () => {
    const s = await workspaceOfMembers();
    const release = holdPresenceAppends();
    try {
      const beats = s.members.map((m) => s.heartbeat.execute(new HeartbeatCommand(s.w, ctx(m), 'online')));
      // one after the other, a single append would be in flight at a time; concurrent, all of them at once
      await until(`${MEMBERS} status changes in flight at once`, () => presence.inFlight === MEMBERS);
      release();
      await Promise.all(beats);
    } finally {
      release();
    }
  });

  it("a workspace command is not held up behind its members' status changes", async () => {
    const s = await workspaceOfMembers();
    const release = holdPresenceAppends();
    try {
      const beats = s.members.map((m) => s.heartbeat.execute(new HeartbeatCommand(s.w, ctx(m), 'online')));
      await until('a status change in flight', () => presence.inFlight > 0);
      // decided and committed while every status change is still held at its append
      await s.access.execute(new ChangeAccessCommand(s.w, ctx(s.admin), s.members[0]!, { roles: ['manager'] }));
      expect(presence.inFlight).toBeGreaterThan(0);
      release();
      await Promise.all(beats);
    } finally {
      release();
    }
  });
});
