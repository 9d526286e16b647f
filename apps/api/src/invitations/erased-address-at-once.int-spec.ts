// Probe 16, F2 and F3: one process deletes a user; another, whose log subscription has not delivered the deletion yet
// (it polls every 100 ms), holds a workspace of another organization with an invitation to the user's address. Its
// answers must follow the rule at once (docs/rules.md#rule-12): copy link answers 410, and inviting the address again
// is not refused as "already invited". Two processes over one embedded data dir, composed as app.module.ts composes
// these parts; the second's subscription is held before the deletion (`heard`).
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRollcallEventStore } from '@rollcall/event-store';
import type { Config } from '../config';
import { CreateOrganizationCommand, CreateOrganizationHandler } from '../organizations/create-organization';
import { addressErasureOver } from '../shared/erasure/address-erasure';
import { newCommandContext } from '../shared/command-path/command-context';
import { OutboxMailer } from '../mail/mailer';
import { DerivedSecrets, EmailConfirmationLinks, InvitationLinks } from '../shared/secrets';
import { StreamHandler } from '../shared/command-path/stream-handler';
import { StreamStates, workspaceStream } from '../shared/command-path/stream-states';
import { beforeSession24 } from '../shared/testing/invitations-before-session-24';
import { DeleteUserCommand, DeleteUserHandler, UpdateProfileCommand, UpdateProfileHandler } from '../users/user-handlers';
import { CreateWorkspaceCommand, CreateWorkspaceHandler } from '../workspaces/create-workspace';
import { AcceptInvitationCommand, AcceptInvitationHandler, GetInvitationLinkCommand, GetInvitationLinkHandler, InviteMemberCommand, InviteMemberHandler, ResendInvitationCommand, ResendInvitationHandler } from './invitation-handlers';

