import { Controller, Get, Inject, Param } from '@nestjs/common';
import { ApiBearerAuth, ApiHeader, ApiOperation, ApiProperty, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { type Invitation, hasAddress, invitationNotFound } from '@rollcall/domain';
import { ActorId, CurrentPrincipal, type Principal } from '../shared/auth';
import { ApiProblems, ApiRead } from '../shared/http/openapi';
import { IdPipe } from '../shared/http/path-params';
import { READ_ACTOR_HEADER, ReadAccess } from '../shared/reads/read-access';
import { ADDRESS_FORMAT, Access, nullableString } from '../shared/http/resources';
import { DomainException } from '../shared/command-path/stream-handler';

export class InvitationDetail extends Access {
  @ApiProperty({ example: '0b7e2d5c-1f4a-5e6b-8c9d-0e1f2a3b4c5d' })
  invitationId!: string;
  @ApiProperty({ enum: ['pending', 'accepted', 'cancelled'], description: 'a pending one may have expired (`expired`)' })
  status!: Invitation['status'];
  @ApiProperty(nullableString("the address it was sent to (null: erased with its person's deletion)", 'jane@acme.test', ADDRESS_FORMAT))
  email!: string | null;
  @ApiProperty({ format: 'date-time' })
  invitedAt!: string;
  @ApiProperty({ description: 'which link is current: 1 for the first mail, one more per resend (older links answer INVITATION_LINK_SUPERSEDED)', example: 1 })
  linkVersion!: number;
  @ApiProperty({ format: 'date-time', description: 'when the current link was sent (the invitation, or its latest resend)' })
  linkSentAt!: string;
  @ApiProperty({ format: 'date-time', description: 'when the current link stops working' })
  expiresAt!: string;
  @ApiProperty({ description: 'pending, and its current link past expiresAt: resend it, or cancel it' })
  expired!: boolean;
  @ApiPropertyOptional({
    type: String,
    nullable: true,
    description:
      'the user it is bound to (an existing user of the organization invited: rule 8; shown to org admins only) or who accepted it; null for a new address not accepted, and for a bound one to a reader who is no org admin',
  })
  userId!: string | null;
  @ApiProperty(nullableString("who sent it: a user id, or 'system' (the system key); null only for an invitation recorded without one", '7c1e4b2a-9d3f-4e5a-8b6c-1d2e3f4a5b6c'))
  invitedBy!: string | null;
  @ApiProperty(nullableString('when it was accepted (null unless accepted)', '2026-11-30T09:15:00.000Z', 'date-time'))
  acceptedAt!: string | null;
  @ApiProperty(nullableString('when it was cancelled, by hand or by the deletion of its user or the erasure of its address (null unless cancelled)', '2026-11-30T09:15:00.000Z', 'date-time'))
  cancelledAt!: string | null;
  @ApiProperty(nullableString("who cancelled it (a user id, or 'system'): the one who cancelled it, or who deleted its user or erased its address; null unless cancelled", '7c1e4b2a-9d3f-4e5a-8b6c-1d2e3f4a5b6c'))
  cancelledBy!: string | null;
}

/**
 * One invitation, whatever became of it (probe 80 F3: an accepted or cancelled invitation left the user list and had
 * no read of its own — "sent? when? to which address? resent? accepted?" took a scan of the history). From the
 * workspace's decision state: current at once. Its events, with who and which request: `GET …/history?invitationId=`;
 * its current link's mail: the user list's `mailedAt` / `mailRefusedAt` while it is pending.
 */
@ApiTags('invitations')
@ApiBearerAuth()
@Controller('v1/workspaces/:ws/invitations')
export class InvitationReadController {
  constructor(@Inject(ReadAccess) private readonly access: ReadAccess) {}

  @Get(':id')
  @ApiOperation({
    summary:
      "One invitation, pending, accepted or cancelled: its address, access, who sent it, its current link's version and expiry, when it was accepted or cancelled and by whom, and the user it is bound to or who accepted it (whoever may read the user list). Its history: GET …/history?invitationId=.",
  })
  @ApiHeader(READ_ACTOR_HEADER)
  @ApiRead(InvitationDetail)
  @ApiProblems('WORKSPACE_NOT_FOUND', 'INVITATION_NOT_FOUND')
  async one(@CurrentPrincipal() principal: Principal, @ActorId() actorId: string, @Param('ws', IdPipe) ws: string, @Param('id', IdPipe) id: string): Promise<InvitationDetail> {
    // (from the states the access check loaded)
    const { orgAdmin, context } = await this.access.prepareAs(principal, ws, actorId, 'members');
    const inv = context.ws.invitations.get(id);
    if (!inv) throw new DomainException(invitationNotFound(id));
    return {
      invitationId: inv.invitationId,
      status: inv.status,
      email: hasAddress(inv) ? inv.email : null,
      roles: inv.access.roles,
      restrictions: inv.access.restrictions,
      grants: inv.access.grants,
      invitedAt: inv.invitedAt,
      linkVersion: inv.linkVersion,
      linkSentAt: inv.linkSentAt ?? inv.invitedAt,
      expiresAt: inv.expiresAt,
      expired: inv.status === 'pending' && Date.now() >= Date.parse(inv.expiresAt),
      // who a pending or cancelled invitation is bound to is an org admin's to know (probe 84 F2); who accepted one is a
      // member of the workspace
      userId: inv.status === 'accepted' || orgAdmin ? inv.inviteeUserId : null,
      // (the history names them too, as each entry's actor, to the same readers)
      invitedBy: inv.invitedBy,
      acceptedAt: inv.status === 'accepted' ? inv.closedAt : null,
      cancelledAt: inv.status === 'cancelled' ? inv.closedAt : null,
      cancelledBy: inv.status === 'cancelled' ? inv.cancelledBy : null,
    };
  }
}
