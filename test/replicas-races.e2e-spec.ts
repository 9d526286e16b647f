// Two replicas' races made deterministic, in process (the HTTP run in test/replicas.e2e-spec.ts found them): a
// replica's cached state after the store answered its append as another replica's copy, and two projectors over
// one embedded read store.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { type EventStore, type RecordedEvent, createRollcallEventStore } from '@rollcall/event-store';
import { AuditLog } from '../apps/api/src/audit/audit-log';
import { loadAuditIdentity } from '../apps/api/src/audit/audit-identity';
import { type Config, loadConfig } from '../apps/api/src/config';
import { Metrics } from '../apps/api/src/infrastructure/metrics';
import { createReadSide } from '../apps/api/src/infrastructure/read-side.factory';
import { CreateOrganizationCommand, CreateOrganizationHandler } from '../apps/api/src/organizations/create-organization';
import { CreateWorkspaceCommand, CreateWorkspaceHandler } from '../apps/api/src/workspaces/create-workspace';
import {
  AcceptInvitationCommand,
  AcceptInvitationHandler,
  InviteMemberCommand,
  InviteMemberHandler,
} from '../apps/api/src/invitations/invitation-handlers';
import { ChangeAccessCommand, ChangeAccessHandler, RevokeAccessCommand, RevokeAccessHandler } from '../apps/api/src/members/member-handlers';
import { newCommandContext } from '../apps/api/src/shared/command-path/command-context';
import type { InvitationMailer } from '../apps/api/src/mail/mailer';
import { DerivedSecrets, InvitationLinks } from '../apps/api/src/shared/secrets';
import { StreamHandler } from '../apps/api/src/shared/command-path/stream-handler';
import { StreamStates } from '../apps/api/src/shared/command-path/stream-states';
import { checkDecidedState } from './support/invariants';

/**
 * The race the HTTP run in test/replicas.e2e-spec.ts found, made deterministic with two in-process replicas over one embedded store: a
 * command sent to both replicas with one key is decided by B on a state at revision X; A writes another event and
 * then the same command's events while B's append waits; the store answers B's append as a copy of A's (same event
 * ids), at A's revision. B's cached state must not jump from X to there, skipping the event in between.
 */
describe('a replica whose append the store answers as another replica\'s copy of the same command', () => {
  let dir: string;
  let stores: Awaited<ReturnType<typeof createRollcallEventStore>>;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rollcall-replica-cache-'));
    stores = await createRollcallEventStore({ dataDir: dir, durability: 'normal' });
  });
  afterAll(async () => {
    await stores.store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const noMail: InvitationMailer = { send: async () => undefined, sendEmailConfirmation: async () => undefined };
  const replica = (store: EventStore) => {
    const streams = new StreamHandler(store, new StreamStates(store));
    const links = new InvitationLinks('replica-cache-secret-0123456789abcdef0123', 'https://console.test');
    const config = { invitationTtlSeconds: 172_800 } as Config;
    return {
      createOrg: new CreateOrganizationHandler(streams, new DerivedSecrets('replica-cache-secret-0123456789abcdef0123')),
      createWorkspace: new CreateWorkspaceHandler(streams),
      invite: new InviteMemberHandler(streams, links, noMail, config),
      accept: new AcceptInvitationHandler(streams, links),
      change: new ChangeAccessHandler(streams),
      revoke: new RevokeAccessHandler(streams),
    };
  };

  it('rule 11: after that append, B still sees the member A revoked in between and refuses to change their access (NOT_A_MEMBER)', async () => {
    const store = stores.store;
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    let holding = false;
    // B's appends wait while `holding`; everything else is the real store
    const gated = new Proxy(store, {
      get: (target, prop) =>
        prop === 'append' || prop === 'appendMany'
          ? async (...args: unknown[]) => {
              if (holding) await held;
              return (target as any)[prop](...args);
            }
          : typeof (target as any)[prop] === 'function'
            ? (target as any)[prop].bind(target)
            : (target as any)[prop],
    });
    const a = replica(store);
    const b = replica(gated);
    const ctx = (actorId: string, idempotencyKey?: string) => newCommandContext({ actorId, ...(idempotencyKey && { idempotencyKey }) });

    const org = await a.createOrg.execute(new CreateOrganizationCommand(ctx('system'), 'Acme', { email: 'admin@acme.test', displayName: 'Admin' }));
    const admin = org.adminUserId;
    const { workspaceId } = await a.createWorkspace.execute(new CreateWorkspaceCommand(ctx(admin), org.organizationId, { name: 'W' }));
    const ref = { organizationId: org.organizationId, workspaceId };
    const invited = await a.invite.execute(new InviteMemberCommand(ref, ctx(admin), { email: 'm@acme.test', roles: ['agent'] }));
    const member = (await a.accept.execute(new AcceptInvitationCommand(ctx('invitee'), new URL(invited.inviteUrl).searchParams.get('token')!))).userId as string;
    // B knows the workspace as it is now (revision X)
    await b.change.execute(new ChangeAccessCommand(ref, ctx(admin), member, { roles: ['agent'] })).catch(() => undefined);

    // the same invitation (one key) on both replicas; B decides at X, its append waits
    holding = true;
    const onB = b.invite.execute(new InviteMemberCommand(ref, ctx(admin, 'org:same-key'), { email: 'k@acme.test' }));
    await new Promise((r) => setTimeout(r, 50));
    await a.revoke.execute(new RevokeAccessCommand(ref, ctx(admin), member)); // X+1
    await a.invite.execute(new InviteMemberCommand(ref, ctx(admin, 'org:same-key'), { email: 'k@acme.test' })); // X+2
    holding = false;
    release();
    await onB;

    const changed = b.change.execute(new ChangeAccessCommand(ref, ctx(admin), member, { roles: ['manager'] }));
    await expect(changed).rejects.toMatchObject({ error: { code: 'NOT_A_MEMBER' } });
    const log: RecordedEvent[] = [];
    for await (const e of store.readAll()) log.push(e);
    expect(checkDecidedState(log).violations).toEqual([]);
  });
});

