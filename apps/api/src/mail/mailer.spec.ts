import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type EmailConfirmationMail, type InvitationMail, type InvitationMailer, MAIL_HANDOFF_WAIT_MS, OutboxMailer, headerText, mailEmailConfirmation, mailInvitation, reasonOf, refusedForGood, smtpTransportUrl } from './mailer';

const mail: InvitationMail = {
  to: 'ada@acme.test',
  organizationName: 'Acme',
  workspaceName: 'Support',
  inviterName: 'Grace',
  access: 'as agent',
  inviteUrl: 'https://console.test/invite?token=t',
  expiresAt: '2026-12-04T00:00:00.000Z',
};

function recording() {
  const sent: (InvitationMail | EmailConfirmationMail)[] = [];
  const mailer = { send: async (m: InvitationMail) => void sent.push(m), sendEmailConfirmation: async (m: EmailConfirmationMail) => void sent.push(m) } as InvitationMailer;
  const lines: { level: string; fields: object; message: string }[] = [];
  const logger = {
    log: (fields: object, message: string) => lines.push({ level: 'log', fields, message }),
    error: (fields: object, message: string) => lines.push({ level: 'error', fields, message }),
  } as unknown as Parameters<typeof mailInvitation>[3];
  return { sent, mailer, lines, logger };
}
const settled = () => new Promise((resolve) => setImmediate(resolve));

describe('rule 12: invitation emails, handed over before the answer', () => {
  it('sends when the address was not erased since, and not when it was', async () => {
    const kept = recording();
    mailInvitation(kept.mailer, mail, async () => false, kept.logger);
    const erased = recording();
    mailInvitation(erased.mailer, mail, async () => true, erased.logger);
    await settled();
    expect(kept.sent).toEqual([mail]);
    expect(erased.sent).toEqual([]);
    expect(erased.lines).toEqual([{ level: 'log', fields: { workspace: 'Support' }, message: 'invitation email not sent: its address was erased after it was decided' }]);
  });

  it('does not send when the erasure check fails, and says so without the address or the link', async () => {
    const r = recording();
    mailInvitation(r.mailer, mail, async () => Promise.reject(new Error('SqliteEventStore is closed')), r.logger);
    await settled();
    expect(r.sent).toEqual([]);
    expect(r.lines).toEqual([
      { level: 'error', fields: { workspace: 'Support', reason: 'SqliteEventStore is closed' }, message: 'invitation email not sent: could not check whether its address was erased' },
    ]);
    expect(JSON.stringify(r.lines)).not.toMatch(/ada@|token/);
  });
});

describe('rule 7: the answer waits until its mail is handed over (probe 28: a crash after it lost the mail)', () => {
  it('resolves once the transport took the mail, not before', async () => {
    let take!: () => void;
    const mailer = { send: () => new Promise<void>((r) => (take = r)) } as unknown as InvitationMailer;
    let handed = false;
    const waiting = mailInvitation(mailer, mail, async () => false, recording().logger).then((status) => {
      handed = true;
      return status;
    });
    await settled();
    expect(handed).toBe(false);
    take();
    expect(await waiting).toBe('handed_over');
    expect(handed).toBe(true);
    // an address erased meanwhile: not sent, and said so
    expect(await mailInvitation(mailer, mail, async () => true, recording().logger)).toBe('not_sent');
  });

  it('a transport that fails or hangs does not fail or hold the answer past MAIL_HANDOFF_WAIT_MS (the failure is logged)', async () => {
    const failing = recording();
    failing.mailer.send = async () => Promise.reject(new Error('connection refused'));
    // answered as not handed over yet: the dispatcher tries again (probe 80 F4)
    await expect(mailInvitation(failing.mailer, mail, async () => false, failing.logger)).resolves.toBe('pending');
    expect(failing.lines).toEqual([{ level: 'error', fields: { workspace: 'Support', reason: 'connection refused' }, message: 'could not send the invitation email' }]);
    jest.useFakeTimers();
    try {
      const hanging = { send: () => new Promise<void>(() => undefined) } as unknown as InvitationMailer;
      let handed = false;
      const waiting = mailInvitation(hanging, mail, async () => false, recording().logger).then((status) => {
        handed = true;
        return status;
      });
      await jest.advanceTimersByTimeAsync(MAIL_HANDOFF_WAIT_MS - 1);
      expect(handed).toBe(false);
      await jest.advanceTimersByTimeAsync(1);
      expect(await waiting).toBe('pending');
      expect(handed).toBe(true);
    } finally {
      jest.useRealTimers();
    }
  });
});

describe('rule 12: email confirmations, handed over before the answer', () => {
  const confirmation: EmailConfirmationMail = { to: 'new@acme.test', organizationName: 'Acme', confirmUrl: 'https://console.test/confirm-email?token=t', expiresAt: '2026-12-04T00:00:00.000Z' };

  it('sends when the user was not erased since the change was requested; not when they were, or when the check fails', async () => {
    const kept = recording();
    mailEmailConfirmation(kept.mailer, confirmation, async () => false, kept.logger);
    const erased = recording();
    mailEmailConfirmation(erased.mailer, confirmation, async () => true, erased.logger);
    const failed = recording();
    mailEmailConfirmation(failed.mailer, confirmation, async () => Promise.reject(new Error('SqliteEventStore is closed')), failed.logger);
    await settled();
    expect(kept.sent).toEqual([confirmation]);
    expect([erased.sent, failed.sent]).toEqual([[], []]);
    expect([...erased.lines, ...failed.lines]).toEqual([
      { level: 'log', fields: {}, message: 'email confirmation not sent: its address was erased after it was decided' },
      { level: 'error', fields: { reason: 'SqliteEventStore is closed' }, message: 'email confirmation not sent: could not check whether its address was erased' },
    ]);
    expect(JSON.stringify([...erased.lines, ...failed.lines])).not.toMatch(/new@|token/);
  });
});

