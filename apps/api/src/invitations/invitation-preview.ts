// What an invitation link offers, read with the link's token alone (probe 65 F10): the console's invite page shows
// "Acme · Support · as agent · for j***@acme.test", says before the person types anything whether the link still works
// (and why not, in the sentence an acceptance would answer), and whether to ask for a name at all (rule 8: an address
// that is already a user of the organization keeps its name). A read: nothing is appended, nothing is remembered.
import { Body, Controller, HttpCode, Inject, Post } from '@nestjs/common';
import { ApiExcludeEndpoint, ApiExtraModels, ApiOperation, ApiProperty, ApiPropertyOptional, ApiResponse, ApiTags } from '@nestjs/swagger';
import { Payload } from '@nestjs/microservices';
import { MessageRoute } from '../shared/http/message-route';
import { IsString, MaxLength } from 'class-validator';
import { type Access, type DomainError, type WorkspaceEvent, decideOrganization, decideWorkspace, hasAddress } from '@rollcall/domain';
import { Public } from '../shared/auth';
import { accessInWords } from '../mail/mail-text';
import { ApiProblems, BODY_PROBLEMS, PublicOperation } from '../shared/http/openapi';
import { problemFor } from '../shared/http/problem';
import { InvitationLinks } from '../shared/secrets';
import { Omittable } from '../shared/http/omittable';
import { StreamStates } from '../shared/command-path/stream-states';
import { DomainException } from '../shared/command-path/stream-handler';
import { loadWorkspace } from '../shared/command-path/targets';
import { invalidToken } from './invitation-handlers';

export class PreviewInvitationDto {
  @ApiProperty({ description: 'the token of the invitation link (as for `POST /v1/invitations/accept`)' })
  @IsString()
  @MaxLength(600)
  token!: string;
}

/** over TCP/NATS: the envelope's optional fields every message may carry (a read: the key is taken and unused) */
class PreviewMessage extends PreviewInvitationDto {
  @Omittable() @IsString() @MaxLength(255) idempotencyKey?: string;
  @Omittable() @IsString() @MaxLength(128) correlationId?: string;
}

class NamedRef {
  @ApiProperty({ example: '7c9e6679-7425-5de3-944b-e07fc1f90ae7' })
  id!: string;
  @ApiProperty({ example: 'Acme' })
  name!: string;
}

class PreviewAccess {
  @ApiProperty({ type: [String], example: ['agent'] })
  roles!: string[];
  @ApiProperty({ type: [String], example: [] })
  grants!: string[];
  @ApiProperty({ type: 'object', additionalProperties: true, example: {} })
  restrictions!: Record<string, unknown>;
  @ApiProperty({ description: 'the access in words, as the invitation mail says it', example: 'as agent' })
  inWords!: string;
}

class PreviewRefusal {
  @ApiProperty({
    description: 'the code an acceptance would be refused with now: INVITATION_EXPIRED, INVITATION_LINK_SUPERSEDED, INVITATION_NOT_PENDING, INVITATION_ADDRESSEE_ERASED, ALREADY_MEMBER, EMAIL_TAKEN, …',
    example: 'INVITATION_EXPIRED',
  })
  code!: string;
  @ApiProperty({ type: 'integer', description: 'the status the acceptance would answer', example: 410 })
  status!: number;
  @ApiProperty({ description: 'the sentence an acceptance would answer', example: 'This invitation link has expired (links are valid for 48 hours); ask for it to be resent.' })
  detail!: string;
}

export class InvitationPreview {
  @ApiProperty({ type: NamedRef })
  organization!: NamedRef;
  @ApiProperty({ type: NamedRef })
  workspace!: NamedRef;
  @ApiProperty({ type: PreviewAccess, description: 'the access the invitation gives' })
  access!: PreviewAccess;
  @ApiProperty({ type: String, nullable: true, description: 'the invited address, masked (its first character and its domain); null when it was erased', example: 'j***@acme.test' })
  address!: string | null;
  @ApiProperty({
    type: String,
    format: 'date-time',
    nullable: true,
    description: 'when this link stops (or stopped) working (rule 7); null when it works no more for another reason: replaced by a resend, the invitation accepted or cancelled',
  })
  expiresAt!: string | null;
  @ApiProperty({ description: 'whether `POST /v1/invitations/accept` with this token would be taken now' })
  acceptable!: boolean;
  @ApiPropertyOptional({ type: PreviewRefusal, description: 'why not, when it would not: the code, status and sentence the acceptance would answer' })
  refusal?: PreviewRefusal;
  @ApiProperty({
    description: 'whether the acceptance takes a `displayName`: false when the address already belongs to a user of the organization, who keeps their name (rule 8)',
  })
  takesDisplayName!: boolean;
}

