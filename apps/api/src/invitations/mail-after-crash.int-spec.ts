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
import { MailLedger } from '../mail/mail-ledger';
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

/**
 * A mail transport recording what it took; `dead`: it never takes one (the process died before the hand-off);
 * `refusing`: it refuses every mail for good (a relay's 5xx)
 */
function transport(dead = false, refusing = false) {
  const mails: (InvitationMail | EmailConfirmationMail)[] = [];
  let reached!: () => void;
  const handOff = new Promise<void>((r) => (reached = r));
  const take = (m: InvitationMail | EmailConfirmationMail) => {
    reached();
    if (dead) return new Promise<void>(() => undefined);
    if (refusing) return Promise.reject(Object.assign(new Error('550 5.1.1 no such user'), { responseCode: 550 }));
    mails.push(m);
    return Promise.resolve();
  };
  return { mails, handOff, mailer: { send: take, sendEmailConfirmation: take } as InvitationMailer };
}

/**
 * An API process's handlers over the shared store, with its own states and mail transport (and the mail ledger, if
 * given); `dispatch`: when its mail dispatcher sends a link left unrecorded (off by default)
 */
function apiProcess(mailer: InvitationMailer, ledger?: MailLedger, dispatch: Partial<Config> = {}) {
  const streams = new StreamHandler(stores.store, new StreamStates(stores.store));
  const links = new InvitationLinks(SECRET, 'https://console.test');
  const config = { invitationTtlSeconds: 172_800, mailRetryAfterSeconds: 0, mailDispatchEveryMs: 5_000, ...dispatch } as Config;
  return {
    createOrg: new CreateOrganizationHandler(streams, new DerivedSecrets(SECRET)),
    createWorkspace: new CreateWorkspaceHandler(streams),
    invite: new InviteMemberHandler(streams, links, mailer, config, undefined, ledger),
    resend: new ResendInvitationHandler(streams, links, mailer, config, undefined, ledger),
    accept: new AcceptInvitationHandler(streams, links),
    profile: new UpdateProfileHandler(streams, new EmailConfirmationLinks(SECRET, 'https://console.test'), mailer, config, undefined, ledger),
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
    // the retry says what became of the mail it sent (probe 106 F5: it said nothing)
    expect(retried.emailChange).toEqual({ status: 'pending_confirmation', email: 'ann@new.test', expiresAt: expect.any(String), mail: 'handed_over' });
    expect(alive.mails).toEqual([expect.objectContaining({ to: 'ann@new.test', confirmUrl: expect.any(String) })]);
  });
});

describe('a retry of a write whose mail the ledger recorded is not mailed again, and says what became of it (probe 105 F1, probe 106 F5)', () => {
  /** an invitation answered and mailed by one process, its answer lost; the retry goes to another */
  async function invitedThenRetried(first: ReturnType<typeof transport>, key: string) {
    const setup = apiProcess(first.mailer, new MailLedger(stores.store));
    const { admin, ref } = await organization(setup);
    const answered = await setup.invite.execute(new InviteMemberCommand(ref, keyed(admin, key), { email: 'kim@acme.test' }));
    const alive = transport();
    const retried = await apiProcess(alive.mailer, new MailLedger(stores.store)).invite.execute(new InviteMemberCommand(ref, keyed(admin, key), { email: 'kim@acme.test' }));
    return { answered, retried, alive, admin, ref };
  }

  it('rule 7: an invitation\'s retry after its mail was handed over mails nothing and answers handed_over', async () => {
    const { answered, retried, alive } = await invitedThenRetried(transport(), 'ws:invite-ledger-1');
    expect(answered.mail).toBe('handed_over');
    expect(retried).toEqual({ ...answered, mail: 'handed_over' });
    expect(alive.mails).toEqual([]);
  });

  it('rule 7: an invitation\'s retry after the relay refused its mail for good mails nothing and answers refused', async () => {
    const { answered, retried, alive } = await invitedThenRetried(transport(false, true), 'ws:invite-ledger-2');
    expect(answered.mail).toBe('refused');
    expect(retried.mail).toBe('refused');
    expect(alive.mails).toEqual([]);
  });

  it('rule 7: a resend\'s retry after its mail was handed over mails nothing and answers handed_over', async () => {
    const { answered, admin, ref } = await invitedThenRetried(transport(), 'ws:invite-ledger-3');
    const first = transport();
    const resent = await apiProcess(first.mailer, new MailLedger(stores.store)).resend.execute(new ResendInvitationCommand(ref, keyed(admin, 'ws:resend-ledger-3'), answered.invitationId));
    expect(first.mails).toHaveLength(1);
    const alive = transport();
    const retried = await apiProcess(alive.mailer, new MailLedger(stores.store)).resend.execute(new ResendInvitationCommand(ref, keyed(admin, 'ws:resend-ledger-3'), answered.invitationId));
    expect(retried).toEqual({ ...resent, mail: 'handed_over' });
    expect(alive.mails).toEqual([]);
  });

  it('rule 7: a retry after the invitation was accepted mails nothing and still says what became of its mail (probe 109 F3)', async () => {
    const { answered, admin, ref } = await invitedThenRetried(transport(), 'ws:invite-ledger-4');
    await apiProcess(transport().mailer).accept.execute(new AcceptInvitationCommand(ctx('invitee'), new URL(answered.inviteUrl).searchParams.get('token')!));
    const later = transport();
    const retried = await apiProcess(later.mailer, new MailLedger(stores.store)).invite.execute(new InviteMemberCommand(ref, keyed(admin, 'ws:invite-ledger-4'), { email: 'kim@acme.test' }));
    expect(retried).toEqual({ ...answered, mail: 'handed_over' });
    expect(later.mails).toEqual([]);
  });

  it('email change: the change\'s retry after its confirmation was handed over mails nothing and answers handed_over', async () => {
    const ledger = new MailLedger(stores.store);
    const setup = apiProcess(transport().mailer, ledger);
    const { admin, ref } = await organization(setup);
    const inv = await setup.invite.execute(new InviteMemberCommand(ref, ctx(admin), { email: 'lee@acme.test' }));
    const lee = (await setup.accept.execute(new AcceptInvitationCommand(ctx('invitee'), new URL(inv.inviteUrl).searchParams.get('token')!))).userId as string;
    const first = await setup.profile.execute(new UpdateProfileCommand(ref.organizationId, keyed(lee, 'org:change-ledger'), lee, { email: 'lee@new.test' }));
    expect(first.emailChange?.mail).toBe('handed_over');
    const alive = transport();
    const retried = await apiProcess(alive.mailer, new MailLedger(stores.store)).profile.execute(new UpdateProfileCommand(ref.organizationId, keyed(lee, 'org:change-ledger'), lee, { email: 'lee@new.test' }));
    expect(retried.emailChange).toEqual(first.emailChange);
    expect(alive.mails).toEqual([]);
    // withdrawn since (the user's own address asked for): the retry mails nothing and still says what became of its mail (probe 109 F3)
    await setup.profile.execute(new UpdateProfileCommand(ref.organizationId, ctx(lee), lee, { email: 'lee@acme.test' }));
    const after = await apiProcess(alive.mailer, new MailLedger(stores.store)).profile.execute(new UpdateProfileCommand(ref.organizationId, keyed(lee, 'org:change-ledger'), lee, { email: 'lee@new.test' }));
    expect(after.emailChange).toEqual(first.emailChange);
    expect(alive.mails).toEqual([]);
  });
});

