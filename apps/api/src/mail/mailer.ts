import { type WriteStream, createWriteStream, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Logger } from '@nestjs/common';
import { createTransport, type Transporter } from 'nodemailer';
import { encodeWord } from 'nodemailer/lib/mime-funcs';
import { parseConnectionUrl } from 'nodemailer/lib/shared';
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import { type ConfirmationMailFacts, type InvitationMailFacts, confirmationMailText, invitationMailText } from './mail-text';
import { settledWithin } from '../shared/settled-within';

/** An invitation's link (docs/rules.md#rule-7), mailed to the invited address; its words: mail-text.ts. */
export interface InvitationMail extends InvitationMailFacts {
  to: string;
}

/** The link that confirms a new email address (docs/rules.md#rule-10), mailed to that address. */
export interface EmailConfirmationMail extends ConfirmationMailFacts {
  to: string;
}

/** Sends the invitation and email-confirmation emails. */
export interface InvitationMailer {
  send(mail: InvitationMail): Promise<void>;
  sendEmailConfirmation(mail: EmailConfirmationMail): Promise<void>;
}
export const INVITATION_MAILER = Symbol('InvitationMailer');

/**
 * Default: appends the mail to `${dataDir}/outbox.jsonl`, so a local user can open the link, and logs where it is.
 * The log line names neither the address (personal data is erasable, docs/rules.md#crypto-shredding; a log line is
 * not) nor the link (its token is the invitee's credential).
 */
export class OutboxMailer implements InvitationMailer {
  private readonly logger = new Logger('InvitationMailer');
  private outbox?: WriteStream;
  /** the last write failed: its line may be torn */
  private torn = false;
  constructor(private readonly dataDir: string) {}

  async send(mail: InvitationMail): Promise<void> {
    // the mail as data, and as the SMTP mailer would word it (a local user reads what an invitee would)
    await this.write({ kind: 'invitation', ...mail, ...invitationMailText(mail) });
    this.logger.log({ outbox: this.file, workspace: mail.workspaceName, expiresAt: mail.expiresAt }, 'invitation email written to the outbox');
  }

  async sendEmailConfirmation(mail: EmailConfirmationMail): Promise<void> {
    await this.write({ kind: 'email-confirmation', ...mail, ...confirmationMailText(mail) });
    this.logger.log({ outbox: this.file, expiresAt: mail.expiresAt }, 'email confirmation written to the outbox');
  }

  private get file(): string {
    return join(this.dataDir, 'outbox.jsonl');
  }

  private async write(mail: object): Promise<void> {
    if (!this.outbox) {
      mkdirSync(this.dataDir, { recursive: true, mode: 0o700 });
      const outbox = createWriteStream(this.file, { flags: 'a', mode: 0o600 });
      // a file that cannot be opened or written (its directory removed, a full disk) fails the mails written to it
      // (their write callbacks get the error: sendInBackground logs it) and the next mail opens it again; without a
      // listener the stream's 'error' event ended the process
      outbox.on('error', () => {
        if (this.outbox === outbox) this.outbox = undefined;
      });
      this.outbox = outbox;
    }
    // after a write that failed (a full disk may have taken part of its line), the next record starts a line of its own
    // (probe 95 F9: the retry's record was glued onto the torn one, and neither could be read)
    const line = `${this.torn ? '\n' : ''}${JSON.stringify({ ...mail, at: new Date().toISOString() })}\n`;
    this.torn = false;
    const outbox = this.outbox;
    await new Promise<void>((resolve, reject) =>
      outbox.write(line, (error) => {
        if (!error) return resolve();
        this.torn = true;
        // the next mail opens the file again (the stream is done for once a write failed)
        if (this.outbox === outbox) this.outbox = undefined;
        reject(error);
      }),
    );
  }

  close(): void {
    this.outbox?.end();
  }
}

