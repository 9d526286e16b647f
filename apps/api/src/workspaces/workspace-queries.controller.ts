import { Controller, Get, Inject, Param } from '@nestjs/common';
import { ApiBearerAuth, ApiExcludeEndpoint, ApiHeader, ApiOperation, ApiTags } from '@nestjs/swagger';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { IsString, Matches } from 'class-validator';
import { ActorId, Authenticator, CurrentPrincipal, type Principal } from '../shared/auth';
import { ID_PATTERN } from '../shared/dtos';
import { Envelope, messageActor } from '../shared/messages';
import { ApiProblems, ApiRead } from '../shared/openapi';
import { IdPipe } from '../shared/path-params';
import { ProblemException, problem } from '../shared/problem';
import { READ_ACTOR_HEADER, ReadAccess } from '../shared/read-access';
import { StreamStates } from '../shared/stream-states';
import { loadWorkspace } from '../shared/targets';
import { loadPartners } from '../teams/team-targets';
import { Workspace } from './resources';
import { type WorkspaceView, workspaceView } from './workspace-view';

class WorkspaceReadMessage extends Envelope {
  @IsString() @Matches(ID_PATTERN) workspaceId!: string;
}

/**
 * One workspace as a console needs it to draw its dialogs: name, plan, access model, the catalog of roles, grants and
 * restrictions its access is described by (docs/rules.md "Access model": access is data; probe 39b F9: a console had
 * to hard-code the presets), its network partners. Read from the workspace's decision state, so it is current at
 * once (no `X-Min-Position`). Every active member and org admin may read it, as the team list (rule 15).
 */
@ApiTags('workspaces')
@ApiBearerAuth()
@Controller('v1/workspaces/:ws')
export class WorkspaceQueriesController {
  constructor(
    @Inject(ReadAccess) private readonly access: ReadAccess,
    @Inject(StreamStates) private readonly states: StreamStates,
    @Inject(Authenticator) private readonly auth: Authenticator,
  ) {}

  @Get()
  @ApiOperation({
    summary:
      'The workspace: name, plan, access model, its catalog (roles, grants, restrictions with the plans that accept them, who manages members) and its network partners. Any active member or org admin may read it.',
  })
  @ApiHeader(READ_ACTOR_HEADER)
  @ApiRead(Workspace)
  @ApiProblems('WORKSPACE_NOT_FOUND')
  get(@CurrentPrincipal() principal: Principal, @ActorId() actorId: string, @Param('ws', IdPipe) ws: string): Promise<WorkspaceView> {
    return this.read(principal, ws, actorId);
  }

  @MessagePattern('workspaces.get')
  @ApiExcludeEndpoint()
  async getMessage(@Payload() m: WorkspaceReadMessage): Promise<WorkspaceView> {
    const principal = await this.auth.identify(m.apiKey);
    if (principal.kind !== 'organization') throw new ProblemException(problem(403, 'INSUFFICIENT_AUTHORITY', "Reading a workspace needs the organization's API key."));
    return this.read(principal, m.workspaceId, messageActor(m.actorId));
  }

  private async read(principal: Principal, ws: string, actorId: string): Promise<WorkspaceView> {
    const ref = await this.access.prepare(principal, ws, actorId, 'workspace');
    const { context } = await loadWorkspace(this.states, ref);
    return workspaceView(context.ws, await loadPartners(this.states, context.ws));
  }
}
