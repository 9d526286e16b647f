import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import type { OrgUserDoc } from '@rollcall/read-store';
import { WriteAnswer } from '../shared/openapi';
import { nullableString } from '../shared/resources';

const USER_ID = { example: 'b5e0f4a2-6c1d-5f3e-9a7b-2d4c6e8f0a1b' };
const ORGANIZATION_ID = { example: '1b671a64-40d5-591e-99b1-2c3b3a4f2d10' };

/**
 * One person in one organization (docs/rules.md#concepts): the profile every workspace shows. A deleted user keeps
 * their id and dates, with every personal field null (rule 12).
 */
export class OrgUser {
  @ApiProperty(USER_ID)
  userId!: string;
  @ApiProperty(ORGANIZATION_ID)
  organizationId!: string;
  @ApiProperty({ ...nullableString('null once the user is deleted', 'jane@acme.test'), format: 'email' })
  email!: string | null;
  @ApiProperty(nullableString('display name', 'Jane Doe'))
  displayName!: string | null;
  @ApiProperty(nullableString('alias shown to contacts', 'Jane'))
  alias!: string | null;
  @ApiProperty({ ...nullableString('avatar URL', 'https://cdn.acme.test/jane.png'), format: 'uri' })
  avatarUrl!: string | null;
  @ApiProperty({ description: 'holds organization-level access', example: false })
  orgAdmin!: boolean;
  @ApiProperty({ example: false })
  deleted!: boolean;
  @ApiProperty({ format: 'date-time', example: '2026-03-01T09:05:00.000Z' })
  joinedAt!: string;
  @ApiProperty({ ...nullableString('when the user was deleted', null), format: 'date-time' })
  deletedAt!: string | null;
}

/** An org-user document as its public resource (no storage key). */
export const toOrgUser = (doc: OrgUserDoc): OrgUser => ({
  userId: doc.userId,
  organizationId: doc.organizationId,
  email: doc.email,
  displayName: doc.displayName,
  alias: doc.alias,
  avatarUrl: doc.avatarUrl,
  orgAdmin: doc.orgAdmin,
  deleted: doc.deleted,
  joinedAt: doc.joinedAt,
  deletedAt: doc.deletedAt,
});

export class PendingEmailChange {
  @ApiProperty({
    enum: ['pending_confirmation', 'withdrawn'],
    description:
      '`pending_confirmation`: a link was mailed to `email` (asking again for the address pending mails a new one); `withdrawn`: the address asked for is the user\'s own, and the change that was pending is dropped (its link no longer works)',
  })
  status!: 'pending_confirmation' | 'withdrawn';
  @ApiProperty({ format: 'email', description: 'the new address (pending: it becomes the user\'s once the link mailed to it is opened); withdrawn: the address the user keeps', example: 'jane.doe@acme.test' })
  email!: string;
  @ApiPropertyOptional({ format: 'date-time', description: 'pending only: when the link expires', example: '2026-03-03T09:00:00.000Z' })
  expiresAt?: string;
}

/** A profile change (rule 10): the fields changed now, and the email change waiting for confirmation, if any. */
export class ProfileUpdated extends WriteAnswer {
  @ApiProperty(USER_ID)
  userId!: string;
  @ApiProperty({ type: 'array', items: { type: 'string', enum: ['displayName', 'alias', 'avatarUrl', 'email'] }, example: ['displayName'] })
  changed!: string[];
  @ApiPropertyOptional({ type: PendingEmailChange })
  emailChange?: PendingEmailChange;
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
export class UserDeleted extends WriteAnswer {
  @ApiProperty(USER_ID)
  userId!: string;
  @ApiProperty({ type: [String], description: 'the workspaces the user was removed from', example: ['7c9e6679-7425-5de3-944b-e07fc1f90ae7'] })
  workspaceIds!: string[];
}
