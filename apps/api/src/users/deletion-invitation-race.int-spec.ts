// Probe 15's finding 1: deleting a user in one organization while another organization invites one of their
// addresses. The invitation may be decided (and sealed) before the deletion commits and appended after it. The log,
// a process loading it cold, and the replicas' memory must agree on whether the invitation keeps its address: it
// does exactly when it comes after the deletion in the log (docs/rules.md#crypto-shredding: an address can be invited
// again under a new key; docs/adr/0003, "Erasure and sealing race"). Two replicas over one embedded store, the real
// handlers, each replica's memory told of the deletion as its log subscription would (AddressErasure).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type EventStore, type PersonalData, createRollcallEventStore } from '@rollcall/event-store';
import type { Config } from '../config';
import { CreateOrganizationCommand, CreateOrganizationHandler } from '../organizations/create-organization';
import { CreateWorkspaceCommand, CreateWorkspaceHandler } from '../workspaces/create-workspace';
import { AcceptInvitationCommand, AcceptInvitationHandler, InviteMemberCommand, InviteMemberHandler } from '../invitations/invitation-handlers';
import { DeleteUserCommand, DeleteUserHandler } from './user-handlers';
import { AddressErasure } from '../shared/address-erasure';
import { newCommandContext } from '../shared/command-context';
import { OutboxMailer } from '../shared/mailer';
import { DerivedSecrets, InvitationLinks } from '../shared/secrets';
import { StreamHandler } from '../shared/stream-handler';
import { StreamStates } from '../shared/stream-states';
import { type WorkspaceRef, loadWorkspace } from '../shared/targets';

const SECRET = 'race-test-secret-0123456789abcdef0123456789';
const ROUNDS = 60;

let dir: string;
let store: EventStore;
let replicas: ReturnType<typeof replica>[];

function replica(personalData: PersonalData, subjectOf: (email: string) => string) {
  const states = new StreamStates(store);
  const streams = new StreamHandler(store, states);
  const links = new InvitationLinks(SECRET, 'https://console.test');
  const erasure = new AddressErasure(states, undefined, subjectOf);
  // as app.module.ts composes it: after the deletion's keys are gone, every replica's memory hears of it
  const erasing: PersonalData = {
    ...personalData,
    forgetAfterDeletion: async (ids) => {
      await personalData.forgetAfterDeletion(ids);
      for (const r of replicas) await r.erasure.erased(ids);
    },
  };
  return {
    states,
    erasure,
    createOrg: new CreateOrganizationHandler(streams, new DerivedSecrets(SECRET)),
    createWorkspace: new CreateWorkspaceHandler(streams),
    invite: new InviteMemberHandler(streams, links, new OutboxMailer(dir), { invitationTtlSeconds: 172_800 } as Config),
    accept: new AcceptInvitationHandler(streams, links),
    del: new DeleteUserHandler(streams, erasing, store),
  };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rollcall-erasure-race-'));
  const stores = await createRollcallEventStore({ dataDir: dir, durability: 'normal' });
  store = stores.store;
  const subjectOf = (email: string) => stores.sealing.subjectId({ kind: 'email', email });
  replicas = [replica(stores.personalData, subjectOf), replica(stores.personalData, subjectOf)];
});
afterAll(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

const ctx = (actorId: string) => newCommandContext({ actorId });
const tick = () => new Promise((r) => setImmediate(r));
const jitter = async () => {
  for (let i = Math.floor(Math.random() * 4); i > 0; i--) await tick();
};

async function organizationWithWorkspace(name: string) {
  const [a] = replicas;
  const org = await a!.createOrg.execute(new CreateOrganizationCommand(ctx('system'), name, { email: `admin@${name}.test`, displayName: 'Admin' }));
  const { workspaceId } = await a!.createWorkspace.execute(new CreateWorkspaceCommand(ctx(org.adminUserId), org.organizationId, { name: 'W' }));
  return { admin: org.adminUserId, ref: { organizationId: org.organizationId, workspaceId } satisfies WorkspaceRef };
}

/** The invitation's address as a state loaded from the log reads it: a fresh process's. */
const fromLog = async (ref: WorkspaceRef, invitationId: string) => (await loadWorkspace(new StreamStates(store), ref)).context.ws.invitations.get(invitationId)?.email;

describe('rule 12: a deletion racing an invitation of the deleted user\'s address elsewhere (probe 15)', () => {
  it(`the invitation keeps its address exactly when it comes after the deletion in the log, and the log, a cold load and every replica's memory agree (${ROUNDS} rounds)`, async () => {
    const [a, b] = replicas;
    const deleting = await organizationWithWorkspace('deleting');
    const inviting = await organizationWithWorkspace('inviting');
    const outcomes = { after: 0, before: 0 };
    for (let round = 0; round < ROUNDS; round++) {
      const email = `victim-${round}@example.test`;
      const joined = await a!.invite.execute(new InviteMemberCommand(deleting.ref, ctx(deleting.admin), { email }));
      const userId = (await a!.accept.execute(new AcceptInvitationCommand(ctx('invitee'), new URL(joined.inviteUrl).searchParams.get('token')!))).userId as string;
      // both replicas know the inviting workspace (its state cached), as a busy API's would be
      for (const r of replicas) await loadWorkspace(r.states, inviting.ref);
      const [deleted, invited] = await Promise.all([
        jitter().then(() => a!.del.execute(new DeleteUserCommand(deleting.ref.organizationId, ctx(deleting.admin), userId))),
        jitter().then(() => b!.invite.execute(new InviteMemberCommand(inviting.ref, ctx(inviting.admin), { email }))),
      ]);
      const after = invited.position > deleted.position;
      if (after) outcomes.after++;
      else outcomes.before++;
      const logged = await fromLog(inviting.ref, invited.invitationId);
      const inMemory = await Promise.all(replicas.map(async (r) => (await loadWorkspace(r.states, inviting.ref)).context.ws.invitations.get(invited.invitationId)?.email));
      expect({ round, after, logged, inMemory }).toEqual({ round, after, logged: after ? email : null, inMemory: [logged, logged] });
    }
    // the race was real: the invitation landed on both sides of the deletion
    expect(outcomes.after).toBeGreaterThan(0);
    expect(outcomes.before).toBeGreaterThan(0);
  }, 120_000);
});
