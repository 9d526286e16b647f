import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import type { MemberView } from '@rollcall/read-store';
import type { Restrictions } from '@rollcall/domain';
import { RESTRICTIONS_SCHEMA, nullableString, ADDRESS_FORMAT } from '../shared/http/resources';
import { WriteAnswer } from '../shared/http/openapi';
import type { MailStatus } from '../mail/mailer';

const INVITATION_ID = { description: 'the invitation (resend, cancel, copy link)', example: 'a3bb189e-8bf9-5888-9912-ace4e6543002' };
const INVITE_URL = { format: 'uri', description: 'the registration link; its token authenticates POST /v1/invitations/accept', example: 'https://console.acme.test/invite?token=MWI2NzFhNjQ6N2M5ZTY2Nzk6YTNiYjE4OWU6MQ.Xq3v0N8cQm1yVt7kLw2sZr5pHb9gFd4jUa6eTi0oYxE' };
const EXPIRES_AT = { format: 'date-time', description: 'when the current link stops working', example: '2026-03-03T09:00:00.000Z' };

/** A pending invitation as the user list shows it (docs/rules.md#rule-9): an address admitted with a stated access. */
export class Invitation {
  @ApiProperty(INVITATION_ID)
  invitationId!: string;
  @ApiProperty({ example: '7c9e6679-7425-5de3-944b-e07fc1f90ae7' })
  workspaceId!: string;
  @ApiProperty(nullableString('the invited address; null once its owner was deleted (rule 12)', 'jane@acme.test', ADDRESS_FORMAT))
  email!: string | null;
  @ApiProperty({ enum: ['pending'], description: 'an invitation in the list is always pending (accepted ones are members, cancelled ones are gone)' })
  status!: 'pending';
  @ApiProperty(
    nullableString(
      "the organization's user the address belonged to when it was sent: accepting binds to them, whoever holds the address later (rule 8); null for an address no user held, and to a reader who is no org admin (the organization's users are theirs to know)",
      null,
    ),
  )
  userId!: string | null;
  @ApiProperty({ type: [String], example: ['agent'] })
  roles!: string[];
  @ApiProperty(RESTRICTIONS_SCHEMA)
  restrictions!: Restrictions;
  @ApiProperty({ type: [String], example: [] })
  grants!: string[];
  @ApiProperty({ format: 'date-time', example: '2026-03-01T09:00:00.000Z' })
  invitedAt!: string;
  @ApiProperty(EXPIRES_AT)
  expiresAt!: string;
  @ApiProperty({ description: 'its link has expired (it is still pending, rule 7): resend it to send a link that works; its link is not copied (410 INVITATION_EXPIRED: probe 39b F10, 89 F5)', example: false })
  expired!: boolean;
  @ApiProperty({
    type: String,
    nullable: true,
    format: 'date-time',
    description:
      "when the mail with its current link was handed to the mail relay; null: not yet — the relay refused it or is unreachable (the mail dispatcher tries again; a refusal for good, such as an unknown address, is not), or the link was (re)sent a moment ago: the record of the mail is appended just after the invitation or resend it mails, so a read with X-Min-Position at that answer's `position` may come before it — the answer's `mail` says at once what became of it (probe 105 F1). Long null: check the address, or copy the link (probe 46 F4)",
    example: '2026-03-01T09:00:01.000Z',
  })
  mailedAt!: string | null;
  @ApiProperty({
    type: String,
    nullable: true,
    format: 'date-time',
    description: 'when the mail relay refused the current link\'s mail for good (a 5xx reply, such as an unknown address): it is not tried again — check the address, then resend or copy the link; null: it did not',
    example: null,
  })
  mailRefusedAt!: string | null;
  @ApiProperty(nullableString("who sent it: a user id, or 'system' (the system key)", '7c1e4b2a-9d3f-4e5a-8b6c-1d2e3f4a5b6c'))
  invitedBy!: string | null;
}

