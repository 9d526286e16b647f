// The mail dispatcher (docs/adr/0018, "Session 29"): a link decided by a process that died before its mail was handed
// over — and whose client never retried — or whose transport failed, is mailed once it is `mailRetryAfterSeconds` old
// and the log holds no record of its hand-off. "The process that died" is a set of handlers whose mail transport never
// takes the mail; the dispatcher runs over the same store with its own states and a transport that works.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { toStored } from '@rollcall/domain';
import { createRollcallEventStore, newEventId } from '@rollcall/event-store';
import type { Config } from '../config';
import type { PublisherCoordination } from '../infrastructure/publisher-coordination';
import { AcceptInvitationCommand, AcceptInvitationHandler, CancelInvitationCommand, CancelInvitationHandler, InviteMemberCommand, InviteMemberHandler, ResendInvitationCommand, ResendInvitationHandler } from '../invitations/invitation-handlers';
import { CreateOrganizationCommand, CreateOrganizationHandler } from '../organizations/create-organization';
import { newCommandContext } from '../shared/command-path/command-context';
import type { EmailConfirmationMail, InvitationMail, InvitationMailer } from './mailer';
import { DerivedSecrets, EmailConfirmationLinks, InvitationLinks } from '../shared/secrets';
import { StreamHandler } from '../shared/command-path/stream-handler';
import { StreamStates } from '../shared/command-path/stream-states';
import { UpdateProfileCommand, UpdateProfileHandler } from '../users/user-handlers';
import { CreateWorkspaceCommand, CreateWorkspaceHandler } from '../workspaces/create-workspace';
import { MailDispatcher } from './mail-dispatcher';
import { MailLedger } from './mail-ledger';
import { Metrics } from '../infrastructure/metrics';

const SECRET = 'dispatch-mail-test-secret-0123456789abcdef01';
const RETRY_AFTER_S = 1;
const config = { invitationTtlSeconds: 172_800, mailRetryAfterSeconds: RETRY_AFTER_S, mailDispatchEveryMs: 60_000 } as Config;
const invitationLinks = new InvitationLinks(SECRET, 'https://console.test');
const confirmationLinks = new EmailConfirmationLinks(SECRET, 'https://console.test');
type Stores = Awaited<ReturnType<typeof createRollcallEventStore>>;
let dir: string;
let stores: Stores;
/** the dispatcher's clock: moved on by the tests */
let clock: number;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rollcall-mail-dispatch-'));
  stores = await createRollcallEventStore({ dataDir: dir, durability: 'normal' });
  clock = Date.now();
});
afterEach(async () => {
  await stores.store.close();
  rmSync(dir, { recursive: true, force: true });
});

type Mail = InvitationMail | EmailConfirmationMail;
/** A mail transport recording what it took. `dead`: never takes one (the process died first); `failing`: refuses the first n. */
function transport({ dead = false, failing = 0 } = {}) {
  const mails: Mail[] = [];
  let reached!: () => void;
  const handOff = new Promise<void>((r) => (reached = r));
  let refused = 0;
  const take = async (m: Mail) => {
    reached();
    if (dead) return new Promise<void>(() => undefined);
    if (refused < failing) {
      refused++;
      throw new Error('421 service not available');
    }
    mails.push(m);
  };
  return { mails, handOff, mailer: { send: take, sendEmailConfirmation: take } as InvitationMailer };
}

/** An API process's handlers over the shared store, with its own states, mail transport and ledger. */
function apiProcess(mailer: InvitationMailer) {
  const streams = new StreamHandler(stores.store, new StreamStates(stores.store));
  const ledger = new MailLedger(stores.store);
  return {
    ledger,
    createOrg: new CreateOrganizationHandler(streams, new DerivedSecrets(SECRET)),
    createWorkspace: new CreateWorkspaceHandler(streams),
    invite: new InviteMemberHandler(streams, invitationLinks, mailer, config, undefined, ledger),
    resend: new ResendInvitationHandler(streams, invitationLinks, mailer, config, undefined, ledger),
    cancel: new CancelInvitationHandler(streams),
    accept: new AcceptInvitationHandler(streams, invitationLinks),
    profile: new UpdateProfileHandler(streams, confirmationLinks, mailer, config, undefined, ledger),
  };
}

