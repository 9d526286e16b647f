// Rule 12 (docs/rules.md#crypto-shredding): the erasure pass at start finishes a deletion that a crash interrupted
// between its append and the forgetting of its keys, and records each erasure (docs/adr/0003, "Erasure recorded").
// Real handlers over one embedded store; a "replica" is a StreamHandler with its own cache, as in deletion-races.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type EventStore, FORGET_KEYS_WITH_EVENT, type PersonalData, type RecordedEvent, createRollcallEventStore } from '@rollcall/event-store';
import type { Config } from '../config';
import { AcceptInvitationCommand, AcceptInvitationHandler, InviteMemberCommand, InviteMemberHandler } from '../invitations/invitation-handlers';
import { CreateOrganizationCommand, CreateOrganizationHandler } from '../organizations/create-organization';
import { newCommandContext } from '../shared/command-path/command-context';
import type { InvitationMailer } from '../mail/mailer';
import { DerivedSecrets, InvitationLinks } from '../shared/secrets';
import { StreamHandler } from '../shared/command-path/stream-handler';
import { StreamStates, workspaceStream } from '../shared/command-path/stream-states';
import type { WorkspaceRef } from '../shared/command-path/targets';
import { DeleteUserCommand, DeleteUserHandler } from '../users/user-handlers';
import { CreateWorkspaceCommand, CreateWorkspaceHandler } from '../workspaces/create-workspace';
import { ERASURE_RECORDED, ERASURE_RECORDED_FLAG, eraseDeletedUsers, erasuresStream } from './erasure';

const SECRET = 'erasure-test-secret-0123456789abcdef0123456789';
const NO_MAIL: InvitationMailer = { send: async () => undefined, sendEmailConfirmation: async () => undefined };
const ctx = (actorId: string) => newCommandContext({ actorId });

let dir: string;
let store: EventStore;
let personalData: PersonalData;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rollcall-erasure-'));
  ({ store, personalData } = await createRollcallEventStore({ dataDir: dir, durability: 'normal' }));
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

/** One API process: the real handlers over `events`, deleting with `keys` and recording through `records`. */
function replica(events: EventStore, keys: PersonalData, records: EventStore = events) {
  const streams = new StreamHandler(events, new StreamStates(events));
  const links = new InvitationLinks(SECRET, 'https://console.test');
  return {
    createOrg: new CreateOrganizationHandler(streams, new DerivedSecrets(SECRET)),
    createWorkspace: new CreateWorkspaceHandler(streams),
    invite: new InviteMemberHandler(streams, links, NO_MAIL, { invitationTtlSeconds: 172_800 } as Config),
    accept: new AcceptInvitationHandler(streams, links),
    del: new DeleteUserHandler(streams, keys, records),
  };
}
type Replica = ReturnType<typeof replica>;

/** An organization with two workspaces; x@acme.test is a member of the first and invited (pending) to the second. */
async function setUp(r: Replica) {
  const org = await r.createOrg.execute(new CreateOrganizationCommand(ctx('system'), 'Acme', { email: 'admin@acme.test', displayName: 'Admin' }));
  const admin = org.adminUserId;
  const workspace = async (name: string): Promise<WorkspaceRef> => ({
    organizationId: org.organizationId,
    workspaceId: (await r.createWorkspace.execute(new CreateWorkspaceCommand(ctx(admin), org.organizationId, { name }))).workspaceId,
  });
  const first = await workspace('First');
  const second = await workspace('Second');
  const inv = await r.invite.execute(new InviteMemberCommand(first, ctx(admin), { email: 'x@acme.test' }));
  const x = (await r.accept.execute(new AcceptInvitationCommand(ctx('invitee'), new URL(inv.inviteUrl).searchParams.get('token')!))).userId as string;
  const pending = await r.invite.execute(new InviteMemberCommand(second, ctx(admin), { email: 'x@acme.test' }));
  return { admin, x, first, second, pendingId: pending.invitationId };
}

