import { Body, Controller, Delete, Inject, Param, Post, Req, Res } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiExcludeEndpoint, ApiHeader, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Payload } from '@nestjs/microservices';
import { MessageRoute } from '../shared/http/message-route';
import { IsString, Matches } from 'class-validator';
import type { FastifyReply } from 'fastify';
import { type NetworkCommand, SYSTEM_ACTOR } from '@rollcall/domain';
import { type AuthedRequest, SystemOnly } from '../shared/auth';
import { FoldsIdCase, ID_PATTERN } from '../shared/http/dtos';
import { IDEMPOTENCY_HEADER } from '../shared/http/headers';
import { MessageWrites, withEnvelope } from '../shared/http/messages';
import { ApiProblems, ApiWrite, SystemKeyOperation } from '../shared/http/openapi';
import { IdPipe } from '../shared/http/path-params';
import { WritePipeline, httpWrite } from '../shared/command-path/write-pipeline';
import { NetworkDto } from './dtos';
import { NetworkChanged } from './resources';
import { type NetworkAnswer, NetworkCommandRequest } from './team-handlers';
import { WorkspaceDirectory } from './workspace-directory';

class NetworkMessage extends withEnvelope(NetworkDto) {
  @IsString() @Matches(ID_PATTERN) @FoldsIdCase() workspaceId!: string;
}

/**
 * Rule 16 (docs/rules.md#rule-16): a system admin (the system key) links two workspaces as network partners, of the
 * same or of different organizations, and unlinks them; also as message patterns `network.link` and `network.unlink`.
 */
@ApiTags('network')
@Controller('v1/workspaces/:ws/network')
export class NetworkController {
  constructor(
    @Inject(CommandBus) private readonly commands: CommandBus,
    @Inject(WritePipeline) private readonly pipeline: WritePipeline,
    @Inject(MessageWrites) private readonly messages: MessageWrites,
    @Inject(WorkspaceDirectory) private readonly directory: WorkspaceDirectory,
  ) {}

  private async execute(type: NetworkCommand['type'], ws: string, partner: string, ctx: ConstructorParameters<typeof NetworkCommandRequest>[3]) {
    const [ref, partnerRef] = [await this.directory.resolve(ws), await this.directory.resolve(partner)];
    return this.commands.execute<NetworkCommandRequest, NetworkAnswer>(new NetworkCommandRequest(type, ref, partnerRef, ctx));
  }

  @Post()
  @SystemKeyOperation()
  @ApiOperation({ summary: 'Link two workspaces as network partners (system key); they may belong to different organizations.' })
  @ApiHeader(IDEMPOTENCY_HEADER)
  @ApiWrite(201, NetworkChanged)
  @ApiProblems('WORKSPACE_NOT_FOUND', 'ALREADY_NETWORKED')
  link(@Req() req: AuthedRequest, @Res({ passthrough: true }) res: FastifyReply, @Param('ws', IdPipe) ws: string, @Body() dto: NetworkDto) {
    return httpWrite(this.pipeline, { req, res, actorId: SYSTEM_ACTOR }, { status: 201 }, (ctx) => this.execute('NetworkWorkspaces', ws, dto.partnerWorkspaceId, ctx));
  }

  @Delete(':partnerWorkspaceId')
  @SystemKeyOperation()
  @ApiOperation({ summary: 'Unlink two workspaces (system key): their partner teams are hidden from each other at once, and the choices forgotten.' })
  @ApiHeader(IDEMPOTENCY_HEADER)
  @ApiWrite(200, NetworkChanged)
  @ApiProblems('WORKSPACE_NOT_FOUND', 'NOT_NETWORKED')
  unlink(@Req() req: AuthedRequest, @Res({ passthrough: true }) res: FastifyReply, @Param('ws', IdPipe) ws: string, @Param('partnerWorkspaceId', IdPipe) partner: string) {
    return httpWrite(this.pipeline, { req, res, actorId: SYSTEM_ACTOR }, { status: 200 }, (ctx) => this.execute('UnnetworkWorkspaces', ws, partner, ctx));
  }

  @MessageRoute('network.link')
  @SystemOnly()
  @ApiExcludeEndpoint()
  linkMessage(@Payload() m: NetworkMessage) {
    // @SystemOnly(): the guard checks the system key before anything else, as over HTTP (an organization key is 403)
    return this.messages.run('network.link', m, (ctx) => this.execute('NetworkWorkspaces', m.workspaceId, m.partnerWorkspaceId, ctx));
  }

  @MessageRoute('network.unlink')
  @SystemOnly()
  @ApiExcludeEndpoint()
  unlinkMessage(@Payload() m: NetworkMessage) {
    // @SystemOnly(): the guard checks the system key before anything else, as over HTTP (an organization key is 403)
    return this.messages.run('network.unlink', m, (ctx) => this.execute('UnnetworkWorkspaces', m.workspaceId, m.partnerWorkspaceId, ctx));
  }
}