/**
 * Only the failure's message: a mail transport's error object also carries the envelope and the rejected
 * addresses (personal data), which a serialized `err` would log. And not the addresses in the message either: a relay's
 * refusal names the recipient (`450 4.2.0 <jane@acme.test>: Recipient address rejected`, as Postfix and most relays
 * answer), which nodemailer quotes (probe 46 F1: an address per refused mail, and per retry, in the log).
 */
export const reasonOf = (error: unknown): string =>
  (error instanceof Error ? error.message : String(error)).replace(/<[^<>\s]*@[^<>\s]*>/g, '<address>').replace(/[^\s<>]*@[^\s<>]+/g, 'address');

/**
 * How long a command's answer waits for its mail to be handed to the transport (then the mail goes on in the
 * background). An answer sent means the mail was handed over, or its failure logged: a process that died after the
 * commit and before the hand-off has not answered, and the client's retry mails again (probe 28: the mail went after
 * the answer; a crash in between left the invitation pending, never mailed, nothing logged, and the retry was a replay).
 */
export const MAIL_HANDOFF_WAIT_MS = 2_000;

/**
 * how long one of the mail dispatcher's sends may take before it counts as failed (tried again later; if it went
 * through after all, the invitee gets the link twice): an SMTP server that hangs held the whole pass — every link of
 * every organization — for its timeouts, minutes (probe 29b). A retry leaves a link to the dispatcher for that long
 * after the dispatcher takes it up (mail-ledger.ts leftToDispatcher).
 */
export const SEND_TIMEOUT_MS = 60_000;

/**
 * Hands the mail over unless `erasedSince` says its address was erased: asked right before the mail is handed to the
 * transport, a deletion that erased it after the command's events committed means it is not sent (AddressErasure).
 * Resolves 'sent' once the transport took it, 'erased', 'refused' (the relay refused it for good: refusedForGood), or
 * 'failed' (the check or the transport failed: logged).
 * Never rejects. Failures log only the reason and `context` (the request's id comes with the
 * logging context), never the address.
 */
export type HandOff = 'sent' | 'erased' | 'failed' | 'refused';

/**
 * Whether the relay refused the mail for good: a 5xx reply (RFC 5321: a permanent negative completion, such as "550
 * 5.1.1 user unknown"), which a retry would only repeat, and which relays count against a sender that keeps trying
 * (probe 46 F3). A 4xx (greylisting, a full queue), a dropped connection or a timeout may pass later.
 */
export const refusedForGood = (error: unknown): boolean => {
  const code = (error as { responseCode?: unknown } | null)?.responseCode;
  return typeof code === 'number' && code >= 500 && code < 600;
};
export function handOver(what: string, context: object, send: () => Promise<void>, erasedSince: () => Promise<boolean>, logger: Logger): Promise<HandOff> {
  const run = async (): Promise<HandOff> => {
    const erased = await erasedSince().catch((error: unknown) => {
      logger.error({ ...context, reason: reasonOf(error) }, `${what} not sent: could not check whether its address was erased`);
      return undefined;
    });
    if (erased === undefined) return 'failed';
    if (erased) {
      logger.log(context, `${what} not sent: its address was erased after it was decided`);
      return 'erased';
    }
    await send();
    return 'sent';
  };
  return run().catch((error: unknown): HandOff => {
    const refused = refusedForGood(error);
    logger.error({ ...context, reason: reasonOf(error), ...(refused && { refusedForGood: true }) }, refused ? `the relay refused the ${what} for good` : `could not send the ${what}`);
    return refused ? 'refused' : 'failed';
  });
}

/**
 * Sends (`handOver`), the answer waiting until the mail is handed over (at most MAIL_HANDOFF_WAIT_MS; then it goes on
 * in the background). The command's events are appended before; a mail that fails is logged, and the mail dispatcher
 * sends it again later (mail/mail-dispatcher.ts). `recorded` runs with the outcome, and is waited for within the same
 * time (the ledger's record of a mail taken or refused for good, which tells the dispatcher it went, or that it is not
 * to be tried again). Never rejects.
 */
