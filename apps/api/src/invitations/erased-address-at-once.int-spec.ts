// Probe 16, F2 and F3: one process deletes a user; another, whose log subscription has not delivered the deletion yet
// (it polls every 100 ms), holds a workspace of another organization with an invitation to the user's address. Its
// answers must follow the rule at once (docs/rules.md#rule-12): copy link answers 410, and inviting the address again
// is not refused as "already invited". Two processes over one embedded data dir, composed as app.module.ts composes
// these parts; the second's subscription is held before the deletion (`heard`).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRollcallEventStore } from '@rollcall/event-store';
import type { Config } from '../config';
import { CreateOrganizationCommand, CreateOrganizationHandler } from '../organizations/create-organization';
import { AddressErasure } from '../shared/address-erasure';
import { newCommandContext } from '../shared/command-context';
import { OutboxMailer } from '../shared/mailer';
import { DerivedSecrets, InvitationLinks } from '../shared/secrets';
import { StreamHandler } from '../shared/stream-handler';
import { StreamStates } from '../shared/stream-states';
import { DeleteUserCommand, DeleteUserHandler } from '../users/user-handlers';
import { CreateWorkspaceCommand, CreateWorkspaceHandler } from '../workspaces/create-workspace';
import { AcceptInvitationCommand, AcceptInvitationHandler, GetInvitationLinkCommand, GetInvitationLinkHandler, InviteMemberCommand, InviteMemberHandler } from './invitation-handlers';

const SECRET = 'at-once-test-secret-0123456789abcdef0123456789';
type Stores = Awaited<ReturnType<typeof createRollcallEventStore>>;
let dir: string;
const opened: Stores[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'rollcall-at-once-'));
});
afterEach(async () => {
  for (const s of opened.splice(0)) await s.store.close();
  rmSync(dir, { recursive: true, force: true });
});

/** an API process; `heard()`: the position its log subscription has handed on (held still here) */
async function apiProcess(heard: () => bigint) {
  const stores = await createRollcallEventStore({ dataDir: dir, durability: 'normal' });
  opened.push(stores);
  const states = new StreamStates(stores.store, { onUserDeleted: (user) => stores.personalData.forgetCached(stores.personalData.subjectsOf(user)) });
  const erasure = new AddressErasure(
    states,
    undefined,
    (email) => stores.sealing.subjectId({ kind: 'email', email }),
    (ids) => stores.personalData.forgetCached(ids),
    async (ids) => (await stores.sealing.forgottenAfter(ids, heard())) ?? new Map(),
  );
  const streams = new StreamHandler(stores.store, states, { onKeysForgotten: async (ids) => void (await erasure.erased(ids)) });
  const links = new InvitationLinks(SECRET, 'https://console.test');
  const config = { invitationTtlSeconds: 172_800 } as Config;
  return {
    stores,
    states,
    createOrg: new CreateOrganizationHandler(streams, new DerivedSecrets(SECRET)),
    createWorkspace: new CreateWorkspaceHandler(streams),
    invite: new InviteMemberHandler(streams, links, new OutboxMailer(dir), config, erasure),
    link: new GetInvitationLinkHandler(streams, links, erasure),
    accept: new AcceptInvitationHandler(streams, links),
    del: new DeleteUserHandler(streams, { ...stores.personalData, forgetAfterDeletion: async (ids) => { await stores.personalData.forgetAfterDeletion(ids); await erasure.erased(ids); } }, stores.store),
  };
}
type Api = Awaited<ReturnType<typeof apiProcess>>;

const ctx = (actorId: string) => newCommandContext({ actorId });
async function organizationWithWorkspace(p: Api, name: string) {
  const org = await p.createOrg.execute(new CreateOrganizationCommand(ctx('system'), name, { email: `admin@${name}.test`, displayName: 'Admin' }));
  const { workspaceId } = await p.createWorkspace.execute(new CreateWorkspaceCommand(ctx(org.adminUserId), org.organizationId, { name: 'W' }));
  return { admin: org.adminUserId, ref: { organizationId: org.organizationId, workspaceId } };
}

it('rule 12: right after another process deleted the address\'s owner, copy link answers 410 and inviting the address again succeeds, before the log subscription delivers the deletion', async () => {
  let heardByB = -1n;
  const a = await apiProcess(() => 1n << 62n);
  const b = await apiProcess(() => heardByB);
  const deleting = await organizationWithWorkspace(a, 'deleting');
  const inviting = await organizationWithWorkspace(b, 'inviting');
  const email = 'kim@example.test';
  const joined = await a.invite.execute(new InviteMemberCommand(deleting.ref, ctx(deleting.admin), { email }));
  const { userId } = await a.accept.execute(new AcceptInvitationCommand(ctx('invitee'), new URL(joined.inviteUrl).searchParams.get('token')!));
  const invited = await b.invite.execute(new InviteMemberCommand(inviting.ref, ctx(inviting.admin), { email }));
  // B holds the inviting workspace with the invitation's address, and has heard everything so far
  expect((await b.link.execute(new GetInvitationLinkCommand(inviting.ref, ctx(inviting.admin), invited.invitationId))).email).toBe(email);
  heardByB = await b.stores.store.headPosition();

  await a.del.execute(new DeleteUserCommand(deleting.ref.organizationId, ctx(deleting.admin), userId as string));
  const link = await b.link.execute(new GetInvitationLinkCommand(inviting.ref, ctx(inviting.admin), invited.invitationId)).catch((e: { error?: { code: string } }) => e.error?.code);
  expect(link).toBe('INVITATION_ADDRESSEE_ERASED');
  // and again (heard ahead of the subscription once: not handled twice)
  await expect(b.link.execute(new GetInvitationLinkCommand(inviting.ref, ctx(inviting.admin), invited.invitationId))).rejects.toMatchObject({ error: { code: 'INVITATION_ADDRESSEE_ERASED' } });
  const again = await b.invite.execute(new InviteMemberCommand(inviting.ref, ctx(inviting.admin), { email }));
  expect(again.invitationId).not.toBe(invited.invitationId);
});

it('rule 12: inviting the address again right after the deletion, with the old invitation still in memory, is not refused as already invited', async () => {
  let heardByB = -1n;
  const a = await apiProcess(() => 1n << 62n);
  const b = await apiProcess(() => heardByB);
  const deleting = await organizationWithWorkspace(a, 'deleting');
  const inviting = await organizationWithWorkspace(b, 'inviting');
  const email = 'lee@example.test';
  const joined = await a.invite.execute(new InviteMemberCommand(deleting.ref, ctx(deleting.admin), { email }));
  const { userId } = await a.accept.execute(new AcceptInvitationCommand(ctx('invitee'), new URL(joined.inviteUrl).searchParams.get('token')!));
  const invited = await b.invite.execute(new InviteMemberCommand(inviting.ref, ctx(inviting.admin), { email }));
  heardByB = await b.stores.store.headPosition();

  await a.del.execute(new DeleteUserCommand(deleting.ref.organizationId, ctx(deleting.admin), userId as string));
  const again = await b.invite.execute(new InviteMemberCommand(inviting.ref, ctx(inviting.admin), { email }));
  expect(again.invitationId).not.toBe(invited.invitationId);
  const held = (await b.states.workspace((await b.states.organization(inviting.ref.organizationId)).state, inviting.ref.workspaceId))!.state;
  expect([held.invitations.get(invited.invitationId)!.email, held.invitations.get(again.invitationId)!.email]).toEqual([null, email]);
});