/** an invitation's address as the log reads now (null: its key is forgotten); the decided state hides a deleted user's too */
const addressOf = async (ref: WorkspaceRef, invitationId: string) => {
  for await (const e of store.readStream(workspaceStream(ref.workspaceId))) {
    const data = e.data as { invitationId?: string; email?: string | null };
    if (e.type === 'UserInvited' && data.invitationId === invitationId) return data.email;
  }
  throw new Error(`no invitation ${invitationId}`);
};

const records = async (organizationId: string) => {
  const found: RecordedEvent[] = [];
  for await (const e of store.readStream(erasuresStream(organizationId))) found.push(e);
  return found;
};

describe('rule 12: the erasure pass at start', () => {
  it('a deletion answered in full is recorded, and a start then forgets nothing (the address invited again keeps its new key)', async () => {
    const r = replica(store, personalData);
    const { admin, x, first, second, pendingId } = await setUp(r);
    await r.del.execute(new DeleteUserCommand(first.organizationId, ctx(admin), x));
    expect(await records(first.organizationId)).toEqual([expect.objectContaining({ type: ERASURE_RECORDED, data: { organizationId: first.organizationId, userId: x } })]);
    const again = await r.invite.execute(new InviteMemberCommand(first, ctx(admin), { email: 'x@acme.test' }));

    expect(await eraseDeletedUsers(store, new StreamStates(store), personalData)).toBe(0);
    expect(await addressOf(first, again.invitationId)).toBe('x@acme.test');
    expect(await addressOf(second, pendingId)).toBeNull();
  });

  it('a process that died after appending the deletion (its keys went in the same transaction) and before recording it: the address invited again meanwhile keeps its new key, and the next start records the erasure once, forgetting nothing more', async () => {
    // the deleting process dies after the append: what follows it (the WAL's traces, memory, the record) never happens
    const dying = replica(store, { ...personalData, subjectsOf: (u, o) => personalData.subjectsOf(u, o), forgetAfterDeletion: () => Promise.reject(new Error('process died')) });
    const healthy = replica(store, personalData);
    const { admin, x, first, second, pendingId } = await setUp(healthy);
    await expect(dying.del.execute(new DeleteUserCommand(first.organizationId, ctx(admin), x))).rejects.toThrow('process died');
    // the keys went with the deletion: the pending invitation reads erased at once, the address invited again gets a new key
    expect(await addressOf(second, pendingId)).toBeNull();
    const again = await healthy.invite.execute(new InviteMemberCommand(first, ctx(admin), { email: 'x@acme.test' }));
    expect(await records(first.organizationId)).toEqual([]);

    // the next start: a new process, which remembers nothing of the deletion (review: it deleted the new key)
    await store.close();
    ({ store, personalData } = await createRollcallEventStore({ dataDir: dir, durability: 'normal' }));
    expect(await eraseDeletedUsers(store, new StreamStates(store), personalData)).toBe(1);
    expect(await addressOf(second, pendingId)).toBeNull();
    expect(await addressOf(first, again.invitationId)).toBe('x@acme.test');
    expect(await records(first.organizationId)).toHaveLength(1);
    expect(await eraseDeletedUsers(store, new StreamStates(store), personalData)).toBe(0);
  });

  it('a deletion written before erasures were recorded: the start leaves out the address invited again after it (its new key), erases the rest, and records it', async () => {
    const old = previousVersion();
    const { admin, x, first, second, pendingId } = await setUp(old);
    await old.del.execute(new DeleteUserCommand(first.organizationId, ctx(admin), x));
    const again = await old.invite.execute(new InviteMemberCommand(first, ctx(admin), { email: 'x@acme.test' }));
    expect(await records(first.organizationId)).toEqual([]);

    expect(await eraseDeletedUsers(store, new StreamStates(store), personalData)).toBe(1);
    expect(await addressOf(first, again.invitationId)).toBe('x@acme.test');
    expect(await addressOf(second, pendingId)).toBeNull();
    expect(await records(first.organizationId)).toHaveLength(1);
    expect(await eraseDeletedUsers(store, new StreamStates(store), personalData)).toBe(0);
  });
});

