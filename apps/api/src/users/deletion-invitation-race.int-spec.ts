// Probe 15's finding 1 and its review: deleting a user in one organization while another organization invites one of
// their addresses, or cancels an invitation to one. The other command may be decided (and sealed) before the deletion
// commits and appended after it. The log, a process loading it cold, and each process's memory must agree on whether
// an invitation keeps its address: it does exactly when it comes after the deletion in the log; and no event after
// the deletion may carry what it erased (docs/rules.md#crypto-shredding; docs/adr/0003, "Erasure and sealing race").
// Two API processes over one embedded data dir (each its own stores, key caches, states and handlers, as ADR 0011's
// replicas); the other process hears of a deletion a few turns later, as its log subscription would (feed.onErased in
// app.module.ts), so its commands race with it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { type PersonalData, createRollcallEventStore } from '@rollcall/event-store';
import type { Config } from '../config';
import { CreateOrganizationCommand, CreateOrganizationHandler } from '../organizations/create-organization';
import { CreateWorkspaceCommand, CreateWorkspaceHandler } from '../workspaces/create-workspace';
import {
  AcceptInvitationCommand,
  AcceptInvitationHandler,
  CancelInvitationCommand,
  CancelInvitationHandler,
  InviteMemberCommand,
  InviteMemberHandler,
  ResendInvitationCommand,
  ResendInvitationHandler,
} from '../invitations/invitation-handlers';
import { DeleteUserCommand, DeleteUserHandler } from './user-handlers';
import { addressErasureOver } from '../shared/erasure/address-erasure';
import { newCommandContext } from '../shared/command-path/command-context';
import { OutboxMailer } from '../mail/mailer';
import { DerivedSecrets, InvitationLinks } from '../shared/secrets';
import { StreamHandler } from '../shared/command-path/stream-handler';
import { StreamStates, workspaceStream } from '../shared/command-path/stream-states';
import { type WorkspaceRef, loadWorkspace } from '../shared/command-path/targets';
import { withAllKeysView } from '../../../../libs/event-store/src/testing/stored-keys';

// the invitations of these specs are sealed as before session 24 (one address subject shared by every organization)
jest.mock('@rollcall/domain', () => jest.requireActual('../shared/testing/invitations-before-session-24').domainBeforeSession24());

const SECRET = 'race-test-secret-0123456789abcdef0123456789';
const ROUNDS = 40;

type Stores = Awaited<ReturnType<typeof createRollcallEventStore>>;
let dir: string;
let processes: Process[];
/** the other processes' hearing of deletions, a few turns late (awaited before a round's checks) */
let hearings: Promise<void>[] = [];

const tick = () => new Promise((r) => setImmediate(r));
const ticks = async (n: number) => {
  for (let i = 0; i < n; i++) await tick();
};
const jitter = () => ticks(Math.floor(Math.random() * 4));

/** One API process over the data dir, composed as app.module.ts composes these parts. */
function apiProcess(stores: Stores) {
  const states = new StreamStates(stores.store, { onUserDeleted: (user, organizationId) => stores.personalData.forgetCached(stores.personalData.subjectsOf(user, organizationId)) });
  const erasure = addressErasureOver(stores, states, undefined);
  const hear = async (ids: string[]) => {
    await erasure.erased(ids);
  };
  const streams = new StreamHandler(stores.store, states, {
    onKeysForgotten: async (ids) => {
      await erasure.erased(ids);
    },
  });
  const erasing: PersonalData = {
    ...stores.personalData,
    forgetAfterDeletion: async (ids, position) => {
      await stores.personalData.forgetAfterDeletion(ids, position);
      await erasure.erased(ids);
      for (const other of processes) if (other.stores !== stores) hearings.push(jitter().then(() => other.hear(ids)));
    },
  };
  const links = new InvitationLinks(SECRET, 'https://console.test');
  return {
    stores,
    states,
    hear,
    createOrg: new CreateOrganizationHandler(streams, new DerivedSecrets(SECRET)),
    createWorkspace: new CreateWorkspaceHandler(streams),
    invite: new InviteMemberHandler(streams, links, new OutboxMailer(dir), { invitationTtlSeconds: 172_800 } as Config),
    resend: new ResendInvitationHandler(streams, links, new OutboxMailer(dir), { invitationTtlSeconds: 172_800 } as Config),
    accept: new AcceptInvitationHandler(streams, links),
    cancel: new CancelInvitationHandler(streams),
    del: new DeleteUserHandler(streams, erasing, stores.store),
  };
}
type Process = ReturnType<typeof apiProcess>;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rollcall-erasure-race-'));
  processes = [];
  for (let i = 0; i < 2; i++) processes.push(apiProcess(await createRollcallEventStore({ dataDir: dir, durability: 'normal' })));
});
afterAll(async () => {
  for (const p of processes) await p.stores.store.close();
  rmSync(dir, { recursive: true, force: true });
});

