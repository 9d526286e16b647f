// "An address that has a pending invitation cannot be claimed by another user: neither by requesting the change nor
// by confirming it" (docs/rules.md#email-change), under a race between replicas. Session 22's probe sent the
// confirmation and an invitation to the new address at once: both succeeded (the confirmation decided on the
// workspaces as they were before the invitation, and appended to the organization stream only), and the invitation's
// acceptance linked the user who had claimed the address. Two replicas here are two StreamHandlers over one embedded
// store; the invitation is committed by one between the other's loads and its append.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type EventStore, type PersonalData, createRollcallEventStore } from '@rollcall/event-store';
import type { Config } from '../config';
import { CreateOrganizationCommand, CreateOrganizationHandler } from '../organizations/create-organization';
import { CreateWorkspaceCommand, CreateWorkspaceHandler } from '../workspaces/create-workspace';
import { AcceptInvitationCommand, AcceptInvitationHandler, InviteMemberCommand, InviteMemberHandler } from '../invitations/invitation-handlers';
import { ConfirmEmailChangeCommand, ConfirmEmailChangeHandler, DeleteUserCommand, DeleteUserHandler, UpdateProfileCommand, UpdateProfileHandler } from './user-handlers';
import { newCommandContext } from '../shared/command-path/command-context';
import { OutboxMailer } from '../mail/mailer';
import { DerivedSecrets, EmailConfirmationLinks, InvitationLinks } from '../shared/secrets';
import { StreamHandler } from '../shared/command-path/stream-handler';
import { StreamStates } from '../shared/command-path/stream-states';
import { hooked } from '../shared/testing/hooked-store';

const SECRET = 'race-test-secret-0123456789abcdef0123456789';
const ctx = (actorId: string) => newCommandContext({ actorId });

function replica(store: EventStore, dataDir: string) {
  const streams = new StreamHandler(store, new StreamStates(store));
  const links = new InvitationLinks(SECRET, 'https://console.test');
  const emailLinks = new EmailConfirmationLinks(SECRET, 'https://console.test');
  const config = { invitationTtlSeconds: 172_800 } as Config;
  const mailer = new OutboxMailer(dataDir);
  return {
    emailLinks,
    createOrg: new CreateOrganizationHandler(streams, new DerivedSecrets(SECRET)),
    createWorkspace: new CreateWorkspaceHandler(streams),
    invite: new InviteMemberHandler(streams, links, mailer, config),
    accept: new AcceptInvitationHandler(streams, links),
    updateProfile: new UpdateProfileHandler(streams, emailLinks, mailer, config),
    confirm: new ConfirmEmailChangeHandler(streams, emailLinks),
    del: new DeleteUserHandler(streams, personalData, store),
  };
}

