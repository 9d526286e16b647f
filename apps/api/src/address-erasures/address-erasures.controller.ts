import { Body, Controller, Inject, Param, Post } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiExcludeEndpoint, ApiHeader, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Payload } from '@nestjs/microservices';
import { MessageRoute } from '../shared/http/message-route';
import { IsString, Matches } from 'class-validator';
import { FoldsIdCase, ID_PATTERN } from '../shared/http/dtos';
import { ACTOR_HEADER, IDEMPOTENCY_HEADER } from '../shared/http/headers';
import { MessageWrites, ownOrganization, withEnvelope } from '../shared/http/messages';
import { ApiProblems, ApiWrite } from '../shared/http/openapi';
import { IdPipe } from '../shared/http/path-params';
import { WritePipeline, type ActingWriteCall, ActingWrite, httpWrite } from '../shared/command-path/write-pipeline';
import { AddressErasedAnswer, EraseAddressDto } from './dtos';
import { EraseAddressCommand } from './erase-address';

class EraseAddressMessage extends withEnvelope(EraseAddressDto) {
  @IsString() @Matches(ID_PATTERN) @FoldsIdCase() organizationId!: string;
}

/** Rule 12 for a person who was only invited (docs/rules.md#rule-12, "An address only invited"): org admins erase their address. */
@ApiTags('users')
@ApiBearerAuth()
@Controller('v1/organizations/:org/address-erasures')
export class AddressErasuresController {
  constructor(
    @Inject(CommandBus) private readonly commands: CommandBus,
    @Inject(WritePipeline) private readonly pipeline: WritePipeline,
    @Inject(MessageWrites) private readonly messages: MessageWrites,
  ) {}

  @Post()
  @ApiOperation({
    summary: "Erase an address the organization invited that no user holds or held (a GDPR erasure request of someone who never joined): every invitation to it loses it; org admins only.",
    description:
      "Appends, at once, the cancellation of the pending invitations to the address and the erasure of every invitation to it in the organization's workspaces, and forgets the address's data key: the history, the user list, the feed and the log read it as null from then on (the invitation's id, dates and access stay). An address that is or was a user's is erased with that user (`DELETE …/users/{userId}`): 409 ADDRESS_IS_A_USERS. The address may be invited again afterwards (under a new key).",
  })
  @ApiHeader(ACTOR_HEADER)
  @ApiHeader(IDEMPOTENCY_HEADER)
  @ApiWrite(201, AddressErasedAnswer)
  @ApiProblems('ORGANIZATION_NOT_FOUND', 'ADDRESS_NOT_FOUND', 'ADDRESS_IS_A_USERS')
  erase(@ActingWrite() call: ActingWriteCall, @Param('org', IdPipe) org: string, @Body() dto: EraseAddressDto) {
    const organizationId = ownOrganization(call.principal, org);
    return httpWrite(this.pipeline, call, { status: 201 }, (ctx) => this.commands.execute(new EraseAddressCommand(organizationId, ctx, dto.email)));
  }

  @MessageRoute('addresses.erase')
  @ApiExcludeEndpoint()
  eraseMessage(@Payload() m: EraseAddressMessage) {
    return this.messages.run('addresses.erase', m, (ctx, p) => this.commands.execute(new EraseAddressCommand(ownOrganization(p, m.organizationId), ctx, m.email)));
  }
}
