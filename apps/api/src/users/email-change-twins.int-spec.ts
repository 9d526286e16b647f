// Probe 109 F1: the same keyed email change sent to two replicas at once, at the user's last slot of the hour. One
// answered 429 TOO_MANY_EMAIL_CHANGES ("nothing was written or mailed") while the other made the change and mailed it.
// Two replicas here are two StreamHandlers over one embedded store and two stores of slots over one api.sqlite; the
// second request runs whole between the first's decision and its append.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { type EventStore, createRollcallEventStore } from '@rollcall/event-store';
import type { Config } from '../config';
import { CreateOrganizationCommand, CreateOrganizationHandler } from '../organizations/create-organization';
import { CreateWorkspaceCommand, CreateWorkspaceHandler } from '../workspaces/create-workspace';
import { AcceptInvitationCommand, AcceptInvitationHandler, InviteMemberCommand, InviteMemberHandler } from '../invitations/invitation-handlers';
import { type ProfileAnswer, UpdateProfileCommand, UpdateProfileHandler } from './user-handlers';
import { SqliteEmailChangeMails } from './email-change-mails';
import { newCommandContext } from '../shared/command-path/command-context';
import { OutboxMailer } from '../mail/mailer';
import { MailLedger } from '../mail/mail-ledger';
import { DerivedSecrets, EmailConfirmationLinks, InvitationLinks } from '../shared/secrets';
import { StreamHandler } from '../shared/command-path/stream-handler';
import { StreamStates } from '../shared/command-path/stream-states';
import { hooked } from '../shared/testing/hooked-store';

const SECRET = 'twins-test-secret-0123456789abcdef0123456789';

let dir: string;
let store: EventStore;
const closing: { close(): Promise<void> }[] = [];
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rollcall-email-twins-'));
  ({ store } = await createRollcallEventStore({ dataDir: dir, durability: 'normal' }));
});
afterEach(async () => {
  for (const c of closing.splice(0)) await c.close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

function replica(over: EventStore, mailer = new OutboxMailer(dir)) {
  const streams = new StreamHandler(over, new StreamStates(over));
  const config = { invitationTtlSeconds: 172_800, emailChangesPerHour: 5 } as Config;
  const mails = new SqliteEmailChangeMails(dir);
  closing.push(mails);
  return {
    createOrg: new CreateOrganizationHandler(streams, new DerivedSecrets(SECRET)),
    createWorkspace: new CreateWorkspaceHandler(streams),
    invite: new InviteMemberHandler(streams, new InvitationLinks(SECRET, 'https://console.test'), mailer, config),
    accept: new AcceptInvitationHandler(streams, new InvitationLinks(SECRET, 'https://console.test')),
    // (the ledger of mails appends to the store itself: not A's next append, which the race waits for)
    updateProfile: new UpdateProfileHandler(streams, new EmailConfirmationLinks(SECRET, 'https://console.test'), mailer, config, undefined, new MailLedger(store), mails),
  };
}

const confirmationsMailed = () =>
  readFileSync(join(dir, 'outbox.jsonl'), 'utf8')
    .split('\n')
    .filter((line) => line.includes('"kind":"email-confirmation"'))
    .map((line) => (JSON.parse(line) as { to: string }).to);

/** an outbox that takes `ms` to take an email change's confirmation (a relay slow to answer) */
class SlowOutbox extends OutboxMailer {
  constructor(private readonly ms: number) {
    super(dir);
  }
  override async sendEmailConfirmation(...args: Parameters<OutboxMailer['sendEmailConfirmation']>): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, this.ms));
    return super.sendEmailConfirmation(...args);
  }
}

/**
 * Two replicas (A's store runs `before.run` at its next append; B's says when an append of its committed, and its relay
 * takes `slowMailMs` to take a mail), a member at four of the hour's five email changes.
 */