/** `jane@acme.test` → `j***@acme.test`: enough for a person to tell which of their addresses it was sent to */
export const maskedAddress = (email: string): string => {
  const at = email.lastIndexOf('@');
  // the first character whole: a code point, not half of a surrogate pair
  const first = at > 0 ? String.fromCodePoint(email.codePointAt(0)!) : '';
  return `${first}***${email.slice(at)}`;
};

/** Reads what the link offers and decides, without appending, what an acceptance now would answer. */
export async function previewInvitation(states: StreamStates, links: InvitationLinks, token: string, now: string): Promise<InvitationPreview> {
  const ref = links.verify(token);
  if (!ref) throw invalidToken();
  const { context } = await loadWorkspace(states, ref);
  // the acceptance's own decisions, on the states it would be decided on (a user id that is never used: nothing is appended)
  const accepted = decideWorkspace({ type: 'AcceptInvitation', workspaceId: ref.workspaceId, now, invitationId: ref.invitationId, linkVersion: ref.linkVersion, newUserId: 'preview' }, context);
  const inv = context.ws.invitations.get(ref.invitationId);
  // an invitation the log does not hold (a restore from before it): the acceptance's own refusal, as a 404
  if (!inv) {
    if (!accepted.ok) throw new DomainException(accepted.error);
    throw new Error(`invitation ${ref.invitationId}: accepted without being in the workspace's state`);
  }
  // as the acceptance joins the organization (AcceptInvitationHandler): the user and address the acceptance decided
  const taken = accepted.ok ? (accepted.events[0] as Extract<WorkspaceEvent, { type: 'InvitationAccepted' }>).data : undefined;
  const userId = taken ? taken.userId : inv.inviteeUserId;
  const joined = taken ? decideOrganization({ type: 'JoinOrganization', organizationId: ref.organizationId, actorId: taken.userId, now, newUserId: taken.userId, email: taken.email }, context.org) : accepted;
  const existingUser = userId !== null && userId !== undefined && context.org.users.get(userId)?.deleted === false;
  const access: Access = inv.access;
  return {
    organization: { id: ref.organizationId, name: context.org.name },
    workspace: { id: ref.workspaceId, name: context.ws.info.name },
    access: { roles: access.roles, grants: access.grants, restrictions: access.restrictions, inWords: accessInWords(access, context.ws.info.accessModel) },
    address: hasAddress(inv) ? maskedAddress(inv.email) : null,
    // this link's: a link replaced, or an invitation accepted or cancelled, has none left (probe 66 F6)
    expiresAt: inv.status === 'pending' && inv.linkVersion === ref.linkVersion ? inv.expiresAt : null,
    acceptable: joined.ok,
    ...(!joined.ok && { refusal: refusalOf(joined.error) }),
    takesDisplayName: !existingUser,
  };
}

/** as the acceptance's problem would say it: its status, code and sentence (problemFor, as the edge answers it) */
const refusalOf = (error: DomainError): PreviewRefusal => {
  const { status, code, detail } = problemFor(new DomainException(error)).problem;
  return { status, code, detail };
};

/** Authenticated by the link's token alone, as the acceptance is. */
@ApiTags('invitations')
@ApiExtraModels(InvitationPreview)
@Controller('v1/invitations')
export class InvitationPreviewController {
  constructor(
    @Inject(StreamStates) private readonly states: StreamStates,
    @Inject(InvitationLinks) private readonly links: InvitationLinks,
  ) {}

  @Post('preview')
  @PublicOperation()
  @HttpCode(200)
  @ApiOperation({
    summary: 'What an invitation link offers, and whether accepting it would be taken now; authenticated by the token of the link alone. Changes nothing.',
    description:
      'For the console page the mailed link opens: the organization, the workspace, the access, the masked address, until when the link works, whether `POST /v1/invitations/accept` would be taken now (else the code and sentence it would answer: expired, replaced by a resend, already accepted, cancelled), and whether to ask for a name. A POST so that the token stays out of URLs and access logs.',
  })
  @ApiResponse({ status: 200, type: InvitationPreview })
  @ApiProblems('INVITATION_NOT_FOUND', 'WORKSPACE_NOT_FOUND', 'EVENT_STORE_UNAVAILABLE', ...BODY_PROBLEMS)
  preview(@Body() dto: PreviewInvitationDto): Promise<InvitationPreview> {
    return previewInvitation(this.states, this.links, dto.token, new Date().toISOString());
  }

  @MessageRoute('invitations.preview')
  @ApiExcludeEndpoint()
  // no API key: the token in the message authenticates it
  @Public()
  previewMessage(@Payload() m: PreviewMessage): Promise<InvitationPreview> {
    return previewInvitation(this.states, this.links, m.token, new Date().toISOString());
  }
}