/** A pending invitation of the user list, as a public resource (no storage key, no link version); `expired` as of `now`. */
export const toInvitation = (doc: MemberView, now = Date.now()): Invitation => ({
  invitationId: doc.invitationId!,
  workspaceId: doc.workspaceId,
  email: doc.email,
  status: 'pending',
  // a document projected before members version 11 has none (the first start after the upgrade replays them)
  userId: doc.inviteeUserId ?? null,
  roles: doc.roles,
  restrictions: doc.restrictions,
  grants: doc.grants,
  invitedAt: doc.invitedAt!,
  expiresAt: doc.expiresAt!,
  expired: now >= Date.parse(doc.expiresAt!),
  mailedAt: doc.mailedAt ?? null,
  mailRefusedAt: doc.mailRefusedAt ?? null,
  invitedBy: doc.invitedBy ?? null,
});

export class InvitationCreated extends WriteAnswer {
  @ApiProperty(INVITATION_ID)
  invitationId!: string;
  @ApiProperty(INVITE_URL)
  inviteUrl!: string;
  @ApiProperty(EXPIRES_AT)
  expiresAt!: string;
  @ApiPropertyOptional({
    enum: ['handed_over', 'refused', 'pending', 'not_sent'],
    description:
      "what became of the link's mail by the answer (docs/adr/0018): `handed_over` to the mail relay; `refused` by it for good (a 5xx reply: the address does not take mail — check it with the invitee, a resend will not help; the user list shows `mailRefusedAt`); `pending`: not handed over yet (a slow, deferring or unreachable relay): the mail dispatcher tries again; `not_sent`: the address was erased meanwhile. On a retry (same `Idempotency-Key`) answered from the log, what became of its first attempt's mail as the log recorded it (then nothing is mailed again), or of the mail the retry sent; absent when the log records none and the link was replaced, accepted, cancelled or expired since (not mailed again). A retry answered from the answer kept under its key repeats the first answer's `mail`, but for a `pending`: then what the log recorded of that mail since (`handed_over`, `refused`), still `pending` while the link is current and nothing is recorded, absent once the link was replaced, accepted, cancelled or expired (as from the log). A retry answered from the log that would mail again first waits up to 2 s for a record of its first attempt's mail (the same request on another replica); then, with the mail dispatcher on and its first try of that link not over (`ROLLCALL_MAIL_RETRY_AFTER_SECONDS`, a pass and its 60 s send timeout after the decision), it mails nothing and says `pending`: the dispatcher mails it.",
    example: 'handed_over',
  })
  mail?: MailStatus;
}

export class InvitationResent extends InvitationCreated {}

export class InvitationCancelled extends WriteAnswer {
  @ApiProperty(INVITATION_ID)
  invitationId!: string;
}

/** "Copy invitation link" (rule 7): the current link, while it has not expired (an expired one: 410, resend it). */
export class InvitationLink {
  @ApiProperty(INVITATION_ID)
  invitationId!: string;
  @ApiProperty(nullableString('the invited address', 'jane@acme.test', ADDRESS_FORMAT))
  email!: string | null;
  @ApiProperty(INVITE_URL)
  inviteUrl!: string;
  @ApiProperty(EXPIRES_AT)
  expiresAt!: string;
  @ApiProperty({ description: 'always false since session 58: an expired link is refused (410 INVITATION_EXPIRED, probe 89 F5); kept for the clients that read it', example: false })
  expired!: boolean;
}

export class InvitationAccepted extends WriteAnswer {
  @ApiProperty({ description: 'the new member (an existing user of the organization keeps their id)', example: 'b5e0f4a2-6c1d-5f3e-9a7b-2d4c6e8f0a1b' })
  userId!: string;
  @ApiProperty({ example: '1b671a64-40d5-591e-99b1-2c3b3a4f2d10' })
  organizationId!: string;
  @ApiProperty({ example: '7c9e6679-7425-5de3-944b-e07fc1f90ae7' })
  workspaceId!: string;
}