async function atTheLastSlot(slowMailMs = 0) {
  const before: { run?: () => Promise<unknown> } = {};
  const a = replica(hooked(store, before));
  const appended: (() => void)[] = [];
  const bStore = new Proxy(store, {
    get: (target, name) =>
      name === 'append' || name === 'appendMany'
        ? async (...args: unknown[]) => {
            const done = await (target[name] as (...a: unknown[]) => Promise<unknown>).apply(target, args);
            for (const committed of appended.splice(0)) committed();
            return done;
          }
        : Reflect.get(target, name, target),
  });
  const b = replica(bStore, slowMailMs > 0 ? new SlowOutbox(slowMailMs) : undefined);
  /** resolves once B's next append committed */
  const bCommitted = () => new Promise<void>((resolve) => appended.push(resolve));
  const org = await b.createOrg.execute(new CreateOrganizationCommand(newCommandContext({ actorId: 'system' }), 'Acme', { email: 'admin@acme.test', displayName: 'Admin' }));
  const ws = await b.createWorkspace.execute(new CreateWorkspaceCommand(newCommandContext({ actorId: org.adminUserId }), org.organizationId, { name: 'W' }));
  const inv = await b.invite.execute(new InviteMemberCommand({ organizationId: org.organizationId, workspaceId: ws.workspaceId }, newCommandContext({ actorId: org.adminUserId }), { email: 'u@acme.test' }));
  const user = (await b.accept.execute(new AcceptInvitationCommand(newCommandContext({ actorId: 'invitee' }), new URL(inv.inviteUrl).searchParams.get('token')!))).userId as string;
  /** as the write pipeline makes a keyed request's context: its key, and the fingerprint of its body */
  const change = (email: string, key?: string) =>
    new UpdateProfileCommand(org.organizationId, newCommandContext({ actorId: user, ...(key && { idempotencyKey: key, requestHash: `hash-of-${email}` }) }), user, { email });
  for (let n = 1; n <= 4; n++) await b.updateProfile.execute(change(`u${n}@acme.test`));
  const slotsTaken = () => {
    const db = new DatabaseSync(join(dir, 'api.sqlite'), { readOnly: true });
    try {
      return (db.prepare('SELECT count(*) AS n FROM email_change_mails WHERE user_id = ?').get(user) as { n: number }).n;
    } finally {
      db.close();
    }
  };
  return { a, b, before, bCommitted, change, slotsTaken };
}

it('probe 109 F1: the same keyed email change sent to two replicas at once at the last slot of the hour: both answer the change, one mail and one slot counted for it', async () => {
  const { a, b, before, change, slotsTaken } = await atTheLastSlot();
  // replica B's attempt runs whole between replica A's decision and its append
  let twin: ProfileAnswer | unknown;
  before.run = async () => {
    twin = await b.updateProfile.execute(change('u5@acme.test', 'key-5')).catch((error: unknown) => error);
  };
  const first = await a.updateProfile.execute(change('u5@acme.test', 'key-5'));
  expect(first.emailChange).toMatchObject({ status: 'pending_confirmation', email: 'u5@acme.test' });
  expect(twin).toMatchObject({ emailChange: { status: 'pending_confirmation', email: 'u5@acme.test', expiresAt: first.emailChange!.expiresAt } });
  // mailed once: by B, whose mail the ledger recorded before A, deciding again, found the change by its key
  expect(confirmationsMailed().filter((to) => to === 'u5@acme.test')).toHaveLength(1);
  expect([first.emailChange!.mail, (twin as ProfileAnswer).emailChange!.mail]).toEqual(['handed_over', 'handed_over']);
  // the change's mail is counted (by the slot A took: B, its twin, took none): the hour's five are taken
  expect(slotsTaken()).toBe(5);
  await expect(b.updateProfile.execute(change('u6@acme.test', 'key-6'))).rejects.toMatchObject({ problem: { code: 'TOO_MANY_EMAIL_CHANGES' } });
});

it('probe 110 F1: one key reused for another body, raced to two replicas at the last slot: another request, refused at the limit; the change made holds its slot, and the hour\'s five stay five', async () => {
  const { a, b, before, change, slotsTaken } = await atTheLastSlot();
  let other: unknown;
  before.run = async () => {
    other = await b.updateProfile.execute(change('u5-other@acme.test', 'key-5')).catch((error: unknown) => error);
  };
  expect((await a.updateProfile.execute(change('u5@acme.test', 'key-5'))).emailChange).toMatchObject({ status: 'pending_confirmation', email: 'u5@acme.test' });
  expect(other).toMatchObject({ problem: { code: 'TOO_MANY_EMAIL_CHANGES' } });
  expect(confirmationsMailed().filter((to) => to.startsWith('u5'))).toEqual(['u5@acme.test']);
  expect(slotsTaken()).toBe(5);
  await expect(b.updateProfile.execute(change('u6@acme.test', 'key-6'))).rejects.toMatchObject({ problem: { code: 'TOO_MANY_EMAIL_CHANGES' } });
});

it("probe 110 F2: the same keyed email change raced to two replicas, the one whose append won still handing its mail to a slow relay: the other waits for the ledger's record and mails nothing", async () => {
  const { a, b, before, bCommitted, change } = await atTheLastSlot(600);
  let twin: Promise<unknown> | undefined;
  // B's events commit between A's decision and its append; B's relay then takes 600 ms to take the mail
  before.run = async () => {
    const committed = bCommitted();
    twin = b.updateProfile.execute(change('u5@acme.test', 'key-5'));
    await committed;
  };
  const first = await a.updateProfile.execute(change('u5@acme.test', 'key-5'));
  expect(first.emailChange).toMatchObject({ status: 'pending_confirmation', email: 'u5@acme.test', mail: 'handed_over' });
  expect(await twin).toMatchObject({ emailChange: { email: 'u5@acme.test', mail: 'handed_over' } });
  expect(confirmationsMailed().filter((to) => to === 'u5@acme.test')).toHaveLength(1);
});