describe('rule 12: the deletion\'s position reaches the key store (its tombstones, docs/adr/0003 point 11)', () => {
  /** personalData, recording the positions its forgets are given */
  const spying = () => {
    const calls: { how: string; ids: string[]; position?: bigint }[] = [];
    const spy: PersonalData = {
      ...personalData,
      subjectsOf: (u, o) => personalData.subjectsOf(u, o),
      forget: async (ids, position) => {
        calls.push({ how: 'forget', ids, position });
        await personalData.forget(ids, position);
      },
      forgetAfterDeletion: async (ids, position) => {
        calls.push({ how: 'forgetAfterDeletion', ids, position });
        await personalData.forgetAfterDeletion(ids, position);
      },
    };
    return { spy, calls };
  };

  it('the delete handler hands over the position of its deletion\'s last event', async () => {
    const { spy, calls } = spying();
    const r = replica(store, spy);
    const { admin, x, first } = await setUp(r);
    const answer = await r.del.execute(new DeleteUserCommand(first.organizationId, ctx(admin), x));
    let lastOfDeletion = -1n;
    for await (const e of store.readAll()) if (e.type === 'UserDeleted' || e.metadata.erasedSubjects !== undefined) lastOfDeletion = e.position;
    // the user's subject, and the own subject of each invitation the deletion names (docs/adr/0024 "Session 41")
    const [user] = personalData.subjectsOf({ userId: x, knownEmails: [], sharedEmails: [] }, first.organizationId);
    expect(calls).toEqual([{ how: 'forgetAfterDeletion', ids: expect.arrayContaining([user]), position: BigInt(answer.position) }]);
    expect(calls[0]!.ids.filter((id) => id.startsWith('i:')).length).toBeGreaterThanOrEqual(1);
    expect(BigInt(answer.position)).toBe(lastOfDeletion);
    // rule 12 across organizations (docs/adr/0003 "Session 24"): the organization invited the address under its
    // invitations' own subjects only, so neither of the address's subjects (within the organization, or the one every
    // organization shares: other organizations' older invitations) is forgotten or named (probe 33 F2)
    const [, within, shared] = personalData.subjectsOf({ userId: x, knownEmails: ['x@acme.test'], sharedEmails: ['x@acme.test'] }, first.organizationId);
    expect(calls[0]!.ids).not.toContain(within);
    expect(calls[0]!.ids).not.toContain(shared);
  });

  it('the pass at start hands over the position of the deletion it finishes', async () => {
    const old = previousVersion();
    const { admin, x, first } = await setUp(old);
    await old.del.execute(new DeleteUserCommand(first.organizationId, ctx(admin), x));
    let deletion: bigint | undefined;
    for await (const e of store.readAll({ filter: { eventTypes: ['UserDeleted'] } })) deletion = e.position;

    const { spy, calls } = spying();
    expect(await eraseDeletedUsers(store, new StreamStates(store), spy)).toBe(1);
    expect(calls).toEqual([{ how: 'forget', ids: expect.any(Array), position: deletion }]);
  });
});

/** A replica of the previous version's writer: no flag in the deletion's metadata, no record. */
function previousVersion(): Replica {
  const previous = new Proxy(store, {
    get: (target, name) =>
      name === 'appendMany'
        ? (parts: Parameters<EventStore['appendMany']>[0]) =>
            target.appendMany(parts.map((p) => ({ ...p, events: p.events.map((e) => ({ ...e, metadata: withoutFlag(e.metadata) })) })))
        : Reflect.get(target, name, target),
  });
  const noRecords = { append: () => Promise.reject(new Error('no records before this version')) } as unknown as EventStore;
  return replica(previous, personalData, noRecords);
}

const withoutFlag = (metadata: Record<string | symbol, unknown>) => {
  // neither the record's flag nor the keys forgotten in the deletion's transaction (FORGET_KEYS_WITH_EVENT) then
  const { [ERASURE_RECORDED_FLAG]: _flag, [FORGET_KEYS_WITH_EVENT]: _forget, ...rest } = metadata;
  return rest;
};
