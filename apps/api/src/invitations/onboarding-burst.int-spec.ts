// An onboarding burst in one organization (bench:onboarding, session 28): invitations (which check the organization's
// stream) and new users' acceptances (which append to it) of many workspaces at once, on one replica. Each took the
// organization revision it loaded, and all but one of those decided on the same revision were sent back; in the bench
// 36 % ran out of attempts (409). Now they take the organization's turn (Target.outerTurn): in one process none is sent
// back by another. Run in both turn modes (a store learned to take pipelined appends, and one not known yet).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type EventStore, WrongExpectedRevisionError, createRollcallEventStore } from '@rollcall/event-store';
import type { Config } from '../config';
import { CreateOrganizationCommand, CreateOrganizationHandler } from '../organizations/create-organization';
import { CreateWorkspaceCommand, CreateWorkspaceHandler } from '../workspaces/create-workspace';
import { newCommandContext } from '../shared/command-path/command-context';
import { OutboxMailer } from '../mail/mailer';
import { DerivedSecrets, InvitationLinks } from '../shared/secrets';
import { StreamHandler } from '../shared/command-path/stream-handler';
import { StreamStates } from '../shared/command-path/stream-states';
import type { WorkspaceRef } from '../shared/command-path/targets';
import { AcceptInvitationCommand, AcceptInvitationHandler, InviteMemberCommand, InviteMemberHandler } from './invitation-handlers';

const SECRET = 'burst-test-secret-0123456789abcdef0123456789';
const WORKSPACES = 10;
const PER_WORKSPACE = 6;

let dir: string;
let closeStore: () => Promise<void>;
let inner: EventStore;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rollcall-burst-'));
  const stores = await createRollcallEventStore({ dataDir: dir, durability: 'normal' });
  inner = stores.store;
  closeStore = () => stores.store.close();
});
afterEach(async () => {
  await closeStore();
  rmSync(dir, { recursive: true, force: true });
});

/** The store, counting the appends it sent back with a wrong expected revision. */
function counting(store: EventStore) {
  const conflicts = { count: 0 };
  const counted = new Proxy(store, {
    get(target, name, receiver) {
      const value = Reflect.get(target, name, receiver) as unknown;
      if (typeof value !== 'function') return value;
      if (name !== 'append' && name !== 'appendMany') return value.bind(target);
      return (...args: unknown[]) =>
        (value as (...a: unknown[]) => Promise<unknown>).apply(target, args).catch((error: unknown) => {
          if (error instanceof WrongExpectedRevisionError) conflicts.count++;
          throw error;
        });
    },
  });
  return { counted, conflicts };
}

const ctx = (actorId: string) => newCommandContext({ actorId });
const tokenOf = (url: string) => new URL(url).searchParams.get('token')!;

