// Probe 28: an invitation committed by a process that died before its mail was handed over was never mailed — the
// client's retry (same Idempotency-Key) was answered from the log as a replay, and a replay sent nothing. Now the
// answer waits for the hand-off (a client that got its answer knows the mail went), and a replay mails again while its
// link is the current one. "The process that died" is a replica whose mail transport never takes the mail, abandoned
// once its events are committed; the retry goes to a fresh one (its own states) over the same data dir.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRollcallEventStore } from '@rollcall/event-store';
import type { Config } from '../config';
import { CreateOrganizationCommand, CreateOrganizationHandler } from '../organizations/create-organization';
import { newCommandContext } from '../shared/command-path/command-context';
import type { EmailConfirmationMail, InvitationMail, InvitationMailer } from '../mail/mailer';
import { DerivedSecrets, EmailConfirmationLinks, InvitationLinks } from '../shared/secrets';
import { StreamHandler } from '../shared/command-path/stream-handler';
import { StreamStates } from '../shared/command-path/stream-states';
import { UpdateProfileCommand, UpdateProfileHandler } from '../users/user-handlers';
import { CreateWorkspaceCommand, CreateWorkspaceHandler } from '../workspaces/create-workspace';
import { AcceptInvitationCommand, AcceptInvitationHandler, InviteMemberCommand, InviteMemberHandler, ResendInvitationCommand, ResendInvitationHandler } from './invitation-handlers';

const SECRET = 'crash-mail-test-secret-0123456789abcdef0123';
type Stores = Awaited<ReturnType<typeof createRollcallEventStore>>;
let dir: string;
let stores: Stores;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rollcall-crash-mail-'));
  stores = await createRollcallEventStore({ dataDir: dir, durability: 'normal' });
});
afterEach(async () => {
  await stores.store.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A mail transport recording what it took; `dead`: it never takes one (the process died before the hand-off). */
function transport(dead = false) {
  const mails: (InvitationMail | EmailConfirmationMail)[] = [];
  let reached!: () => void;
  const handOff = new Promise<void>((r) => (reached = r));
  const take = (m: InvitationMail | EmailConfirmationMail) => {
    reached();
    if (dead) return new Promise<void>(() => undefined);
    mails.push(m);
    return Promise.resolve();
  };
  return { mails, handOff, mailer: { send: take, sendEmailConfirmation: take } as InvitationMailer };
}

/** An API process's handlers over the shared store, with its own states and mail transport. */
function apiProcess(mailer: InvitationMailer) {
  const streams = new StreamHandler(stores.store, new StreamStates(stores.store));
  const links = new InvitationLinks(SECRET, 'https://console.test');
  const config = { invitationTtlSeconds: 172_800 } as Config;
  return {
    createOrg: new CreateOrganizationHandler(streams, new DerivedSecrets(SECRET)),
    createWorkspace: new CreateWorkspaceHandler(streams),
    invite: new InviteMemberHandler(streams, links, mailer, config),
    resend: new ResendInvitationHandler(streams, links, mailer, config),
    accept: new AcceptInvitationHandler(streams, links),
    profile: new UpdateProfileHandler(streams, new EmailConfirmationLinks(SECRET, 'https://console.test'), mailer, config),
  };
}

const keyed = (actorId: string, idempotencyKey: string) => newCommandContext({ actorId, idempotencyKey });
const ctx = (actorId: string) => newCommandContext({ actorId });

async function organization(p: ReturnType<typeof apiProcess>) {
  const org = await p.createOrg.execute(new CreateOrganizationCommand(ctx('system'), 'Acme', { email: 'admin@acme.test', displayName: 'Admin' }));
  const { workspaceId } = await p.createWorkspace.execute(new CreateWorkspaceCommand(ctx(org.adminUserId), org.organizationId, { name: 'Support' }));
  return { admin: org.adminUserId, ref: { organizationId: org.organizationId, workspaceId } };
}

describe('a retry of a write whose process died between its commit and its mail mails again (probe 28)', () => {
  it('rule 7: the invitation\'s retry is answered from the log and mailed, with the same link', async () => {
    const died = transport(true);
    const first = apiProcess(died.mailer);
    const { admin, ref } = await organization(first);
    void first.invite.execute(new InviteMemberCommand(ref, keyed(admin, 'ws:invite-1'), { email: 'jane@acme.test' }));
    await died.handOff;

    const alive = transport();
    const retried = await apiProcess(alive.mailer).invite.execute(new InviteMemberCommand(ref, keyed(admin, 'ws:invite-1'), { email: 'jane@acme.test' }));
    expect(alive.mails).toEqual([expect.objectContaining({ to: 'jane@acme.test', inviteUrl: retried.inviteUrl, workspaceName: 'Support' })]);
  });

  it('rule 7: a retry whose link is no longer the current one (resent since, or accepted) mails nothing', async () => {
    const died = transport(true);
    const first = apiProcess(died.mailer);
    const { admin, ref } = await organization(first);
    void first.invite.execute(new InviteMemberCommand(ref, keyed(admin, 'ws:invite-2'), { email: 'joe@acme.test' }));
    await died.handOff;
    const alive = transport();
    const second = apiProcess(alive.mailer);
    const resent = await second.resend.execute(new ResendInvitationCommand(ref, ctx(admin), (await second.invite.execute(new InviteMemberCommand(ref, keyed(admin, 'ws:invite-2'), { email: 'joe@acme.test' }))).invitationId));
    // the retry above mailed the link it answered with; the resend its new one; a second retry mails nothing more
    expect(alive.mails.map((m) => (m as InvitationMail).inviteUrl)).toEqual([expect.any(String), resent.inviteUrl]);
    await apiProcess(alive.mailer).invite.execute(new InviteMemberCommand(ref, keyed(admin, 'ws:invite-2'), { email: 'joe@acme.test' }));
    expect(alive.mails).toHaveLength(2);
    // accepted: neither the invitation's retry nor the resend's mails
    await second.accept.execute(new AcceptInvitationCommand(ctx('invitee'), new URL(resent.inviteUrl).searchParams.get('token')!));
    await apiProcess(alive.mailer).invite.execute(new InviteMemberCommand(ref, keyed(admin, 'ws:invite-2'), { email: 'joe@acme.test' }));
    expect(alive.mails).toHaveLength(2);
  });

  it('email change: the change\'s retry mails its confirmation while the change is pending', async () => {
    const setup = apiProcess(transport().mailer);
    const { admin, ref } = await organization(setup);
    const inv = await setup.invite.execute(new InviteMemberCommand(ref, ctx(admin), { email: 'ann@acme.test' }));
    const ann = (await setup.accept.execute(new AcceptInvitationCommand(ctx('invitee'), new URL(inv.inviteUrl).searchParams.get('token')!))).userId as string;
    const died = transport(true);
    void apiProcess(died.mailer).profile.execute(new UpdateProfileCommand(ref.organizationId, keyed(ann, 'org:change-1'), ann, { email: 'ann@new.test' }));
    await died.handOff;
    const alive = transport();
    const retried = await apiProcess(alive.mailer).profile.execute(new UpdateProfileCommand(ref.organizationId, keyed(ann, 'org:change-1'), ann, { email: 'ann@new.test' }));
    expect(retried.emailChange).toMatchObject({ status: 'pending_confirmation', email: 'ann@new.test' });
    expect(alive.mails).toEqual([expect.objectContaining({ to: 'ann@new.test', confirmUrl: expect.any(String) })]);
  });
});
