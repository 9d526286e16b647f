import { Inject, Optional } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { type AccessModelName, type Plan, decideOrganization } from '@rollcall/domain';
import { type CommandContext, createdId } from '../shared/command-path/command-context';
import { StreamHandler } from '../shared/command-path/stream-handler';
import { organization } from '../shared/command-path/targets';
import { APP_CONFIG } from '../shared/tokens';
import type { Config } from '../config';

export class CreateWorkspaceCommand {
  constructor(
    readonly ctx: CommandContext,
    readonly organizationId: string,
    readonly body: { name: string; plan?: Plan; accessModel?: AccessModelName },
  ) {}
}

/** A workspace lives in its organization's stream (docs/adr/0001); the creating org admin becomes its owner. */
@CommandHandler(CreateWorkspaceCommand)
export class CreateWorkspaceHandler implements ICommandHandler<CreateWorkspaceCommand, { workspaceId: string; position: string }> {
  constructor(
    @Inject(StreamHandler) private readonly streams: StreamHandler,
    /** the quotas (absent in tests that build the handler alone: the domain's defaults) */
    @Optional() @Inject(APP_CONFIG) private readonly config?: Pick<Config, 'quotas'>,
  ) {}

  async execute({ ctx, organizationId, body }: CreateWorkspaceCommand) {
    const workspaceId = createdId(ctx, 'workspace');
    const done = await this.streams.handle(organization(organizationId), ctx, (org) =>
      decideOrganization({ type: 'CreateWorkspace', organizationId, actorId: ctx.actorId, now: ctx.now, workspaceId, ...body, maxWorkspaces: this.config?.quotas.workspacesPerOrganization }, org),
    );
    // a replay's workspace is its events' (an earlier version derived the id otherwise: probe 40 F1)
    const created = done.events.find((e) => e.type === 'WorkspaceCreated');
    return { workspaceId: created?.type === 'WorkspaceCreated' ? created.data.workspaceId : workspaceId, position: done.position };
  }
}
