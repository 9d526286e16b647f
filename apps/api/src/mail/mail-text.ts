// What the invitation and email-confirmation mails say (docs/rules.md#the-mails). A person decides from the mail
// alone whether to click a registration link: it names the organization, the workspace, who sent it and the access it
// gives (probe 65 F1: it named only the workspace, and two organizations' "Support" invitations read the same).
import type { Access, AccessModelName, OrganizationState, WorkspaceContext } from '@rollcall/domain';

/** What an invitation mail is made of (the mailers write it; the outbox keeps it as data too). */
export interface InvitationMailFacts {
  organizationName: string;
  workspaceName: string;
  /** who sent this link (the invitation's or the resend's actor), when they have a name; null: the system, or no name */
  inviterName: string | null;
  /** the access the link gives, in words (accessInWords) */
  access: string;
  inviteUrl: string;
  expiresAt: string;
}

export interface ConfirmationMailFacts {
  organizationName: string;
  confirmUrl: string;
  expiresAt: string;
}

/**
 * A name as it came, set apart from the sentence around it (U+2068 FIRST STRONG ISOLATE … U+2069 POP DIRECTIONAL
 * ISOLATE, Unicode's bidi algorithm): a right-to-left workspace name in an English sentence keeps its own direction and
 * does not carry the full stop after it to its other side (probe 65 F1).
 */
export const isolated = (name: string): string => `\u2068${name}\u2069`;

const READABLE = new Intl.DateTimeFormat('en-GB', { dateStyle: 'long', timeStyle: 'short', timeZone: 'UTC' });

/** "8 December 2026 at 04:15 UTC": a reader's time, not an ISO timestamp with milliseconds */
export const readableUtc = (iso: string): string => `${READABLE.format(new Date(iso))} UTC`;

const words = (name: string): string => name.replaceAll('_', ' ');
const listed = (items: string[]): string => (items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`);

/** "as agent", "as operator and analyst", "as a member with the reporting and users permissions" */
export function accessInWords(access: Access, model: AccessModelName): string {
  if (model === 'permissions') {
    const grants = access.grants.map(words);
    return grants.length === 0 ? 'as a member' : `as a member with the ${listed(grants)} permission${grants.length > 1 ? 's' : ''}`;
  }
  const roles = access.roles.filter((role) => role !== 'member').map(words);
  return roles.length === 0 ? 'as a member' : `as ${listed(roles)}`;
}

export function invitationMailText(mail: InvitationMailFacts): { subject: string; text: string } {
  const workspace = isolated(mail.workspaceName);
  const organization = isolated(mail.organizationName);
  const who = mail.inviterName ? `${isolated(mail.inviterName)} invited you` : 'You are invited';
  return {
    subject: `${organization}: you are invited to ${workspace}`,
    text:
      `${who} to join ${workspace}, a workspace of ${organization}, ${mail.access}.\n\n` +
      `Accept the invitation: ${mail.inviteUrl}\n\n` +
      `The link is valid until ${readableUtc(mail.expiresAt)}. If you did not expect this invitation, ignore this email: nothing happens without the link.`,
  };
}

export function confirmationMailText(mail: ConfirmationMailFacts): { subject: string; text: string } {
  const organization = isolated(mail.organizationName);
  return {
    subject: `${organization}: confirm your new email address`,
    text:
      `Someone asked to make this the email address of your account in ${organization}.\n\n` +
      `Confirm it: ${mail.confirmUrl}\n\n` +
      `The link is valid until ${readableUtc(mail.expiresAt)}. If it was not you, ignore this email: nothing changes.`,
  };
}

/** the longest sender's name a mail quotes */
export const MAIL_NAME_MAX = 64;
/** what a mail client turns into a link: a scheme, `www.`, an address, a domain (a dot and two letters) */
const LINK_LIKE = /:\/\/|www\.|@|\.\p{L}{2}/iu;

/**
 * A sender's display name as the mail may quote it, or null ("You are invited"): the name is the sender's own words
 * (any member who may invite sets theirs), and the mail goes out from the operator's address to anyone: a name with
 * something a mail client makes a link of, or past MAIL_NAME_MAX characters, is not quoted (probe 66 F4: "Your mailbox
 * is full; sign in at https://…" became the mail's first line).
 */
export const nameForMail = (name: string): string | null => ([...name].length <= MAIL_NAME_MAX && !LINK_LIKE.test(asBrowsersRead(name)) ? name : null);

/**
 * a name as a browser or mail client reads a host in it: compatibility forms composed (full-width `ｗｗｗ．ｅｖｉｌ．ｃｏｍ`
 * is `www.evil.com`) and the dots IDNA takes as one (`。` `｡` `．` `․`) as `.` (probe 73 F6: such a name was quoted)
 */
const asBrowsersRead = (name: string): string => name.normalize('NFKC').replace(/[\u3002\uFF61\uFF0E\u2024]/g, '.');

/** who is named as sending a link: a user of the organization with a name fit for a mail, not deleted (the system key names nobody) */
const nameOf = (org: OrganizationState, actorId: string | undefined): string | null => {
  const user = actorId === undefined ? undefined : org.users.get(actorId);
  return user && !user.deleted && user.displayName !== '' ? nameForMail(user.displayName) : null;
};

/** An invitation's mail from the state it was decided on: `actorId` sent this link (the invitation or its resend). */
export function invitationMailFor(
  ctx: WorkspaceContext,
  link: { to: string; access: Access; actorId: string | undefined; inviteUrl: string; expiresAt: string },
): InvitationMailFacts & { to: string } {
  return {
    to: link.to,
    organizationName: ctx.org.name,
    workspaceName: ctx.ws.info.name,
    inviterName: nameOf(ctx.org, link.actorId),
    access: accessInWords(link.access, ctx.ws.info.accessModel),
    inviteUrl: link.inviteUrl,
    expiresAt: link.expiresAt,
  };
}