const ctx = (actorId: string) => newCommandContext({ actorId });

async function organizationWithWorkspace(p: Process, name: string) {
  const org = await p.createOrg.execute(new CreateOrganizationCommand(ctx('system'), name, { email: `admin@${name}.test`, displayName: 'Admin' }));
  const { workspaceId } = await p.createWorkspace.execute(new CreateWorkspaceCommand(ctx(org.adminUserId), org.organizationId, { name: 'W' }));
  return { admin: org.adminUserId, ref: { organizationId: org.organizationId, workspaceId } satisfies WorkspaceRef };
}

/** A user of the deleting organization with the address `email`. */
async function userWith(p: Process, deleting: Awaited<ReturnType<typeof organizationWithWorkspace>>, email: string): Promise<string> {
  const joined = await p.invite.execute(new InviteMemberCommand(deleting.ref, ctx(deleting.admin), { email }));
  return (await p.accept.execute(new AcceptInvitationCommand(ctx('invitee'), new URL(joined.inviteUrl).searchParams.get('token')!))).userId as string;
}

/** A fresh process's reading of the log: the stream's events with their personal fields opened (null when erased). */
async function logged(ref: WorkspaceRef) {
  const fresh = await createRollcallEventStore({ dataDir: dir, durability: 'normal' });
  try {
    const events: { type: string; position: bigint; data: { invitationId?: string; email?: string | null } }[] = [];
    for await (const e of fresh.store.readStream(workspaceStream(ref.workspaceId))) events.push(e as (typeof events)[number]);
    const state = (await loadWorkspace(new StreamStates(fresh.store), ref)).context.ws;
    return { events, state };
  } finally {
    await fresh.store.close();
  }
}

/** whether the subject has a data key stored now */
const hasKey = (subject: string) => {
  const db = withAllKeysView(new DatabaseSync(join(dir, 'events.sqlite'), { readOnly: true }));
  try {
    return db.prepare('SELECT 1 FROM all_subject_keys WHERE subject = ?').get(subject) !== undefined;
  } finally {
    db.close();
  }
};