/** the only process that dispatches (a lease always held), its checkpoint in memory (or a shared one: a takeover) */
function memoryCoordination(shared: { checkpoint?: bigint; refusing?: Error } = {}): PublisherCoordination {
  return {
    leads: () => true,
    readCheckpoint: async () => shared.checkpoint,
    // `refusing`: the checkpoint's file cannot be written (a full or read-only data dir)
    writeCheckpoint: async (position) => {
      if (shared.refusing) throw shared.refusing;
      shared.checkpoint = position;
    },
    release: async () => undefined,
    standDown: async () => undefined,
    close: async () => undefined,
  };
}

/** a dispatcher over the shared store, with a working transport, started (its first pass begins at the log's head) */
async function dispatcher(shared?: { checkpoint?: bigint; refusing?: Error }, t = transport(), metrics?: Metrics) {
  const streams = new StreamHandler(stores.store, new StreamStates(stores.store));
  const ledger = new MailLedger(stores.store);
  const d = new MailDispatcher(config, stores.store, streams, t.mailer, invitationLinks, confirmationLinks, ledger, metrics, undefined, {
    coordination: memoryCoordination(shared),
    now: () => clock,
    // the longest of each retry wait (drawn between half and all of it in the app)
    random: () => 1,
  });
  await d.onApplicationBootstrap();
  await d.pass();
  /** a pass once `seconds` have gone by, its records appended */
  const passAfter = async (seconds: number) => {
    clock += seconds * 1000;
    const sent = await d.pass();
    await ledger.flush();
    return sent;
  };
  return { dispatcher: d, mails: t.mails, passAfter, stop: () => d.onApplicationShutdown() };
}

const ctx = (actorId: string) => newCommandContext({ actorId });

async function organization(p: ReturnType<typeof apiProcess>) {
  const org = await p.createOrg.execute(new CreateOrganizationCommand(ctx('system'), 'Acme', { email: 'admin@acme.test', displayName: 'Admin' }));
  const { workspaceId } = await p.createWorkspace.execute(new CreateWorkspaceCommand(ctx(org.adminUserId), org.organizationId, { name: 'Support' }));
  return { admin: org.adminUserId, ref: { organizationId: org.organizationId, workspaceId } };
}

/** an invitation decided by a process that dies before its mail is handed over; its id */
async function inviteAndDie(ref: { organizationId: string; workspaceId: string }, admin: string, email: string): Promise<string> {
  const died = transport({ dead: true });
  const p = apiProcess(died.mailer);
  const c = ctx(admin);
  void p.invite.execute(new InviteMemberCommand(ref, c, { email }));
  await died.handOff;
  const invited = [];
  for await (const e of stores.store.readAll({ filter: { eventTypes: ['UserInvited'] } })) invited.push(e.data as { invitationId: string; email: string });
  return invited.at(-1)!.invitationId;
}

const mailedRecords = async (type: 'InvitationMailed' | 'EmailConfirmationMailed') => {
  const records = [];
  for await (const e of stores.store.readAll({ filter: { eventTypes: [type] } })) records.push(e.data);
  return records;
};

