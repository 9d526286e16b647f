import { Controller, Get, Headers, Inject, Param, Req } from '@nestjs/common';
import { ApiBearerAuth, ApiExcludeEndpoint, ApiHeader, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Payload } from '@nestjs/microservices';
import { MessageRoute } from '../shared/http/message-route';
import { IsString, Matches, MaxLength } from 'class-validator';
import { type AuthedRequest, Authenticator, type Principal, SystemOrOrganization, actorIdOf } from '../shared/auth';
import { FoldsIdCase, ID_PATTERN } from '../shared/http/dtos';
import { Envelope, messageActor } from '../shared/http/messages';
import { ApiProblems, ApiRead, SYSTEM_KEY_SCHEME } from '../shared/http/openapi';
import { IdPipe } from '../shared/http/path-params';
import { Omittable } from '../shared/http/omittable';
import { MIN_POSITION_HEADER, type MinPosition, READ_ACTOR_HEADER, ReadAccess, messageMinPosition } from '../shared/reads/read-access';
import { StreamStates } from '../shared/command-path/stream-states';
import { loadWorkspace } from '../shared/command-path/targets';
import { loadPartners } from '../teams/team-targets';
import { WorkspaceDirectory } from '../teams/workspace-directory';
import { Workspace } from './resources';
import { type WorkspaceView, workspaceView } from './workspace-view';

class WorkspaceReadMessage extends Envelope {
  @IsString() @Matches(ID_PATTERN) @FoldsIdCase() workspaceId!: string;
  @Omittable() @IsString() @MaxLength(20) minPosition?: string;
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
    @Inject(WorkspaceDirectory) private readonly directory: WorkspaceDirectory,
  ) {}

  @Get()
  @SystemOrOrganization()
  @ApiBearerAuth(SYSTEM_KEY_SCHEME)
  @ApiOperation({
    summary:
      'The workspace: name, plan, access model, its catalog (roles, grants, restrictions with the plans that accept them, who manages members) and its network partners. Any active member or org admin may read it; so may the system key (no X-Actor-Id: the operator who changes plans).',
  })
  @ApiHeader({ ...READ_ACTOR_HEADER, required: false, description: 'the user on whose behalf the console reads, with the organization\'s key; not with the system key' })
  @ApiHeader(MIN_POSITION_HEADER)
  @ApiRead(Workspace, { fromLog: true })
  @ApiProblems('WORKSPACE_NOT_FOUND')
  get(@Req() req: AuthedRequest, @Param('ws', IdPipe) ws: string, @Headers(MIN_POSITION_HEADER.name) minPosition?: string): Promise<WorkspaceView> {
    return this.read(req.principal, ws, req.principal.kind === 'system' ? undefined : actorIdOf(req), minPosition);
  }

  @MessageRoute('workspaces.get')
  @SystemOrOrganization()
  @ApiExcludeEndpoint()
  async getMessage(@Payload() m: WorkspaceReadMessage): Promise<WorkspaceView> {
    const principal = await this.auth.identify(m.apiKey);
    return this.read(principal, m.workspaceId, principal.kind === 'system' ? undefined : messageActor(m.actorId), messageMinPosition(m.minPosition));
  }

  /**
   * the workspace as its decision state has it (its partners too): current at once, so a position asked for is checked,
   * not waited for (probe 96 F2: it waited for the read models it does not read, and answered 503 when they lagged)
   */
  private async read(principal: Principal, ws: string, actorId: string | undefined, minPosition?: MinPosition): Promise<WorkspaceView> {
    await this.access.checkedOnly(minPosition);
    // the system key (the operator): no actor, every workspace (probe 39c F1: it changed plans it could not read)
    const ref = actorId === undefined ? await this.directory.resolve(ws) : await this.access.prepare(principal, ws, actorId, 'workspace');
    const { context } = await loadWorkspace(this.states, ref);
    return workspaceView(context.ws, await loadPartners(this.states, context.ws), context.org);
  }
}