/**
 * Two projectors over one read store corrupt what accumulates (each applies events to documents the other already
 * moved past: presence counted twice), so of the API processes over a data dir one projects at a time, through a
 * lease (apps/api/src/infrastructure/lease.ts); here two read sides as two processes would run them.
 */
describe('one projector per embedded read store, whichever process runs it', () => {
  it('of two read sides over one data dir one projects, the other stands by and takes over when it stops (rule 13: presence counted once)', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'rollcall-lease-'));
    const { store } = await createRollcallEventStore({ dataDir, durability: 'normal' });
    const t0 = Date.parse('2026-03-01T10:00:00Z');
    let n = 0;
    const presence = async (status: string, previous: string, seconds: number) =>
      (
        await store.append('presence-w-u', [
          {
            id: `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`,
            type: 'PresenceChanged',
            data: { workspaceId: 'w', organizationId: 'o', userId: 'u', status, previous, reason: status === 'offline' ? 'forced' : 'heartbeat', lastSeenAt: null, changedAt: new Date(t0 + seconds * 1000).toISOString() },
            metadata: { schemaVersion: 1 },
          },
        ], 'any')
      ).position;
    const config = loadConfig({ ROLLCALL_DATA_DIR: dataDir, PORT: '0', LOG_LEVEL: 'silent' });
    const logs = pino({ enabled: false });
    const sides = [await createReadSide(config, new Metrics(), logs), await createReadSide(config, new Metrics(), logs)];
    try {
      for (const side of sides) await side.start();
      await presence('online', 'offline', 0);
      const head = await presence('offline', 'online', 10);
      expect(await sides[0]!.waitFor(head, 8_000)).toBe(true);
      await new Promise((r) => setTimeout(r, 600)); // a status report or two from each thread
      const projecting = sides.map((side) => side.projections().length > 0);
      expect(projecting.filter(Boolean)).toHaveLength(1);

      // the leader stops; the other takes over and projects what comes next
      const [leader, standby] = projecting[0] ? [sides[0]!, sides[1]!] : [sides[1]!, sides[0]!];
      await leader.close();
      await presence('online', 'offline', 20);
      const last = await presence('offline', 'online', 30);
      expect(await standby.waitFor(last, 10_000)).toBe(true);
      // waitFor reads the committed checkpoints; the projector thread's status reaches this thread with its next
      // report (every 250 ms): a clean-clone CI run read it before that report once
      for (let i = 0; i < 40 && standby.projections().length === 0; i++) await new Promise((r) => setTimeout(r, 50));
      expect(standby.projections().length).toBeGreaterThan(0);
      const day = await standby.store.get('presence_daily', 'w:2026-03-01:u');
      expect((day?.doc as { onlineMs?: number } | undefined)?.onlineMs).toBe(20_000);
    } finally {
      for (const side of sides) await side.close().catch(() => undefined);
      await store.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 60_000);
});

/** The notary the same way (lease.ts): two over one audit.sqlite would fold the same log into the same tree twice. */
describe('one notary per data dir, whichever process runs it', () => {
  it('of two notaries over one data dir one folds the log, the other stands by and takes over from the tree it left when it stops', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'rollcall-notary-lease-'));
    const { store } = await createRollcallEventStore({ dataDir, durability: 'normal' });
    let n = 0;
    const append = async (count: number) => {
      let position = -1n;
      for (let i = 0; i < count; i++)
        position = (await store.append(`s-${n % 3}`, [{ id: `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`, type: 'E', data: { n }, metadata: {} }], 'any')).position;
      return Number(position);
    };
    const reaches = async (notary: AuditLog, size: number) => {
      for (let i = 0; i < 200 && !(notary.progress().size >= size && notary.treeSize() >= size); i++) await new Promise((r) => setTimeout(r, 50));
      return notary.treeSize();
    };
    const config = loadConfig({ ROLLCALL_DATA_DIR: dataDir, PORT: '0', LOG_LEVEL: 'silent' });
    const notaries = [new AuditLog(config, loadAuditIdentity(config), new Metrics()), new AuditLog(config, loadAuditIdentity(config), new Metrics())];
    try {
      for (const notary of notaries) await notary.onApplicationBootstrap();
      const head = await append(30);
      expect(await reaches(notaries[0]!, head)).toBe(head);
      await new Promise((r) => setTimeout(r, 1_200)); // a status report from each thread (the standby's every second)
      const leading = notaries.map((notary) => notary.progress().notarizing);
      expect(leading.filter(Boolean)).toHaveLength(1);
      const [leader, standby] = leading[0] ? [notaries[0]!, notaries[1]!] : [notaries[1]!, notaries[0]!];

      // the leader stops; the other takes over where the tree is and folds what comes next
      await leader.onApplicationShutdown();
      const last = await append(20);
      expect(await reaches(standby, last)).toBe(last);
      expect(standby.progress().notarizing).toBe(true);
      // the tree is the log's, leaf for leaf: the checkpoint of its size proves the first entry in it
      expect(standby.inclusion(1n, last)).toMatchObject({ treeSize: last });
    } finally {
      for (const notary of notaries) await notary.onApplicationShutdown().catch(() => undefined);
      await store.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 60_000);
});
