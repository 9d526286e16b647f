import { type WriteStream, createWriteStream, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Logger } from '@nestjs/common';
import { createTransport, type Transporter } from 'nodemailer';

export interface InvitationMail {
  to: string;
  workspaceName: string;
  inviteUrl: string;
  expiresAt: string;
}

/** The link that confirms a new email address (docs/rules.md#rule-10), mailed to that address. */
export interface EmailConfirmationMail {
  to: string;
  confirmUrl: string;
  expiresAt: string;
}

/** Sends the invitation and email-confirmation emails. */
export interface InvitationMailer {
  send(mail: InvitationMail): Promise<void>;
  sendEmailConfirmation(mail: EmailConfirmationMail): Promise<void>;
}
export const INVITATION_MAILER = Symbol('InvitationMailer');

/** Default: logs the link and appends it to `${dataDir}/outbox.jsonl`, so a local user can open it. */
export class OutboxMailer implements InvitationMailer {
  private readonly logger = new Logger('InvitationMailer');
  private outbox?: WriteStream;
  constructor(private readonly dataDir: string) {}

  async send(mail: InvitationMail): Promise<void> {
    await this.write({ kind: 'invitation', ...mail });
    this.logger.log(`Invitation for ${mail.to} to ${mail.workspaceName}: ${mail.inviteUrl}`);
  }

  async sendEmailConfirmation(mail: EmailConfirmationMail): Promise<void> {
    await this.write({ kind: 'email-confirmation', ...mail });
    this.logger.log(`Email confirmation for ${mail.to}: ${mail.confirmUrl}`);
  }

  private async write(mail: object): Promise<void> {
    if (!this.outbox) {
      mkdirSync(this.dataDir, { recursive: true, mode: 0o700 });
      this.outbox = createWriteStream(join(this.dataDir, 'outbox.jsonl'), { flags: 'a', mode: 0o600 });
    }
    const line = `${JSON.stringify({ ...mail, at: new Date().toISOString() })}\n`;
    await new Promise<void>((resolve, reject) => this.outbox!.write(line, (error) => (error ? reject(error) : resolve())));
  }

  close(): void {
    this.outbox?.end();
  }
}

/**
 * Sends without holding up the answer: the invitation is appended before, and a mail that fails is logged
 * (the console can copy the link or resend).
 */
export const sendInBackground = (mailer: InvitationMailer, mail: InvitationMail, logger = new Logger('InvitationMailer')): void => {
  mailer.send(mail).catch((error: unknown) => logger.error(`could not send the invitation to ${mail.to}: ${error instanceof Error ? error.message : String(error)}`));
};

export const sendConfirmationInBackground = (mailer: InvitationMailer, mail: EmailConfirmationMail, logger = new Logger('InvitationMailer')): void => {
  mailer
    .sendEmailConfirmation(mail)
    .catch((error: unknown) => logger.error(`could not send the email confirmation to ${mail.to}: ${error instanceof Error ? error.message : String(error)}`));
};

/** SMTP (nodemailer) when SMTP_URL is set. */
export class SmtpMailer implements InvitationMailer {
  private readonly transport: Transporter;
  constructor(smtpUrl: string, private readonly from = process.env.SMTP_FROM ?? 'Rollcall <no-reply@rollcall.local>') {
    this.transport = createTransport(smtpUrl);
  }

  async send(mail: InvitationMail): Promise<void> {
    await this.transport.sendMail({
      from: this.from,
      to: mail.to,
      subject: `You are invited to ${mail.workspaceName}`,
      text: `You have been invited to join ${mail.workspaceName}.\n\nAccept the invitation: ${mail.inviteUrl}\n\nThe link is valid until ${mail.expiresAt}.`,
    });
  }

  async sendEmailConfirmation(mail: EmailConfirmationMail): Promise<void> {
    await this.transport.sendMail({
      from: this.from,
      to: mail.to,
      subject: 'Confirm your new email address',
      text: `Someone asked to make this your email address.\n\nConfirm it: ${mail.confirmUrl}\n\nThe link is valid until ${mail.expiresAt}. If it was not you, ignore this email: nothing changes.`,
    });
  }
}