describe('OutboxMailer', () => {
  it('after a write that failed, the next record starts a line of its own: a torn line spoils no other (probe 95 F9)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rollcall-outbox-'));
    const mailer = new OutboxMailer(dir);
    try {
      // a device that is always full: the write fails with ENOSPC
      symlinkSync('/dev/full', join(dir, 'outbox.jsonl'));
      await expect(mailer.send(mail)).rejects.toThrow(/ENOSPC/);
      // what a full disk leaves of a record written in part
      rmSync(join(dir, 'outbox.jsonl'));
      writeFileSync(join(dir, 'outbox.jsonl'), '{"kind":"invitation","to":"torn');
      await mailer.send({ ...mail, to: 'next@acme.test' });
      const [torn, next, ...rest] = readFileSync(join(dir, 'outbox.jsonl'), 'utf8').split('\n');
      expect([torn, rest]).toEqual(['{"kind":"invitation","to":"torn', ['']]);
      expect(JSON.parse(next!)).toMatchObject({ kind: 'invitation', to: 'next@acme.test' });
      mailer.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a mail the outbox file cannot take fails (the process goes on), and the next mail opens the file again', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rollcall-outbox-'));
    const mailer = new OutboxMailer(dir);
    try {
      await mailer.send(mail);
      // the data dir removed under the open file's feet, then a directory where the file was: writes fail
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(join(dir, 'outbox.jsonl'), { recursive: true });
      mailer.close();
      const reopened = new OutboxMailer(dir);
      await expect(reopened.send(mail)).rejects.toThrow(/EISDIR/);
      // (an unhandled 'error' event would have ended the process before this line)
      rmSync(join(dir, 'outbox.jsonl'), { recursive: true });
      await reopened.send({ ...mail, to: 'again@acme.test' });
      expect(readFileSync(join(dir, 'outbox.jsonl'), 'utf8')).toContain('again@acme.test');
      reopened.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('probe 46: what a relay\'s refusal and a workspace\'s name carry', () => {
  it('F1: a refusal logged without the address the relay quoted', () => {
    const refusal = new Error("Can't send mail - all recipients were rejected: 450 4.2.0 <Jöhn.Doe+x@bücher.example>: Recipient address rejected: Greylisted; also jane@acme.test (and \"x\"@y.test)");
    const reason = reasonOf(refusal);
    expect(reason).toMatch(/^Can't send mail - all recipients were rejected: 450 4\.2\.0 <address>: Recipient address rejected: Greylisted; also address \(and address$/);
    expect(reason).not.toMatch(/@/);
  });

  it('F3: a 5xx is a refusal for good; a 4xx, a dropped connection or no code is not', () => {
    expect(refusedForGood(Object.assign(new Error('550'), { responseCode: 550 }))).toBe(true);
    expect(refusedForGood(Object.assign(new Error('450'), { responseCode: 450 }))).toBe(false);
    expect(refusedForGood(Object.assign(new Error('ECONNRESET'), { code: 'ECONNECTION' }))).toBe(false);
    expect(refusedForGood(undefined)).toBe(false);
  });

  it('F5: a name that looks like an encoded-word is encoded itself, so the subject reads as written', () => {
    expect(headerText('You are invited to Support')).toBe('You are invited to Support');
    const encoded = headerText('You are invited to =?utf-8?B?SGFja2Vk?= Team');
    expect(encoded).toMatch(/^=\?UTF-8\?Q\?.*\?=$/);
    expect(encoded).not.toContain('SGFja2Vk?=');
  });

  it('F6: credentials over smtp:// wait for STARTTLS unless the URL says otherwise; smtps://, no credentials, an explicit choice: as given', () => {
    const timeouts = 'connectionTimeout=30000&greetingTimeout=30000&socketTimeout=50000';
    expect(smtpTransportUrl('smtp://rollcall:s3cret@relay.acme.test:587')).toBe(`smtp://rollcall:s3cret@relay.acme.test:587?requireTLS=true&${timeouts}`);
    expect(smtpTransportUrl('smtp://rollcall:s3cret@127.0.0.1:2525?requireTLS=false')).toBe(`smtp://rollcall:s3cret@127.0.0.1:2525?requireTLS=false&${timeouts}`);
    expect(smtpTransportUrl('smtps://rollcall:s3cret@relay.acme.test')).toBe(`smtps://rollcall:s3cret@relay.acme.test?${timeouts}`);
    expect(smtpTransportUrl('smtp://127.0.0.1:2525')).toBe(`smtp://127.0.0.1:2525?${timeouts}`);
    // F7: a session's timeouts are the URL's when it gives them
    expect(smtpTransportUrl('smtp://127.0.0.1:2525?socketTimeout=5000')).toBe('smtp://127.0.0.1:2525?socketTimeout=5000&connectionTimeout=30000&greetingTimeout=30000');
  });
});
