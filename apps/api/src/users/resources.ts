import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { WriteAnswer } from '../shared/http/openapi';
import { ADDRESS_FORMAT } from '../shared/http/resources';
import type { MailStatus } from '../mail/mailer';

const USER_ID = { example: 'b5e0f4a2-6c1d-5f3e-9a7b-2d4c6e8f0a1b' };
const ORGANIZATION_ID = { example: '1b671a64-40d5-591e-99b1-2c3b3a4f2d10' };

/** The answer about an email change a profile change asked for (rule 10): mailed, or withdrawn. */
export class EmailChangeOutcome {
  @ApiProperty({
    enum: ['pending_confirmation', 'withdrawn'],
    description:
      '`pending_confirmation`: a link is mailed to `email` (`mail` says what became of it; asking again for the address pending mails a new one); `withdrawn`: the address asked for is the user\'s own, and the change that was pending is dropped (its link no longer works)',
  })
  status!: 'pending_confirmation' | 'withdrawn';
  @ApiProperty({ format: ADDRESS_FORMAT, description: 'the new address (pending: it becomes the user\'s once the link mailed to it is opened); withdrawn: the address the user keeps', example: 'jane.doe@acme.test' })
  email!: string;
  @ApiPropertyOptional({ format: 'date-time', description: 'pending only: when the link expires', example: '2026-03-03T09:00:00.000Z' })
  expiresAt?: string;
  @ApiPropertyOptional({
    enum: ['handed_over', 'refused', 'pending', 'not_sent'],
    description:
      "pending only: what became of the link's mail by the answer, as an invitation's `mail` (docs/adr/0018): `handed_over` to the mail relay; `refused` by it for good (a 5xx reply: the address takes no mail — it counts in no limit, ask for another address); `pending`: not handed over yet, the mail dispatcher tries again; `not_sent`: the user was deleted meanwhile. On a retry (same `Idempotency-Key`) answered from the log, what became of its first attempt's mail as the log recorded it (then nothing is mailed again), or of the mail the retry sent while the change is pending; absent when the log records none and the change was confirmed, withdrawn, replaced or expired since. A retry answered from the answer kept under its key repeats the first answer's `mail`, but for a `pending`: then what the log recorded of that mail since, still `pending` while the change is pending at that version and nothing is recorded, absent once it was confirmed, withdrawn, replaced or expired (as from the log) (docs/adr/0018 \"Session 65\"). A retry answered from the log that would mail again waits for a record as an invitation's, and leaves the mail to the mail dispatcher (`pending`) until its first try of that link is over",
    example: 'handed_over',
  })
  mail?: MailStatus;
}

/** A profile change (rule 10): the fields changed now, and the email change waiting for confirmation, if any. */
export class ProfileUpdated extends WriteAnswer {
  @ApiProperty(USER_ID)
  userId!: string;
  @ApiProperty({ type: 'array', items: { type: 'string', enum: ['displayName', 'alias', 'avatarUrl', 'email'] }, example: ['displayName'] })
  changed!: string[];
  @ApiPropertyOptional({ type: EmailChangeOutcome })
  emailChange?: EmailChangeOutcome;
}

export class EmailChangeConfirmed extends WriteAnswer {
  @ApiProperty(USER_ID)
  userId!: string;
  @ApiProperty(ORGANIZATION_ID)
  organizationId!: string;
}

/** Making a user an org admin, or taking it away (rule 5). */
export class OrgAdminSet extends WriteAnswer {
  @ApiProperty(USER_ID)
  userId!: string;
  @ApiProperty({ description: 'whether the user is an org admin now', example: true })
  orgAdmin!: boolean;
  @ApiProperty({ description: 'false when it already was so: nothing was appended', example: true })
  changed!: boolean;
}

/** Deleting a user (rule 12): gone from the organization and these workspaces; personal data erased. */
class CancelledInvitation {
  @ApiProperty({ example: '7c9e6679-7425-5de3-944b-e07fc1f90ae7' })
  workspaceId!: string;
  @ApiProperty({ example: '0b7e2d5c-1f4a-5e6b-8c9d-0e1f2a3b4c5d' })
  invitationId!: string;
}

export class UserDeleted extends WriteAnswer {
  @ApiProperty(USER_ID)
  userId!: string;
  @ApiProperty({ type: [String], description: 'the workspaces the user was removed from: those they were an active member of (a revoked membership had ended already)', example: ['7c9e6679-7425-5de3-944b-e07fc1f90ae7'] })
  workspaceIds!: string[];
  @ApiProperty({ type: [CancelledInvitation], description: 'the pending invitations to them cancelled with the deletion' })
  cancelledInvitations!: CancelledInvitation[];
}