/**
 * What became of a mail by the time the write answers (probe 80 F4: an invitation answered 201 though the relay had
 * refused its mail for good): `handed_over` to the relay; `refused` by it for good (a 5xx: the address is wrong, a
 * resend will not help); `pending`: not handed over yet (the relay is slow, deferred it or is unreachable): the mail
 * dispatcher tries again (docs/adr/0018); `not_sent`: the address was erased meanwhile.
 */
export type MailStatus = 'handed_over' | 'refused' | 'pending' | 'not_sent';
const MAIL_STATUS: Record<HandOff, MailStatus> = { sent: 'handed_over', refused: 'refused', failed: 'pending', erased: 'not_sent' };

function sendWaiting(what: string, context: object, send: () => Promise<void>, erasedSince: () => Promise<boolean>, logger: Logger, recorded?: HandOffRecord): Promise<MailStatus> {
  const handing = handOver(what, context, send, erasedSince, logger).then(async (outcome) => {
    await recorded?.(outcome);
    return MAIL_STATUS[outcome];
  });
  return settledWithin(MAIL_HANDOFF_WAIT_MS, handing, (): MailStatus => 'pending');
}

/** what a hand-off leaves behind (mail/mail-ledger.ts: a record of the mail taken or refused for good; every outcome counted) */
export type HandOffRecord = (outcome: HandOff) => Promise<void> | undefined;

export const mailInvitation = (
  mailer: InvitationMailer,
  mail: InvitationMail,
  /** whether the address was erased since the invitation was appended (AddressErasure.erasedAfter): not sent then */
  erasedSince: () => Promise<boolean> = async () => false,
  logger = new Logger('InvitationMailer'),
  recorded?: HandOffRecord,
): Promise<MailStatus> => sendWaiting('invitation email', { workspace: mail.workspaceName }, () => mailer.send(mail), erasedSince, logger, recorded);

export const mailEmailConfirmation = (
  mailer: InvitationMailer,
  mail: EmailConfirmationMail,
  /** whether the user was erased since the email change was appended (AddressErasure.userErasedAfter): not sent then */
  erasedSince: () => Promise<boolean> = async () => false,
  logger = new Logger('InvitationMailer'),
  recorded?: HandOffRecord,
): Promise<MailStatus> => sendWaiting('email confirmation', {}, () => mailer.sendEmailConfirmation(mail), erasedSince, logger, recorded);

/**
 * A header's text as the reader is to see it. nodemailer leaves text that already looks like an RFC 2047 encoded-word
 * as it is, and a mail client decodes it: a workspace named `=?utf-8?B?SGFja2Vk?= Team` reached the inbox as "Hacked
 * Team" (probe 46 F5). Such text is encoded itself (its `=?` too), so it reads as written.
 */
export const headerText = (text: string): string => (text.includes('=?') ? encodeWord(text, 'Q', 0) : text);

/**
 * SMTP_URL as nodemailer is to read it: credentials over `smtp://` are sent only once STARTTLS has encrypted the
 * session (`requireTLS`), unless the URL says otherwise (`?requireTLS=false`, a relay on loopback without TLS). A relay
 * that did not offer STARTTLS (or a path that stripped it) received the password in clear (probe 46 F6).
 */
export function smtpTransportUrl(smtpUrl: string): string {
  const url = new URL(smtpUrl);
  const credentials = url.username !== '' || url.password !== '';
  if (url.protocol === 'smtp:' && credentials && !url.searchParams.has('requireTLS')) url.searchParams.set('requireTLS', 'true');
  // a relay that stops answering: its session is closed before the dispatcher tries the link again (its send timeout
  // is 60 s), not left open for nodemailer's defaults (2 min to connect, 10 min idle): sessions piled up, and a late
  // answer delivered a copy per try (probe 46 F7)
  for (const [option, ms] of SESSION_TIMEOUTS_MS) if (!url.searchParams.has(option)) url.searchParams.set(option, String(ms));
  return url.toString();
}
const SESSION_TIMEOUTS_MS = [
  ['connectionTimeout', 30_000],
  ['greetingTimeout', 30_000],
  ['socketTimeout', 50_000],
] as const;