describe('rule 12: a deletion racing a command on the deleted user\'s address in another organization, on two processes (probe 15)', () => {
  it(`an invitation keeps its address exactly when it comes after the deletion in the log; the log, a cold load and both processes' memory agree (${ROUNDS} rounds)`, async () => {
    const [a, b] = processes;
    const deleting = await organizationWithWorkspace(a!, 'deleting');
    const inviting = await organizationWithWorkspace(b!, 'inviting');
    const outcomes = { after: 0, before: 0 };
    for (let round = 0; round < ROUNDS; round++) {
      const email = `victim-${round}@example.test`;
      const userId = await userWith(a!, deleting, email);
      // both processes hold the inviting workspace's state, as busy APIs would
      for (const p of processes) await loadWorkspace(p.states, inviting.ref);
      const [deleted, invited] = await Promise.all([
        jitter().then(() => a!.del.execute(new DeleteUserCommand(deleting.ref.organizationId, ctx(deleting.admin), userId))),
        jitter().then(() => b!.invite.execute(new InviteMemberCommand(inviting.ref, ctx(inviting.admin), { email }))),
      ]);
      await Promise.all(hearings.splice(0));
      const after = invited.position > deleted.position;
      outcomes[after ? 'after' : 'before']++;
      const fromLog = (await logged(inviting.ref)).state.invitations.get(invited.invitationId)?.email;
      // a process reads other processes' commits from its next look at the log, once per turn of the event loop
      // (known-heads.ts): the deleting one's background work (its snapshots written again) may have looked in this one
      await tick();
      const inMemory = await Promise.all(processes.map(async (p) => (await loadWorkspace(p.states, inviting.ref)).context.ws.invitations.get(invited.invitationId)?.email));
      expect({ round, after, fromLog, inMemory }).toEqual({ round, after, fromLog: after ? email : null, inMemory: [fromLog, fromLog] });
    }
    // the race was real: the invitation landed on both sides of the deletion
    expect(outcomes.after).toBeGreaterThan(0);
    expect(outcomes.before).toBeGreaterThan(0);
  }, 120_000);

  it(`an invitation cancelled around the deletion never carries the erased address after it, under any key (${ROUNDS} rounds)`, async () => {
    const [a, b] = processes;
    const deleting = await organizationWithWorkspace(a!, 'deleting-c');
    const inviting = await organizationWithWorkspace(b!, 'inviting-c');
    const outcomes = { after: 0, before: 0 };
    for (let round = 0; round < ROUNDS; round++) {
      const email = `cancelled-${round}@example.test`;
      const userId = await userWith(a!, deleting, email);
      // invited before the deletion (sealed under the address's key, which the deletion forgets)
      const invited = await b!.invite.execute(new InviteMemberCommand(inviting.ref, ctx(inviting.admin), { email }));
      // every other round, B holds the state but not the key (as after a snapshot's load, which caches no key, or after
      // folding the deleting organization's UserDeleted): its cancellation must not make the address a new key
      if (round % 2 === 1) b!.stores.personalData.forgetCached([b!.stores.sealing.subjectId({ kind: 'email', email })]);
      const [deleted, cancelled] = await Promise.all([
        jitter().then(() => a!.del.execute(new DeleteUserCommand(deleting.ref.organizationId, ctx(deleting.admin), userId))),
        jitter().then(() => b!.cancel.execute(new CancelInvitationCommand(inviting.ref, ctx(inviting.admin), invited.invitationId))),
      ]);
      await Promise.all(hearings.splice(0));
      outcomes[BigInt(cancelled.position) > BigInt(deleted.position) ? 'after' : 'before']++;
      const { events } = await logged(inviting.ref);
      const theirs = events.filter((e) => e.data.invitationId === invited.invitationId).map((e) => [e.type, e.data.email ?? null]);
      expect({ round, theirs }).toEqual({ round, theirs: [['UserInvited', null], ['InvitationCancelled', null]] });
      expect(hasKey(a!.stores.sealing.subjectId({ kind: 'email', email }))).toBe(false);
    }
    expect(outcomes.after).toBeGreaterThan(0);
    expect(outcomes.before).toBeGreaterThan(0);
  }, 120_000);

  it(`an acceptance around the deletion succeeds only before it in the log, and never copies the erased address after it (${ROUNDS} rounds)`, async () => {
    const [a, b] = processes;
    const deleting = await organizationWithWorkspace(a!, 'deleting-a');
    const inviting = await organizationWithWorkspace(b!, 'inviting-a');
    const outcomes = { accepted: 0, refused: 0 };
    for (let round = 0; round < ROUNDS; round++) {
      const email = `accepting-${round}@example.test`;
      const userId = await userWith(a!, deleting, email);
      const invited = await b!.invite.execute(new InviteMemberCommand(inviting.ref, ctx(inviting.admin), { email }));
      if (round % 2 === 1) b!.stores.personalData.forgetCached([b!.stores.sealing.subjectId({ kind: 'email', email })]);
      const token = new URL(invited.inviteUrl).searchParams.get('token')!;
      const [deleted, accepted] = await Promise.allSettled([
        jitter().then(() => a!.del.execute(new DeleteUserCommand(deleting.ref.organizationId, ctx(deleting.admin), userId))),
        jitter().then(() => b!.accept.execute(new AcceptInvitationCommand(ctx('invitee'), token))),
      ]);
      await Promise.all(hearings.splice(0));
      expect(deleted.status).toBe('fulfilled');
      const deletedAt = BigInt((deleted as PromiseFulfilledResult<{ position: string }>).value.position);
      const { events } = await logged(inviting.ref);
      const acceptedEvent = events.find((e) => e.type === 'InvitationAccepted' && e.data.invitationId === invited.invitationId);
      if (accepted.status === 'fulfilled') {
        outcomes.accepted++;
        // before the deletion: the address is the new member's own now (their key), as an acceptance makes it
        expect({ round, before: acceptedEvent!.position < deletedAt, email: acceptedEvent!.data.email }).toEqual({ round, before: true, email });
      } else {
        outcomes.refused++;
        expect({ round, code: (accepted.reason as { error?: { code: string } }).error?.code, stored: acceptedEvent }).toEqual({ round, code: 'INVITATION_ADDRESSEE_ERASED', stored: undefined });
      }
    }
    expect(outcomes.accepted).toBeGreaterThan(0);
    expect(outcomes.refused).toBeGreaterThan(0);
  }, 120_000);

  it(`a resend around the deletion succeeds only before it in the log, and never mails nor carries the erased address after it (probe 16; ${ROUNDS} rounds)`, async () => {
    const [a, b] = processes;
    const deleting = await organizationWithWorkspace(a!, 'deleting-r');
    const inviting = await organizationWithWorkspace(b!, 'inviting-r');
    const outcomes = { resent: 0, refused: 0 };
    for (let round = 0; round < ROUNDS; round++) {
      const email = `resent-${round}@example.test`;
      const userId = await userWith(a!, deleting, email);
      const invited = await b!.invite.execute(new InviteMemberCommand(inviting.ref, ctx(inviting.admin), { email }));
      const [deleted, resent] = await Promise.allSettled([
        jitter().then(() => a!.del.execute(new DeleteUserCommand(deleting.ref.organizationId, ctx(deleting.admin), userId))),
        jitter().then(() => b!.resend.execute(new ResendInvitationCommand(inviting.ref, ctx(inviting.admin), invited.invitationId))),
      ]);
      await Promise.all(hearings.splice(0));
      expect(deleted.status).toBe('fulfilled');
      const deletedAt = BigInt((deleted as PromiseFulfilledResult<{ position: string }>).value.position);
      const { events } = await logged(inviting.ref);
      const resentEvents = events.filter((e) => e.type === 'InvitationResent' && e.data.invitationId === invited.invitationId);
      if (resent.status === 'fulfilled') {
        outcomes.resent++;
        // before the deletion in the log (its copy of the address is erased with the rest)
        expect({ round, before: resentEvents.map((e) => e.position < deletedAt), email: resentEvents.map((e) => e.data.email) }).toEqual({ round, before: [true], email: [null] });
      } else {
        outcomes.refused++;
        expect({ round, code: (resent.reason as { error?: { code: string } }).error?.code, stored: resentEvents }).toEqual({ round, code: 'INVITATION_ADDRESSEE_ERASED', stored: [] });
      }
    }
    expect(outcomes.resent).toBeGreaterThan(0);
    expect(outcomes.refused).toBeGreaterThan(0);
  }, 120_000);
});
