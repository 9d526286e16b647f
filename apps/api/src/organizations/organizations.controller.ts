import { Body, Controller, Inject, Post, Req, Res } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiExcludeEndpoint, ApiHeader, ApiOperation, ApiTags } from '@nestjs/swagger';
import { MessagePattern, Payload } from '@nestjs/microservices';
import type { FastifyReply } from 'fastify';
import { SYSTEM_ACTOR } from '@rollcall/domain';
import { type AuthedRequest, SystemOnly } from '../shared/auth';
import { ApiProblems, ApiWrite, SystemKeyOperation } from '../shared/openapi';
import { OrganizationCreated as OrganizationCreatedResource } from './resources';
import { CreateOrganizationDto } from './dtos';
import { IDEMPOTENCY_HEADER } from '../shared/headers';
import { MessageWrites, withEnvelope } from '../shared/messages';
import { WritePipeline, httpWrite } from '../shared/write-pipeline';
import { CreateOrganizationCommand, CreateOrganizationHandler, type OrganizationCreated } from './create-organization';

class CreateOrganizationMessage extends withEnvelope(CreateOrganizationDto) {}

@ApiTags('organizations')
@Controller('v1/organizations')
export class OrganizationsController {
  constructor(
    @Inject(CommandBus) private readonly commands: CommandBus,
    @Inject(WritePipeline) private readonly pipeline: WritePipeline,
    @Inject(MessageWrites) private readonly messages: MessageWrites,
    @Inject(CreateOrganizationHandler) private readonly handler: CreateOrganizationHandler,
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

  @MessagePattern('organizations.create')
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