/** RFC 3834: a mail sent by a program, which out-of-office replies and autoresponders do not answer (probe 46 F8) */
const AUTOMATIC = { 'Auto-Submitted': 'auto-generated' };

/** how long the relay's answer to "SMTPUTF8?" is remembered */
const EXTENSIONS_KEPT_MS = 10 * 60_000;
/** an address whose local part is not ASCII: only a relay that offers SMTPUTF8 (RFC 6531) may be given it */
const needsSmtpUtf8 = (address: string): boolean => /[^ -~]/.test(address.slice(0, address.lastIndexOf('@')));

/** SMTP (nodemailer) when SMTP_URL is set. */
export class SmtpMailer implements InvitationMailer {
  private readonly transport: Transporter;
  private readonly url: string;
  private smtpUtf8?: { offered: Promise<boolean>; until: number };
  /** `from`: SMTP_FROM, checked at start (config.ts) */
  constructor(
    smtpUrl: string,
    private readonly from: string,
  ) {
    this.url = smtpTransportUrl(smtpUrl);
    this.transport = createTransport(this.url);
  }

  /**
   * nodemailer hands an address whose local part is not ASCII to a relay that does not offer SMTPUTF8 all the same,
   * in raw UTF-8 (RFC 6531 forbids it; a strict relay refuses it for good, a lenient one may mangle it: probe 46 F2).
   * Such a mail is refused here instead, as permanently as the relay would (553: the dispatcher does not try again).
   * The relay's extensions are asked on a connection of its own (nodemailer's transport does not tell them), then
   * remembered for EXTENSIONS_KEPT_MS.
   */
  private async checkInternationalized(to: string): Promise<void> {
    if (!needsSmtpUtf8(to)) return;
    if (!this.smtpUtf8 || this.smtpUtf8.until < performance.now()) {
      const offered = relayOffers(this.url, 'SMTPUTF8');
      this.smtpUtf8 = { offered, until: performance.now() + EXTENSIONS_KEPT_MS }; // (a clock that never steps)
      offered.catch(() => (this.smtpUtf8 = undefined));
    }
    if (!(await this.smtpUtf8.offered))
      throw Object.assign(new Error('553 the mail relay does not offer SMTPUTF8 (RFC 6531): an address whose local part is not ASCII cannot be sent through it'), { responseCode: 553 });
  }

  async send(mail: InvitationMail): Promise<void> {
    await this.checkInternationalized(mail.to);
    const { subject, text } = invitationMailText(mail);
    await this.transport.sendMail({ from: this.from, to: mail.to, subject: headerText(subject), headers: AUTOMATIC, text });
  }

  async sendEmailConfirmation(mail: EmailConfirmationMail): Promise<void> {
    await this.checkInternationalized(mail.to);
    const { subject, text } = confirmationMailText(mail);
    await this.transport.sendMail({ from: this.from, to: mail.to, subject: headerText(subject), headers: AUTOMATIC, text });
  }
}

/** Whether the relay lists `extension` in its EHLO answer (after STARTTLS, when the URL asks for TLS). */
function relayOffers(url: string, extension: string): Promise<boolean> {
  return new Promise<boolean>((resolve, reject) => {
    const connection = new SMTPConnection(parseConnectionUrl(url) as ConstructorParameters<typeof SMTPConnection>[0]);
    connection.once('error', reject);
    connection.connect(() => {
      const offered = ((connection as unknown as { _supportedExtensions?: string[] })._supportedExtensions ?? []).includes(extension);
      connection.quit();
      resolve(offered);
    });
  });
}