describe('a retry whose first attempt left no record leaves the mail to the mail dispatcher until its first try is over (probes 111 F1, 112 F1, 113 F3)', () => {
  // the dispatcher sends a link left unrecorded 2 s after it was decided, or a minute after
  const dispatchAt2s = { mailRetryAfterSeconds: 2, mailDispatchEveryMs: 5_000 };

  it('rule 7: an invitation\'s retry answers pending and mails nothing, the dispatcher at 2 s or a minute away; with the dispatcher off it mails', async () => {
    const died = transport(true);
    const first = apiProcess(died.mailer, new MailLedger(stores.store), dispatchAt2s);
    const { admin, ref } = await organization(first);
    void first.invite.execute(new InviteMemberCommand(ref, keyed(admin, 'ws:dispatched-1'), { email: 'max@acme.test' }));
    await died.handOff;
    const alive = transport();
    const retried = await apiProcess(alive.mailer, new MailLedger(stores.store), dispatchAt2s).invite.execute(new InviteMemberCommand(ref, keyed(admin, 'ws:dispatched-1'), { email: 'max@acme.test' }));
    expect(retried.mail).toBe('pending');
    const minuteAway = await apiProcess(alive.mailer, new MailLedger(stores.store), { mailRetryAfterSeconds: 60 }).invite.execute(new InviteMemberCommand(ref, keyed(admin, 'ws:dispatched-1'), { email: 'max@acme.test' }));
    expect(minuteAway.mail).toBe('pending');
    expect(alive.mails).toEqual([]);

    void first.invite.execute(new InviteMemberCommand(ref, keyed(admin, 'ws:dispatched-2'), { email: 'mia@acme.test' }));
    await new Promise((resolve) => setTimeout(resolve, 50));
    const off = await apiProcess(alive.mailer, new MailLedger(stores.store), { mailRetryAfterSeconds: 0 }).invite.execute(new InviteMemberCommand(ref, keyed(admin, 'ws:dispatched-2'), { email: 'mia@acme.test' }));
    expect(off.mail).toBe('handed_over');
    expect(alive.mails).toEqual([expect.objectContaining({ to: 'mia@acme.test', inviteUrl: off.inviteUrl })]);
  });

  it('email change: the change\'s retry answers pending and mails nothing', async () => {
    const setup = apiProcess(transport().mailer);
    const { admin, ref } = await organization(setup);
    const inv = await setup.invite.execute(new InviteMemberCommand(ref, ctx(admin), { email: 'ivy@acme.test' }));
    const ivy = (await setup.accept.execute(new AcceptInvitationCommand(ctx('invitee'), new URL(inv.inviteUrl).searchParams.get('token')!))).userId as string;
    const died = transport(true);
    void apiProcess(died.mailer, new MailLedger(stores.store), dispatchAt2s).profile.execute(new UpdateProfileCommand(ref.organizationId, keyed(ivy, 'org:dispatched-3'), ivy, { email: 'ivy@new.test' }));
    await died.handOff;
    const alive = transport();
    const retried = await apiProcess(alive.mailer, new MailLedger(stores.store), dispatchAt2s).profile.execute(new UpdateProfileCommand(ref.organizationId, keyed(ivy, 'org:dispatched-3'), ivy, { email: 'ivy@new.test' }));
    expect(retried.emailChange).toEqual({ status: 'pending_confirmation', email: 'ivy@new.test', expiresAt: expect.any(String), mail: 'pending' });
    expect(alive.mails).toEqual([]);
  });
});