// the invitations of these specs are sealed as before session 24 (one address subject shared by every organization),
// but where a test switches beforeSession24.invitations off
jest.mock('@rollcall/domain', () => jest.requireActual('../shared/testing/invitations-before-session-24').domainBeforeSession24());

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
async function apiProcess(heard: () => bigint, beforeMailCheck: () => Promise<void> = async () => undefined) {
  const stores = await createRollcallEventStore({ dataDir: dir, durability: 'normal' });
  opened.push(stores);
  const states = new StreamStates(stores.store, { onUserDeleted: (user, organizationId) => stores.personalData.forgetCached(stores.personalData.subjectsOf(user, organizationId)) });
  const erasure = addressErasureOver(stores, states, undefined, { heardThrough: heard });
  // the check before each invitation email (and email confirmation), held by the test when it must run after a deletion
  const erasedAfter = erasure.erasedAfter.bind(erasure);
  erasure.erasedAfter = async (email, position) => {
    await beforeMailCheck();
    return erasedAfter(email, position);
  };
  const userErasedAfter = erasure.userErasedAfter.bind(erasure);
  erasure.userErasedAfter = async (userId, position) => {
    await beforeMailCheck();
    return userErasedAfter(userId, position);
  };
  const streams = new StreamHandler(stores.store, states, { onKeysForgotten: async (ids) => void (await erasure.erased(ids)) });
  const links = new InvitationLinks(SECRET, 'https://console.test');
  const config = { invitationTtlSeconds: 172_800 } as Config;
  return {
    stores,
    states,
    resend: new ResendInvitationHandler(streams, links, new OutboxMailer(dir), config, erasure),
    createOrg: new CreateOrganizationHandler(streams, new DerivedSecrets(SECRET)),
    createWorkspace: new CreateWorkspaceHandler(streams),
    invite: new InviteMemberHandler(streams, links, new OutboxMailer(dir), config, erasure),
    link: new GetInvitationLinkHandler(streams, links, stores.store, erasure),
    accept: new AcceptInvitationHandler(streams, links),
    profile: new UpdateProfileHandler(streams, new EmailConfirmationLinks(SECRET, 'https://console.test'), new OutboxMailer(dir), config, erasure),
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

/** the outbox's mails (both processes write the data dir's outbox) */
type OutboxMail = { kind?: string; to: string; inviteUrl: string; confirmUrl: string };
const outbox = (): OutboxMail[] => {
  const file = join(dir, 'outbox.jsonl');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as OutboxMail);
};
/** the invitation emails to this address */
const mailsTo = (email: string) => outbox().filter((m) => m.kind !== 'email-confirmation' && m.to === email);
/** the email confirmations to this address */
const confirmationsTo = (email: string) => outbox().filter((m) => m.kind === 'email-confirmation' && m.to === email);

/** what a process's check before each mail waits for while held (opened after a deletion), and how many checks ran */
function mailGate() {
  let held: { opened: Promise<void>; open: () => void } | undefined;
  const gate = {
    checks: 0,
    check: async () => {
      gate.checks++;
      await held?.opened;
    },
    hold: () => {
      let open: () => void = () => undefined;
      const opened = new Promise<void>((resolve) => (open = resolve));
      held = { opened, open };
    },
    release: () => {
      held?.open();
      held = undefined;
    },
  };
  return gate;
}

const until = async (check: () => boolean): Promise<void> => {
  for (let i = 0; i < 500 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  if (!check()) throw new Error(`not reached within 5 s: ${check.toString()}`);
};

it('rule 12: an invitation (or a resend) decided just before another process deleted its address\'s owner sends no email after the erasure; one decided after it does', async () => {
  // B's check before each email waits while the gate is held (released after a deletion)
  const gate = mailGate();
  const a = await apiProcess(() => 1n << 62n);
  const b = await apiProcess(() => -1n, gate.check);
  const deleting = await organizationWithWorkspace(a, 'deleting');
  const inviting = await organizationWithWorkspace(b, 'inviting');
  const email = 'noor@example.test';
  const joinA = async () => {
    const joined = await a.invite.execute(new InviteMemberCommand(deleting.ref, ctx(deleting.admin), { email }));
    return (await a.accept.execute(new AcceptInvitationCommand(ctx('invitee'), new URL(joined.inviteUrl).searchParams.get('token')!))).userId as string;
  };
  const userId = await joinA();
  // A's own invitation email (sent in the background): written before anything below
  await until(() => mailsTo(email).length === 1);

  // appended (answered 201) before the deletion; its email waits for the check, which runs after the deletion
  gate.hold();
  const invited = await b.invite.execute(new InviteMemberCommand(inviting.ref, ctx(inviting.admin), { email }));
  // the email waits for the erasure check (without the check, it is written at once)
  expect(gate.checks).toBe(1);
  await a.del.execute(new DeleteUserCommand(deleting.ref.organizationId, ctx(deleting.admin), userId));
  gate.release();
  // a second address, invited after: mailed (the check lets it through), which also tells that the first was handled
  const other = await b.invite.execute(new InviteMemberCommand(inviting.ref, ctx(inviting.admin), { email: 'sam@example.test' }));
  await until(() => mailsTo('sam@example.test').length === 1);
  expect(mailsTo('sam@example.test').map((m) => m.inviteUrl)).toEqual([other.inviteUrl]);
  expect(mailsTo(email)).toHaveLength(1);
  expect(mailsTo(email).map((m) => m.inviteUrl)).not.toContain(invited.inviteUrl);

  // inviting the address again after the deletion: a new invitation, whose email goes out
  const again = await b.invite.execute(new InviteMemberCommand(inviting.ref, ctx(inviting.admin), { email }));
  await until(() => mailsTo(email).length === 2);
  expect(mailsTo(email).at(-1)!.inviteUrl).toBe(again.inviteUrl);

  // a resend of it, appended before the address's owner (joined A again) is deleted again: not mailed either
  const rejoined = await joinA();
  await until(() => mailsTo(email).length === 3);
  gate.hold();
  const resent = await b.resend.execute(new ResendInvitationCommand(inviting.ref, ctx(inviting.admin), again.invitationId));
  expect(gate.checks).toBe(4);
  await a.del.execute(new DeleteUserCommand(deleting.ref.organizationId, ctx(deleting.admin), rejoined));
  gate.release();
  const last = await b.invite.execute(new InviteMemberCommand(inviting.ref, ctx(inviting.admin), { email: 'kai@example.test' }));
  await until(() => mailsTo('kai@example.test').length === 1);
  expect(mailsTo('kai@example.test').map((m) => m.inviteUrl)).toEqual([last.inviteUrl]);
  expect(mailsTo(email)).toHaveLength(3);
  expect(mailsTo(email).map((m) => m.inviteUrl)).not.toContain(resent.inviteUrl);
});

it("rule 12: an invitation decided just before a deletion in its own organization erased its address (since session 41 the invitation's own subject) sends no email after the erasure", async () => {
  beforeSession24.invitations = false;
  try {
    const gate = mailGate();
    const a = await apiProcess(() => 1n << 62n);
    const b = await apiProcess(() => -1n, gate.check);
    const org = await organizationWithWorkspace(a, 'one');
    const email = 'noor@example.test';
    const joined = await a.invite.execute(new InviteMemberCommand(org.ref, ctx(org.admin), { email }));
    const userId = (await a.accept.execute(new AcceptInvitationCommand(ctx('invitee'), new URL(joined.inviteUrl).searchParams.get('token')!))).userId as string;
    await until(() => mailsTo(email).length === 1);
    const { workspaceId } = await a.createWorkspace.execute(new CreateWorkspaceCommand(ctx(org.admin), org.ref.organizationId, { name: 'W2' }));
    const second = { organizationId: org.ref.organizationId, workspaceId };

    // appended (bound to noor) before the deletion; its email waits for the check, which runs after the deletion
    gate.hold();
    const invited = await b.invite.execute(new InviteMemberCommand(second, ctx(org.admin), { email }));
    expect(gate.checks).toBe(1);
    await a.del.execute(new DeleteUserCommand(org.ref.organizationId, ctx(org.admin), userId));
    gate.release();
    const other = await b.invite.execute(new InviteMemberCommand(second, ctx(org.admin), { email: 'sam@example.test' }));
    await until(() => mailsTo('sam@example.test').length === 1);
    expect(mailsTo('sam@example.test').map((m) => m.inviteUrl)).toEqual([other.inviteUrl]);
    expect(mailsTo(email).map((m) => m.inviteUrl)).toEqual([joined.inviteUrl]);
    expect(mailsTo(email).map((m) => m.inviteUrl)).not.toContain(invited.inviteUrl);
    // the invitations were sealed under their own subjects (the current code's), which the deletion named and forgot
    const events: { type: string; data: { addressKey?: string } }[] = [];
    for await (const e of b.stores.store.readStream(workspaceStream(workspaceId))) events.push(e as (typeof events)[number]);
    expect(events.filter((e) => e.type === 'UserInvited').map((e) => e.data.addressKey)).toEqual(['invitation', 'invitation']);
  } finally {
    beforeSession24.invitations = true;
  }
});

it('rule 12: an email change decided just before its user was deleted sends no confirmation after the erasure; one not followed by a deletion does', async () => {
  const gate = mailGate();
  const p = await apiProcess(() => 1n << 62n, gate.check);
  const org = await organizationWithWorkspace(p, 'changing');
  const join = async (email: string) => {
    const invited = await p.invite.execute(new InviteMemberCommand(org.ref, ctx(org.admin), { email }));
    await until(() => mailsTo(email).length === 1);
    return (await p.accept.execute(new AcceptInvitationCommand(ctx('invitee'), new URL(invited.inviteUrl).searchParams.get('token')!))).userId as string;
  };
  const lee = await join('lee@example.test');
  const ana = await join('ana@example.test');
  const checked = gate.checks;

  // appended (answered) before the deletion; its confirmation waits for the check, which runs after the deletion
  gate.hold();
  const changed = await p.profile.execute(new UpdateProfileCommand(org.ref.organizationId, ctx(org.admin), lee, { email: 'lee.new@example.test' }));
  expect(changed.emailChange).toMatchObject({ status: 'pending_confirmation' });
  expect(gate.checks).toBe(checked + 1);
  await p.del.execute(new DeleteUserCommand(org.ref.organizationId, ctx(org.admin), lee));
  gate.release();
  // another user's change, not followed by a deletion: confirmed by mail (which also tells that the first was handled)
  await p.profile.execute(new UpdateProfileCommand(org.ref.organizationId, ctx(org.admin), ana, { email: 'ana.new@example.test' }));
  await until(() => confirmationsTo('ana.new@example.test').length === 1);
  expect(confirmationsTo('lee.new@example.test')).toEqual([]);
});