let dir: string;
let store: EventStore;
let personalData: PersonalData;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rollcall-email-race-'));
  ({ store, personalData } = await createRollcallEventStore({ dataDir: dir, durability: 'normal' }));
});
afterAll(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

/**
 * Two replicas (A's store runs `before.run` at its next append), an organization with workspace W, and a member of
 * it (invited with `roles`) who asked for `newEmail`: the confirmation's token. `warm`: A pipelines (a command of A's
 * first: its handler learns that the store checks APPEND_AFTER).
 */
async function memberAskingForAddress(warm: boolean, roles: string[] | undefined, newEmail: string) {
  const before: { run?: () => Promise<unknown> } = {};
  const a = replica(hooked(store, before), dir);
  const b = replica(store, dir);
  const org = await b.createOrg.execute(new CreateOrganizationCommand(ctx('system'), 'Acme', { email: 'admin@acme.test', displayName: 'Admin' }));
  const admin = org.adminUserId;
  if (warm) await a.createWorkspace.execute(new CreateWorkspaceCommand(ctx(admin), org.organizationId, { name: 'W2' }));
  const ws = await b.createWorkspace.execute(new CreateWorkspaceCommand(ctx(admin), org.organizationId, { name: 'W' }));
  const ref = { organizationId: org.organizationId, workspaceId: ws.workspaceId };
  const inv = await b.invite.execute(new InviteMemberCommand(ref, ctx(admin), { email: 'u@acme.test', ...(roles && { roles }) }));
  const user = (await b.accept.execute(new AcceptInvitationCommand(ctx('invitee'), new URL(inv.inviteUrl).searchParams.get('token')!))).userId as string;
  await b.updateProfile.execute(new UpdateProfileCommand(org.organizationId, ctx(user), user, { email: newEmail }));
  const token = new URL(a.emailLinks.url({ organizationId: org.organizationId, userId: user, version: 1 })).searchParams.get('token')!;
  return { a, b, before, org, admin, ref, user, token };
}

describe('email change: an address with a pending invitation cannot be claimed, under a race between replicas', () => {
  it.each([
    ['its first command (decided in turn)', false],
    ['after others (pipelined)', true],
  ])('the confirmation decided before an invitation to the address was committed elsewhere is decided again, and refused (EMAIL_PENDING_INVITATION): %s', async (_, warm) => {
    const { a, b, before, org, admin, user, token } = await memberAskingForAddress(warm, undefined, 'x@acme.test');
    const ws3 = await b.createWorkspace.execute(new CreateWorkspaceCommand(ctx(admin), org.organizationId, { name: 'W3' }));

    // replica B's invitation to the new address commits between replica A's loads and its append
    let invited: { invitationId: string } | undefined;
    before.run = async () => {
      invited = await b.invite.execute(new InviteMemberCommand({ organizationId: org.organizationId, workspaceId: ws3.workspaceId }, ctx(admin), { email: 'x@acme.test' }));
    };
    await expect(a.confirm.execute(new ConfirmEmailChangeCommand(ctx('anyone'), token))).rejects.toMatchObject({ error: { code: 'EMAIL_PENDING_INVITATION' } });
    expect(invited?.invitationId).toBeDefined();
    // the address is still the invitation's: a fresh replica's state has the user at their old address
    const decided = await new StreamStates(store).organization(org.organizationId);
    expect(decided.state.users.get(user)).toMatchObject({ email: 'u@acme.test' });
    expect(decided.state.byEmail.get('x@acme.test')).toBeUndefined();
  });

  it.each([
    ['its first command (decided in turn)', false],
    ['after others (pipelined)', true],
  ])('rule 3: a member\'s invitation of the address they are confirming as theirs, decided before the confirmation committed elsewhere, is decided again and refused (ALREADY_MEMBER): %s', async (_, warm) => {
    // probe 26: sent together, the confirmation was 200 and the invitation 201 (decided on the organization from
    // before the confirmation; a workspace's command appended to the workspace alone): revoked later, the member
    // accepted their own invitation and was an owner again. The invitation now checks the organization's stream.
    const { a, b, before, org, ref, user: owner, token } = await memberAskingForAddress(warm, ['owner'], 'new@acme.test');

    // replica B's confirmation commits between replica A's loads and its append of the owner's invitation
    let confirmed = false;
    before.run = async () => {
      await b.confirm.execute(new ConfirmEmailChangeCommand(ctx('anyone'), token));
      confirmed = true;
    };
    await expect(a.invite.execute(new InviteMemberCommand(ref, ctx(owner), { email: 'new@acme.test', roles: ['owner'] }))).rejects.toMatchObject({ error: { code: 'ALREADY_MEMBER' } });
    expect(confirmed).toBe(true);
    const decided = await new StreamStates(store).workspace((await new StreamStates(store).organization(org.organizationId)).state, ref.workspaceId);
    expect(decided!.state.pendingByEmail.has('new@acme.test')).toBe(false);
  });

  it('an invitation checks the organization as loaded, bound to a user or not: another write to the organization between its load and append sends it back', async () => {
    // session 26 checked only invitations to an address nobody holds (every write to the organization sends back every
    // invitation in flight); probe 27b: one bound to a user the other replica deleted meanwhile (next test)
    const { b, before, org, admin } = await memberAskingForAddress(true, undefined, 'later@acme.test');
    const ws3 = await b.createWorkspace.execute(new CreateWorkspaceCommand(ctx(admin), org.organizationId, { name: 'W3' }));
    const ref3 = { organizationId: org.organizationId, workspaceId: ws3.workspaceId };
    let appends = 0;
    const counted = replica(
      new Proxy(hooked(store, before), {
        get: (target, name) => (name === 'append' || name === 'appendMany' ? (...args: unknown[]) => (appends++, (target[name] as (...a: unknown[]) => unknown).apply(target, args)) : Reflect.get(target, name, target)),
      }),
      dir,
    );
    const attempts = async (email: string) => {
      appends = 0;
      // the other replica renames the admin: a write to the organization's stream
      before.run = () => b.updateProfile.execute(new UpdateProfileCommand(org.organizationId, ctx(admin), admin, { displayName: `Admin ${email}` }));
      await counted.invite.execute(new InviteMemberCommand(ref3, ctx(admin), { email }));
      return appends;
    };
    // the member's address (u@, bound to them) and a new address: both decided again
    expect(await attempts('u@acme.test')).toBe(2);
    expect(await attempts('nobody-yet@acme.test')).toBe(2);
  });

  it.each([false, true])('rule 12 (probe 27b, pipelined turns: %s): the invitation\'s user deleted by another replica between its load and append: decided again, it is bound to nobody', async (warm) => {
    const { a, b, before, org, admin, user } = await memberAskingForAddress(warm, undefined, 'later@acme.test');
    const ws3 = await b.createWorkspace.execute(new CreateWorkspaceCommand(ctx(admin), org.organizationId, { name: 'W3' }));
    before.run = () => b.del.execute(new DeleteUserCommand(org.organizationId, ctx(admin), user));
    const invited = await a.invite.execute(new InviteMemberCommand({ organizationId: org.organizationId, workspaceId: ws3.workspaceId }, ctx(admin), { email: 'u@acme.test' }));
    const states = new StreamStates(store);
    const orgState = (await states.organization(org.organizationId)).state;
    expect(orgState.users.get(user)!.deleted).toBe(true);
    const decided = await states.workspace(orgState, ws3.workspaceId);
    // an invitation to a free address (a new user when accepted), not one to the deleted user for good
    expect(decided!.state.invitations.get(invited.invitationId)).toMatchObject({ status: 'pending', inviteeUserId: null, email: 'u@acme.test' });
  });
});

describe('rule 12: a deletion answered from the log (the same request written first by another replica) forgets no key', () => {
  it.each([false, true])("keys made after the deletion stay (pipelined turns: %s): the address invited again meanwhile keeps its invitation's address", async (warm) => {
    // replicas workload with deletions, session 27: the replica answering from the log forgot the subjects its own
    // discarded decision had named, after the fact: the key made since for the address invited again went with them
    const { a, b, before, org, admin, user } = await memberAskingForAddress(warm, undefined, 'later@acme.test');
    const ws3 = await b.createWorkspace.execute(new CreateWorkspaceCommand(ctx(admin), org.organizationId, { name: 'W3' }));
    const same = newCommandContext({ actorId: admin, idempotencyKey: `delete-${user}` });
    let invitationId = '';
    before.run = async () => {
      await b.del.execute(new DeleteUserCommand(org.organizationId, same, user));
      invitationId = (await b.invite.execute(new InviteMemberCommand({ organizationId: org.organizationId, workspaceId: ws3.workspaceId }, ctx(admin), { email: 'u@acme.test' }))).invitationId;
    };
    await a.del.execute(new DeleteUserCommand(org.organizationId, same, user));
    const states = new StreamStates(store);
    const ws = await states.workspace((await states.organization(org.organizationId)).state, ws3.workspaceId);
    expect(ws!.state.invitations.get(invitationId)).toMatchObject({ status: 'pending', email: 'u@acme.test' });
  });
});