describe('the mail dispatcher mails the links whose mail was never handed over (docs/adr/0018)', () => {
  it('rule 7: an invitation whose process died before the hand-off, never retried, is mailed once, with its link', async () => {
    const setup = apiProcess(transport().mailer);
    const { admin, ref } = await organization(setup);
    const d = await dispatcher();
    const invitationId = await inviteAndDie(ref, admin, 'jane@acme.test');

    expect(await d.passAfter(0)).toBe(0); // not yet due: its process may still hand it over
    expect(await d.passAfter(RETRY_AFTER_S + 1)).toBe(1);
    // the mail names who sent the link (the invitation's actor, from its event's metadata: probe 65 F1)
    expect(d.mails).toEqual([
      { to: 'jane@acme.test', organizationName: 'Acme', workspaceName: 'Support', inviterName: 'Admin', access: 'as agent', inviteUrl: invitationLinks.url({ ...ref, invitationId, linkVersion: 1 }), expiresAt: expect.any(String) },
    ]);
    expect(await mailedRecords('InvitationMailed')).toEqual([expect.objectContaining({ invitationId, linkVersion: 1 })]);
    expect(await d.passAfter(RETRY_AFTER_S + 1)).toBe(0);
    expect(d.mails).toHaveLength(1);
    await d.stop();
  });

  it('rule 7: a mail handed over is recorded and not sent again; neither is a link accepted, cancelled or resent since', async () => {
    const alive = transport();
    const p = apiProcess(alive.mailer);
    const { admin, ref } = await organization(p);
    const d = await dispatcher();
    await p.invite.execute(new InviteMemberCommand(ref, ctx(admin), { email: 'mailed@acme.test' }));
    await p.ledger.flush();
    const accepted = await inviteAndDie(ref, admin, 'accepted@acme.test');
    const cancelled = await inviteAndDie(ref, admin, 'cancelled@acme.test');
    const resent = await inviteAndDie(ref, admin, 'resent@acme.test');
    // accepted through a link copied from the console (rule 7), cancelled, resent (the new link mailed and recorded)
    const link = await p.resend.execute(new ResendInvitationCommand(ref, ctx(admin), accepted));
    await p.accept.execute(new AcceptInvitationCommand(ctx('invitee'), new URL(link.inviteUrl).searchParams.get('token')!));
    await p.cancel.execute(new CancelInvitationCommand(ref, ctx(admin), cancelled));
    await p.resend.execute(new ResendInvitationCommand(ref, ctx(admin), resent));
    await p.ledger.flush();

    expect(await d.passAfter(RETRY_AFTER_S + 1)).toBe(0);
    expect(d.mails).toEqual([]);
    expect(alive.mails.map((m) => m.to)).toEqual(['mailed@acme.test', 'accepted@acme.test', 'resent@acme.test']);
    await d.stop();
  });

  it('rule 7: a mail the transport refused is tried again, with a doubling wait', async () => {
    const setup = apiProcess(transport().mailer);
    const { admin, ref } = await organization(setup);
    const failing = transport({ failing: 2 });
    const d = await dispatcher(undefined, failing);
    // the command's own hand-off failed too (logged, answered): the link is unrecorded
    await apiProcess(transport({ failing: 1 }).mailer).invite.execute(new InviteMemberCommand(ref, ctx(admin), { email: 'jo@acme.test' }));

    expect(await d.passAfter(RETRY_AFTER_S + 1)).toBe(0); // refused (1)
    expect(await d.passAfter(10)).toBe(0); // waiting 30 s
    expect(await d.passAfter(30)).toBe(0); // refused (2)
    expect(await d.passAfter(40)).toBe(0); // waiting 60 s
    expect(await d.passAfter(30)).toBe(1);
    expect(d.mails.map((m) => m.to)).toEqual(['jo@acme.test']);
    await d.stop();
  });

  it('rule 7: a link the transport keeps failing (not for good) is tried until it expires, never given up while current; then the checkpoint moves past it (probe 49 F2)', async () => {
    const setup = apiProcess(transport().mailer);
    const { admin, ref } = await organization(setup);
    let tries = 0;
    const throttled: InvitationMailer = {
      send: async () => {
        tries++;
        throw Object.assign(new Error('421 4.7.0 Too many mails, slow down'), { responseCode: 421 });
      },
      sendEmailConfirmation: async () => undefined,
    };
    const shared: { checkpoint?: bigint } = {};
    const d = await dispatcher(shared, { mails: [], handOff: Promise.resolve(), mailer: throttled });
    await inviteAndDie(ref, admin, 'busy@acme.test');
    const decided = clock;
    // 47 h of passes every 16 minutes: tried at each (the wait tops out at 15 minutes), the checkpoint held before it
    while (clock < decided + 47 * 3600_000) await d.passAfter(16 * 60);
    expect(tries).toBeGreaterThan(150);
    const held = shared.checkpoint!;
    // past its 48 hours the link is no longer current: settled without a try, and the checkpoint moves past it
    const before = tries;
    await d.passAfter(2 * 3600);
    await d.passAfter(16 * 60);
    expect(tries).toBe(before);
    expect(shared.checkpoint!).toBeGreaterThan(held);
    await d.stop();
  });

  it('rollcall_mails_waiting counts the links held unmailed past their retry time, and none once mailed (probe 49 F2)', async () => {
    const setup = apiProcess(transport().mailer);
    const { admin, ref } = await organization(setup);
    let refusing = true;
    const mails: string[] = [];
    const relay: InvitationMailer = {
      send: async (mail) => {
        if (refusing) throw Object.assign(new Error('421 4.7.0 Try again later'), { responseCode: 421 });
        mails.push(mail.to);
      },
      sendEmailConfirmation: async () => undefined,
    };
    const metrics = new Metrics();
    const waiting = async () => (await metrics.mailsWaiting.get()).values.find((v) => v.labels.kind === 'invitation')?.value;
    const d = await dispatcher(undefined, { mails: [], handOff: Promise.resolve(), mailer: relay }, metrics);
    await inviteAndDie(ref, admin, 'one@acme.test');
    await inviteAndDie(ref, admin, 'two@acme.test');
    await d.passAfter(0);
    expect(await waiting()).toBe(0); // not past their retry time yet
    await d.passAfter(RETRY_AFTER_S + 1);
    expect(await waiting()).toBe(2);
    refusing = false;
    await d.passAfter(60);
    expect(mails.sort()).toEqual(['one@acme.test', 'two@acme.test']);
    expect(await waiting()).toBe(0);
    await d.stop();
  });

  it('passes that fail (its checkpoint not written: a full or read-only data dir) show as failing in /health and /metrics until one succeeds (probe 95 F7)', async () => {
    const setup = apiProcess(transport().mailer);
    const { admin, ref } = await organization(setup);
    const metrics = new Metrics();
    const failing = async () => (await metrics.mailDispatchFailing.get()).values[0]?.value;
    const shared: { checkpoint?: bigint; refusing?: Error } = {};
    const d = await dispatcher(shared, transport(), metrics);
    expect([d.dispatcher.standing(), await failing()]).toEqual([{ failing: false }, 0]);
    shared.refusing = Object.assign(new Error("EACCES: permission denied, open 'mail-dispatch.checkpoint.tmp'"), { code: 'EACCES' });
    await inviteAndDie(ref, admin, 'held@acme.test');
    await d.passAfter(RETRY_AFTER_S + 1);
    expect([d.dispatcher.standing(), await failing()]).toEqual([{ failing: true }, 1]);
    shared.refusing = undefined;
    await d.passAfter(1);
    expect([d.dispatcher.standing(), await failing()]).toEqual([{ failing: false }, 0]);
    expect(d.mails.map((m) => m.to)).toContain('held@acme.test');
    await d.stop();
  });

  it('a link the relay refused for good (a 5xx) is tried once and given up, not ten times (probe 46 F3); a 4xx is tried again', async () => {
    const setup = apiProcess(transport().mailer);
    const { admin, ref } = await organization(setup);
    const tries: string[] = [];
    const relay: InvitationMailer = {
      send: async (mail) => {
        tries.push(mail.to);
        const permanent = mail.to.startsWith('unknown');
        throw Object.assign(new Error(permanent ? `550 5.1.1 <${mail.to}>: Recipient address rejected: User unknown` : `450 4.2.0 <${mail.to}>: Greylisted`), { responseCode: permanent ? 550 : 450 });
      },
      sendEmailConfirmation: async () => undefined,
    };
    const d = await dispatcher(undefined, { mails: [], handOff: Promise.resolve(), mailer: relay });
    await inviteAndDie(ref, admin, 'unknown@acme.test');
    await inviteAndDie(ref, admin, 'greylisted@acme.test');
    for (let pass = 0; pass < 4; pass++) await d.passAfter(16 * 60);
    expect(tries.filter((to) => to === 'unknown@acme.test')).toHaveLength(1);
    expect(tries.filter((to) => to === 'greylisted@acme.test')).toHaveLength(4);
    await d.stop();
  });

  it("a refusal for good of the command's own hand-off is recorded: the dispatcher does not try that link (probe 46 F3)", async () => {
    const setup = apiProcess(transport().mailer);
    const { admin, ref } = await organization(setup);
    const refusing: InvitationMailer = {
      send: async (mail) => {
        throw Object.assign(new Error(`550 5.1.1 <${mail.to}>: User unknown`), { responseCode: 550 });
      },
      sendEmailConfirmation: async () => undefined,
    };
    const tried = transport();
    const d = await dispatcher(undefined, tried);
    await apiProcess(refusing).invite.execute(new InviteMemberCommand(ref, ctx(admin), { email: 'unknown@acme.test' }));
    expect(await d.passAfter(RETRY_AFTER_S + 1)).toBe(0);
    expect(await d.passAfter(16 * 60)).toBe(0);
    expect(tried.mails).toEqual([]);
    await d.stop();
  });

  it("an email change's confirmation the relay refused for good at the command's hand-off is recorded: the dispatcher does not try it (session 46)", async () => {
    const setup = apiProcess(transport().mailer);
    const { admin, ref } = await organization(setup);
    const refusing: InvitationMailer = {
      send: async () => undefined,
      sendEmailConfirmation: async (mail) => {
        throw Object.assign(new Error(`550 5.1.1 <${mail.to}>: User unknown`), { responseCode: 550 });
      },
    };
    const tried = transport();
    const d = await dispatcher(undefined, tried);
    const command = apiProcess(refusing);
    await command.profile.execute(new UpdateProfileCommand(ref.organizationId, ctx(admin), admin, { email: 'typo@acme.tset' }));
    await command.ledger.flush();
    const recorded: string[] = [];
    for await (const e of stores.store.readStream(`mail-${ref.organizationId}`)) recorded.push(e.type);
    expect(recorded).toEqual(['EmailConfirmationMailRefused']);
    expect(await d.passAfter(RETRY_AFTER_S + 1)).toBe(0);
    expect(await d.passAfter(16 * 60)).toBe(0);
    expect(tried.mails).toEqual([]);
    await d.stop();
  });

  it("an email change's confirmation the relay refused for good at the dispatcher's send is recorded too, and not tried again after a takeover", async () => {
    const setup = apiProcess(transport().mailer);
    const { admin, ref } = await organization(setup);
    const tries: string[] = [];
    const relay: InvitationMailer = {
      send: async () => undefined,
      sendEmailConfirmation: async (mail) => {
        tries.push(mail.to);
        throw Object.assign(new Error(`550 5.1.1 <${mail.to}>: User unknown`), { responseCode: 550 });
      },
    };
    const shared: { checkpoint?: bigint } = {};
    const first = await dispatcher(shared, { mails: [], handOff: Promise.resolve(), mailer: relay });
    const checkpointBefore = shared.checkpoint;
    const died = transport({ dead: true });
    void apiProcess(died.mailer).profile.execute(new UpdateProfileCommand(ref.organizationId, ctx(admin), admin, { email: 'typo@acme.tset' }));
    await died.handOff;
    await first.passAfter(RETRY_AFTER_S + 1);
    expect(tries).toEqual(['typo@acme.tset']);
    await first.stop();
    // the next dispatcher reads again from before the change (its checkpoint held back, as another link not settled does)
    shared.checkpoint = checkpointBefore;
    const next = await dispatcher(shared, { mails: [], handOff: Promise.resolve(), mailer: relay });
    await next.passAfter(RETRY_AFTER_S + 1);
    await next.passAfter(16 * 60);
    expect(tries).toEqual(['typo@acme.tset']);
    await next.stop();
  });

  it('a pass that stops short of the head sends nothing: a link mailed by its command, its record past the page read, is not mailed again (review of session 29)', async () => {
    const alive = transport();
    const p = apiProcess(alive.mailer);
    const { admin, ref } = await organization(p);
    const d = await dispatcher();
    // 19,999 records of other links (a busy log), then an invitation mailed and recorded by its command as usual
    const filler = Array.from({ length: 19_999 }, () => {
      const id = newEventId();
      const event = { type: 'InvitationMailed' as const, version: 1 as const, data: { ...ref, invitationId: randomUUID(), linkVersion: 1, mailedAt: new Date().toISOString() } };
      return { id, ...toStored(event, { actorId: 'system', correlationId: id, causationId: id, idempotencyKey: `mail:${id}`, occurredAt: event.data.mailedAt }) };
    });
    await stores.store.append(`mail-${ref.organizationId}`, filler, 'any');
    await p.invite.execute(new InviteMemberCommand(ref, ctx(admin), { email: 'jane@acme.test' }));
    expect(alive.mails.map((m) => m.to)).toEqual(['jane@acme.test']);
    // the dispatcher, behind by more than the retry time (a takeover, a restart, a burst): its first pass reads a full page
    await d.passAfter(RETRY_AFTER_S + 1);
    await d.passAfter(RETRY_AFTER_S + 1);
    expect(d.mails).toEqual([]);
    await d.stop();
  }, 60_000);

  it('a send the transport never finishes counts as failed after the send timeout: the pass goes on to the other links (probe 29b)', async () => {
    const setup = apiProcess(transport().mailer);
    const { admin, ref } = await organization(setup);
    const taken: string[] = [];
    const hangsForOne: InvitationMailer = {
      send: (m) => (m.to === 'hangs@acme.test' ? new Promise<void>(() => undefined) : Promise.resolve(void taken.push(m.to))),
      sendEmailConfirmation: async () => undefined,
    };
    const streams = new StreamHandler(stores.store, new StreamStates(stores.store));
    const ledger = new MailLedger(stores.store);
    const d = new MailDispatcher(config, stores.store, streams, hangsForOne, invitationLinks, confirmationLinks, ledger, undefined, undefined, {
      coordination: memoryCoordination(),
      now: () => clock,
      sendTimeoutMs: 200,
    });
    await d.onApplicationBootstrap();
    await inviteAndDie(ref, admin, 'hangs@acme.test');
    for (const n of [1, 2, 3, 4, 5]) await inviteAndDie(ref, admin, `fine${n}@acme.test`);
    clock += (RETRY_AFTER_S + 1) * 1000;
    expect(await d.pass()).toBe(5);
    expect(taken.sort()).toEqual(['fine1@acme.test', 'fine2@acme.test', 'fine3@acme.test', 'fine4@acme.test', 'fine5@acme.test']);
    await d.onApplicationShutdown();
  });

  it('rule 10: an email change whose confirmation was never handed over is mailed with its link', async () => {
    const setup = apiProcess(transport().mailer);
    const { admin, ref } = await organization(setup);
    const d = await dispatcher();
    const died = transport({ dead: true });
    void apiProcess(died.mailer).profile.execute(new UpdateProfileCommand(ref.organizationId, ctx(admin), admin, { email: 'admin@new.test' }));
    await died.handOff;

    expect(await d.passAfter(RETRY_AFTER_S + 1)).toBe(1);
    expect(d.mails).toEqual([{ to: 'admin@new.test', organizationName: 'Acme', confirmUrl: confirmationLinks.url({ organizationId: ref.organizationId, userId: admin, version: 1 }), expiresAt: expect.any(String) }]);
    expect(await mailedRecords('EmailConfirmationMailed')).toEqual([expect.objectContaining({ userId: admin, version: 1 })]);
    await d.stop();
  });

  it('a first start writes its checkpoint before any pass: the links of a process that died before its first pass are mailed by the next (probe 29b)', async () => {
    const setup = apiProcess(transport().mailer);
    const { admin, ref } = await organization(setup);
    const shared: { checkpoint?: bigint } = {};
    const streams = new StreamHandler(stores.store, new StreamStates(stores.store));
    const first = new MailDispatcher(config, stores.store, streams, transport().mailer, invitationLinks, confirmationLinks, new MailLedger(stores.store), undefined, undefined, {
      coordination: memoryCoordination(shared),
      now: () => clock,
    });
    await first.onApplicationBootstrap();
    // it answers an invitation and dies before its first pass
    await inviteAndDie(ref, admin, 'early@acme.test');
    const next = await dispatcher(shared);
    expect(await next.passAfter(RETRY_AFTER_S + 1)).toBe(1);
    expect(next.mails.map((m) => m.to)).toEqual(['early@acme.test']);
    await next.stop();
    // the "dead" process's dispatcher, stopped with the test: left running, its timer read a closed store once a
    // minute for the rest of the run and kept the jest worker from exiting
    await first.onApplicationShutdown();
  });

  it('links decided before the dispatcher first started are not looked at; a takeover resumes from the checkpoint', async () => {
    const setup = apiProcess(transport().mailer);
    const { admin, ref } = await organization(setup);
    await inviteAndDie(ref, admin, 'before@acme.test');
    const shared: { checkpoint?: bigint } = {};
    const first = await dispatcher(shared);
    await inviteAndDie(ref, admin, 'after@acme.test');
    // read by the first dispatcher, not yet due, when it stops; the next one reads it again from the checkpoint
    expect(await first.passAfter(0)).toBe(0);
    await first.stop();
    const next = await dispatcher(shared);

    expect(await next.passAfter(RETRY_AFTER_S + 1)).toBe(1);
    expect(next.mails.map((m) => m.to)).toEqual(['after@acme.test']);
    expect(first.mails).toEqual([]);
    await next.stop();
  });
});
