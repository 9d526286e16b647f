import { Body, Controller, Inject, Param, Put, Req, Res } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiExcludeEndpoint, ApiHeader, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Payload } from '@nestjs/microservices';
import { MessageRoute } from '../shared/http/message-route';
import { IsString, Matches } from 'class-validator';
import type { FastifyReply } from 'fastify';
import { SYSTEM_ACTOR } from '@rollcall/domain';
import { type AuthedRequest, SystemOnly } from '../shared/auth';
import type { CommandContext } from '../shared/command-path/command-context';
import { FoldsIdCase, ID_PATTERN } from '../shared/http/dtos';
import { IDEMPOTENCY_HEADER } from '../shared/http/headers';
import { MessageWrites, withEnvelope } from '../shared/http/messages';
import { ApiProblems, ApiWrite, SystemKeyOperation } from '../shared/http/openapi';
import { IdPipe } from '../shared/http/path-params';
import { WritePipeline, httpWrite } from '../shared/command-path/write-pipeline';
import { WorkspaceDirectory } from '../teams/workspace-directory';
import { ChangePlanCommand, type PlanChanged } from './change-plan';
import { ChangePlanDto } from './dtos';
import { PlanChangedAnswer } from './resources';

class ChangePlanMessage extends withEnvelope(ChangePlanDto) {
  @IsString() @Matches(ID_PATTERN) @FoldsIdCase() workspaceId!: string;
}

/**
 * A workspace's plan, changed by the system (the operator, as billing tells it: a plan is what the customer pays for;
 * probe 39b F12), also as the message pattern `workspaces.changePlan`. A downgrade that would leave a member or an
 * invitation with a restriction the new plan does not accept is refused (`PLAN_IN_USE`).
 */
@ApiTags('workspaces')
@Controller('v1/workspaces/:ws/plan')
export class PlanController {
  constructor(
    @Inject(CommandBus) private readonly commands: CommandBus,
    @Inject(WritePipeline) private readonly pipeline: WritePipeline,
    @Inject(MessageWrites) private readonly messages: MessageWrites,
    @Inject(WorkspaceDirectory) private readonly directory: WorkspaceDirectory,
  ) {}

  private async execute(ws: string, dto: ChangePlanDto, ctx: CommandContext): Promise<PlanChanged> {
    return this.commands.execute(new ChangePlanCommand(ctx, await this.directory.resolve(ws), dto.plan));
  }

  @Put()
  @SystemKeyOperation()
  @ApiOperation({
    summary: "Change a workspace's plan (system key): an upgrade makes the higher plans' restrictions available (masking); a downgrade is refused while a member or an invitation carries one the new plan does not accept.",
  })
  @ApiHeader(IDEMPOTENCY_HEADER)
  @ApiWrite(200, PlanChangedAnswer)
  @ApiProblems('WORKSPACE_NOT_FOUND', 'PLAN_IN_USE')
  change(@Req() req: AuthedRequest, @Res({ passthrough: true }) res: FastifyReply, @Param('ws', IdPipe) ws: string, @Body() dto: ChangePlanDto) {
    return httpWrite(this.pipeline, { req, res, actorId: SYSTEM_ACTOR }, { status: 200 }, (ctx) => this.execute(ws, dto, ctx));
  }

  @MessageRoute('workspaces.changePlan')
  @SystemOnly()
  @ApiExcludeEndpoint()
  changeMessage(@Payload() m: ChangePlanMessage) {
    return this.messages.run('workspaces.changePlan', m, (ctx) => this.execute(m.workspaceId, { plan: m.plan }, ctx));
  }
}