it.each(['pipelined turns', 'turns lasting until the commit'])(
  'rule 6, rule 8: invitations and new users\' acceptances in %i workspaces of one organization at once, on one replica: none is sent back by another (%s)'.replace('%i', String(WORKSPACES)),
  async (mode) => {
    const { counted, conflicts } = counting(inner);
    const links = new InvitationLinks(SECRET, 'https://console.test');
    const handlers = (streams: StreamHandler) => ({
      invite: new InviteMemberHandler(streams, links, new OutboxMailer(dir), { invitationTtlSeconds: 172_800 } as Config),
      accept: new AcceptInvitationHandler(streams, links),
    });
    // what the handlers count for /metrics: attempts after a first, commands that ran out of attempts
    const again: string[] = [];
    const exhausted: string[] = [];
    const observed = { onDecidedAgain: (kind: string) => again.push(kind), onExhausted: (kind: string) => exhausted.push(kind) };
    const streams = new StreamHandler(counted, new StreamStates(counted), observed);
    const { invite } = handlers(streams);
    const org = await new CreateOrganizationHandler(streams, new DerivedSecrets(SECRET)).execute(new CreateOrganizationCommand(ctx('system'), 'Acme', { email: 'admin@acme.test', displayName: 'Admin' }));
    const admin = org.adminUserId;
    const create = new CreateWorkspaceHandler(streams);
    const refs: WorkspaceRef[] = [];
    for (let i = 0; i < WORKSPACES; i++) refs.push({ organizationId: org.organizationId, workspaceId: (await create.execute(new CreateWorkspaceCommand(ctx(admin), org.organizationId, { name: `W${i}` }))).workspaceId });
    // this handler has learned from its first append that the store takes pipelined appends; one that has appended
    // nothing yet does not know, and the commands it starts meanwhile take turns lasting until the commit
    const burst = mode === 'pipelined turns' ? handlers(streams) : handlers(new StreamHandler(counted, new StreamStates(counted), observed));
    const pending = await Promise.all(refs.flatMap((ref, w) => Array.from({ length: PER_WORKSPACE }, (_, i) => invite.execute(new InviteMemberCommand(ref, ctx(admin), { email: `first-${w}-${i}@acme.test` })))));
    conflicts.count = 0;
    again.length = 0;

    const results = await Promise.allSettled([
      ...pending.map((inv, i) => burst.accept.execute(new AcceptInvitationCommand(ctx(`invitee-${i}`), tokenOf(inv.inviteUrl)))),
      ...refs.flatMap((ref, w) => Array.from({ length: PER_WORKSPACE }, (_, i) => burst.invite.execute(new InviteMemberCommand(ref, ctx(admin), { email: `next-${w}-${i}@acme.test` })))),
    ]);
    expect(results.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason))).toEqual([]);
    expect(conflicts.count).toBe(0);
    // the handler's own account: no attempt after a first, none ran out
    expect({ again, exhausted }).toEqual({ again: [], exhausted: [] });
  },
  60_000,
);

it('invitations of one organization do not wait for each other\'s commit: one whose append is held does not hold up the next (review of session 28)', async () => {
  let hold: (() => void) | undefined;
  const held = new Promise<void>((r) => (hold = r));
  let holding = false;
  // the store: the append of the invitation to `slow@` waits until the test lets it go
  const store = new Proxy(inner, {
    get(target, name, receiver) {
      const value = Reflect.get(target, name, receiver) as unknown;
      if (typeof value !== 'function') return value;
      if (name !== 'append' && name !== 'appendMany') return value.bind(target);
      return async (...args: unknown[]) => {
        const parts = (name === 'appendMany' ? args[0] : [{ events: args[1] }]) as { events: { data: { email?: string } }[] }[];
        if (holding && parts.some((p) => p.events.some((e) => e.data.email === 'slow@acme.test'))) await held;
        return (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
      };
    },
  });
  const streams = new StreamHandler(store, new StreamStates(store));
  const links = new InvitationLinks(SECRET, 'https://console.test');
  const invite = new InviteMemberHandler(streams, links, new OutboxMailer(dir), { invitationTtlSeconds: 172_800 } as Config);
  const org = await new CreateOrganizationHandler(streams, new DerivedSecrets(SECRET)).execute(new CreateOrganizationCommand(ctx('system'), 'Acme', { email: 'admin@acme.test', displayName: 'Admin' }));
  const create = new CreateWorkspaceHandler(streams);
  const [a, b] = [
    { organizationId: org.organizationId, workspaceId: (await create.execute(new CreateWorkspaceCommand(ctx(org.adminUserId), org.organizationId, { name: 'A' }))).workspaceId },
    { organizationId: org.organizationId, workspaceId: (await create.execute(new CreateWorkspaceCommand(ctx(org.adminUserId), org.organizationId, { name: 'B' }))).workspaceId },
  ];
  holding = true;
  const slow = invite.execute(new InviteMemberCommand(a, ctx(org.adminUserId), { email: 'slow@acme.test' }));
  // (the proxy sees the events before the crypto-shredding store seals them) until the slow one's append is held
  await new Promise((r) => setTimeout(r, 50));
  const next = invite.execute(new InviteMemberCommand(b, ctx(org.adminUserId), { email: 'next@acme.test' }));
  const first = await Promise.race([next.then(() => 'next answered'), new Promise((r) => setTimeout(() => r('next waited'), 2_000))]);
  hold!();
  expect(first).toBe('next answered');
  await expect(slow).resolves.toMatchObject({ invitationId: expect.any(String) });
});
