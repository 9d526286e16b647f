import { Body, Controller, Inject, Param, Post, Req, Res } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiExcludeEndpoint, ApiHeader, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { Payload } from '@nestjs/microservices';
import { MessageRoute } from '../shared/http/message-route';
import type { FastifyReply } from 'fastify';
import { SYSTEM_ACTOR } from '@rollcall/domain';
import { IsString, Matches } from 'class-validator';
import { type AuthedRequest, SystemOnly } from '../shared/auth';
import { FoldsIdCase, ID_PATTERN } from '../shared/http/dtos';
import { ApiProblems, ApiWrite, SystemKeyOperation } from '../shared/http/openapi';
import { OrganizationCreated as OrganizationCreatedResource } from './resources';
import { CreateOrganizationDto } from './dtos';
import { IDEMPOTENCY_HEADER } from '../shared/http/headers';
import { MessageWrites, withEnvelope } from '../shared/http/messages';
import { WritePipeline, httpWrite, loggedRequestId } from '../shared/command-path/write-pipeline';
import { IdPipe } from '../shared/http/path-params';
import { CloseOrganizationDto, OrganizationClosingAnswer, OrganizationClosings } from './close-organization';
import { CreateOrganizationCommand, CreateOrganizationHandler, type OrganizationCreated } from './create-organization';

class CreateOrganizationMessage extends withEnvelope(CreateOrganizationDto) {}
class CloseOrganizationMessage extends withEnvelope(CloseOrganizationDto) {
  @IsString() @Matches(ID_PATTERN) @FoldsIdCase() organizationId!: string;
}

@ApiTags('organizations')
@Controller('v1/organizations')
export class OrganizationsController {
  constructor(
    @Inject(CommandBus) private readonly commands: CommandBus,
    @Inject(WritePipeline) private readonly pipeline: WritePipeline,
    @Inject(MessageWrites) private readonly messages: MessageWrites,
    @Inject(CreateOrganizationHandler) private readonly handler: CreateOrganizationHandler,
    @Inject(OrganizationClosings) private readonly closings: OrganizationClosings,
  ) {}

  @Post()
  @SystemKeyOperation()
  @ApiOperation({ summary: 'Create an organization and its first org admin (system key). The API key is returned once.' })
  @ApiHeader(IDEMPOTENCY_HEADER)
  @ApiWrite(201, OrganizationCreatedResource)
  @ApiProblems('ORGANIZATION_EXISTS')
  create(@Req() req: AuthedRequest, @Res({ passthrough: true }) res: FastifyReply, @Body() dto: CreateOrganizationDto) {
    return httpWrite(this.pipeline, { req, res, actorId: SYSTEM_ACTOR }, { status: 201 }, (ctx) => this.execute(new CreateOrganizationCommand(ctx, dto.name, dto.admin)), this.handler.storage);
  }

  @Post(':org/close')
  @SystemKeyOperation()
  @ApiOperation({
    summary: "Close an organization whose contract ended (system key): every API key revoked, every user deleted (rule 12), every address only invited erased, for good. 200 once closed; 202 with what is left when a call's 10 s were spent: call again.",
    description:
      'Cannot be undone. The body names the organization as it stands (`confirmName`). From the first call on, the organization decides nothing more (410 ORGANIZATION_CLOSED) and its keys are refused; ' +
      'the log keeps what rule 12 keeps of a deletion (ids, times, statistics) and the names that are no person\'s (the organization, its workspaces and teams, key labels). A call repeated, or beside another, does each step once. docs/adr/0035.',
  })
  @ApiWrite(200, OrganizationClosingAnswer)
  @ApiResponse({ status: 202, type: OrganizationClosingAnswer, description: 'being closed: call again' })
  @ApiProblems('ORGANIZATION_NOT_FOUND')
  async close(@Req() req: AuthedRequest, @Res({ passthrough: true }) res: FastifyReply, @Param('org', IdPipe) org: string, @Body() dto: CloseOrganizationDto): Promise<OrganizationClosingAnswer> {
    const answer = await this.closings.close(org, dto.confirmName, loggedRequestId(req));
    res.status(answer.closed ? 200 : 202);
    return answer;
  }

  @MessageRoute('organizations.close')
  @SystemOnly()
  @ApiExcludeEndpoint()
  closeMessage(@Payload() m: CloseOrganizationMessage): Promise<OrganizationClosingAnswer> {
    return this.closings.close(m.organizationId, m.confirmName, m.correlationId);
  }

  @MessageRoute('organizations.create')
  @SystemOnly()
  @ApiExcludeEndpoint()
  createMessage(@Payload() m: CreateOrganizationMessage) {
    // @SystemOnly(): the guard checks the system key first, as over HTTP (an organization key is 403, not "name the actor")
    return this.messages.run('organizations.create', m, (ctx) => this.execute(new CreateOrganizationCommand(ctx, m.name, m.admin)), this.handler.storage);
  }

  private execute(command: CreateOrganizationCommand): Promise<OrganizationCreated> {
    return this.commands.execute(command);
  }
}
