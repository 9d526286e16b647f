import type { Event } from '../shared/events';

/**
 * A link's mail was handed to the mail transport (SMTP accepted it, or the outbox line was written): the ledger of
 * mails sent, which the mail dispatcher reads to find the links that were decided and never mailed — their process
 * died between the commit and the hand-off, or the transport failed (docs/adr/0018, "Session 29"). Not a decision:
 * appended by whoever handed the mail over, on the organization's mail stream, with no expected revision. No personal
 * data: the invitation or user is named by id, the link by its version.
 */
export type InvitationMailed = Event<
  'InvitationMailed',
  { organizationId: string; workspaceId: string; invitationId: string; linkVersion: number; mailedAt: string }
>;

/** The confirmation link of an email change (docs/rules.md#rule-10) was handed to the mail transport. */
export type EmailConfirmationMailed = Event<
  'EmailConfirmationMailed',
  { organizationId: string; userId: string; version: number; mailedAt: string }
>;

/**
 * The mail relay refused a link's mail for good (a 5xx reply, such as "550 user unknown"): it is not tried again, and
 * the console can tell (probe 46 F3, F4). No personal data: neither the address nor the relay's reply (which quotes it).
 */
export type InvitationMailRefused = Event<
  'InvitationMailRefused',
  { organizationId: string; workspaceId: string; invitationId: string; linkVersion: number; refusedAt: string }
>;

/** The same for the confirmation link of an email change (session 46): not tried again by the dispatcher either. */
export type EmailConfirmationMailRefused = Event<
  'EmailConfirmationMailRefused',
  { organizationId: string; userId: string; version: number; refusedAt: string }
>;

/**
 * A pending invitation's current link was copied ("copy invitation link", rule 2) by a member manager or an org admin:
 * a link handed out by hand, beside the mails (probe 83 F4: an acceptance through a copied link named only the invitee,
 * and nothing the one who handed it out). A record, not a decision: appended on the organization's mail stream, the
 * ledger of how its links reach people, with no expected revision; its metadata names who copied it, with which key
 * and request. The permission history lists it (`invitation_link_copied`).
 */
export type InvitationLinkCopied = Event<
  'InvitationLinkCopied',
  { organizationId: string; workspaceId: string; invitationId: string; linkVersion: number; expiresAt: string; copiedAt: string }
>;

/** the mail stream's records that are no mail (mail-dispatcher.ts does not read them) */
export const LINK_RECORD_TYPES = ['InvitationLinkCopied'] as const;

export type MailEvent = InvitationMailed | EmailConfirmationMailed | InvitationMailRefused | EmailConfirmationMailRefused;

export const MAIL_EVENT_TYPES = ['InvitationMailed', 'EmailConfirmationMailed', 'InvitationMailRefused', 'EmailConfirmationMailRefused'] as const;

/** One stream per organization for its mails' ledger: appends never contend with its decisions. */
export const mailStream = (organizationId: string): string => `mail-${organizationId}`;
