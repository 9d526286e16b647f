import { Body, Controller, Inject, Param, Post } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiExcludeEndpoint, ApiHeader, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Payload } from '@nestjs/microservices';
import { MessageRoute } from '../shared/http/message-route';
import { IsString, Matches } from 'class-validator';
import { FoldsIdCase, ID_PATTERN } from '../shared/http/dtos';
import { CreateWorkspaceDto } from './dtos';
import { IdPipe } from '../shared/http/path-params';
import { ACTOR_HEADER, IDEMPOTENCY_HEADER } from '../shared/http/headers';
import { MessageWrites, ownOrganization, withEnvelope } from '../shared/http/messages';
import { WritePipeline, type ActingWriteCall, ActingWrite, httpWrite } from '../shared/command-path/write-pipeline';
import { CreateWorkspaceCommand } from './create-workspace';
import { ApiProblems, ApiWrite } from '../shared/http/openapi';
import { WorkspaceCreated } from './resources';

class CreateWorkspaceMessage extends withEnvelope(CreateWorkspaceDto) {
  @IsString() @Matches(ID_PATTERN) @FoldsIdCase() organizationId!: string;
}

@ApiTags('workspaces')
@ApiBearerAuth()
@Controller('v1/organizations/:org/workspaces')
export class WorkspacesController {
  constructor(
    @Inject(CommandBus) private readonly commands: CommandBus,
    @Inject(WritePipeline) private readonly pipeline: WritePipeline,
    @Inject(MessageWrites) private readonly messages: MessageWrites,
  ) {}

  @Post()
  @ApiOperation({ summary: 'Create a workspace; the creating org admin becomes its owner. An organization holds at most 1,000 workspaces unless the operator set another quota (QUOTA_EXCEEDED).' })
  @ApiHeader(ACTOR_HEADER)
  @ApiHeader(IDEMPOTENCY_HEADER)
  @ApiWrite(201, WorkspaceCreated)
  @ApiProblems('ORGANIZATION_NOT_FOUND', 'WORKSPACE_EXISTS', 'QUOTA_EXCEEDED')
  create(
    @ActingWrite() call: ActingWriteCall,
    @Param('org', IdPipe) org: string,
    @Body() dto: CreateWorkspaceDto,
  ) {
    const organizationId = ownOrganization(call.principal, org);
    return httpWrite(this.pipeline, call, { status: 201 }, (ctx) => this.commands.execute(new CreateWorkspaceCommand(ctx, organizationId, dto)));
  }

  @MessageRoute('workspaces.create')
  @ApiExcludeEndpoint()
  createMessage(@Payload() m: CreateWorkspaceMessage) {
    return this.messages.run('workspaces.create', m, (ctx, p) =>
      this.commands.execute(new CreateWorkspaceCommand(ctx, ownOrganization(p, m.organizationId), { name: m.name, plan: m.plan, accessModel: m.accessModel })),
    );
  }
}
