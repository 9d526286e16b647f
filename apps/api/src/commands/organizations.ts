import { randomUUID } from 'node:crypto';
import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { type AccessModelName, type Plan, SYSTEM_ACTOR, decideOrganization } from '@rollcall/domain';
import type { CommandContext } from '../infrastructure/command-context';
import { DomainException, EventWriter } from '../infrastructure/event-writer';
import { formatOrgKey, randomSecret, sha256 } from '../infrastructure/secrets';
import { StreamRepository, organizationStream } from '../infrastructure/stream-repository';

export class CreateOrganizationCommand {
  constructor(
    readonly ctx: CommandContext,
    readonly name: string,
    readonly admin: { email: string; displayName: string },
    /** ids derived by the caller from the idempotency key, so a retry creates the same organization */
    readonly ids: { organizationId: string; adminUserId: string; keyId: string },
  ) {}
}
export interface OrganizationCreatedResult {
  organizationId: string;
  adminUserId: string;
  apiKey: string;
  position: string;
}

@CommandHandler(CreateOrganizationCommand)
export class CreateOrganizationHandler implements ICommandHandler<CreateOrganizationCommand, OrganizationCreatedResult> {
  constructor(
    @Inject(StreamRepository) private readonly repo: StreamRepository,
    @Inject(EventWriter) private readonly writer: EventWriter,
  ) {}

  async execute({ ctx, name, admin, ids }: CreateOrganizationCommand): Promise<OrganizationCreatedResult> {
    const secret = randomSecret();
    const org = await this.repo.organization(ids.organizationId);
    const decision = decideOrganization(
      {
        type: 'CreateOrganization',
        organizationId: ids.organizationId,
        actorId: SYSTEM_ACTOR,
        now: ctx.now,
        name,
        admin: { userId: ids.adminUserId, ...admin },
        apiKey: { keyId: ids.keyId, secretHash: sha256(secret) },
      },
      org.state,
    );
    if (!decision.ok) throw new DomainException(decision.error);
    const { position } = await this.writer.append(organizationStream(ids.organizationId), org.expected, decision.events, ctx);
    return {
      organizationId: ids.organizationId,
      adminUserId: ids.adminUserId,
      apiKey: formatOrgKey(ids.organizationId, ids.keyId, secret),
      position: position.toString(),
    };
  }
}

export class CreateWorkspaceCommand {
  constructor(
    readonly ctx: CommandContext,
    readonly organizationId: string,
    readonly name: string,
    readonly plan?: Plan,
    readonly accessModel?: AccessModelName,
    readonly workspaceId: string = randomUUID(),
  ) {}
}

@CommandHandler(CreateWorkspaceCommand)
export class CreateWorkspaceHandler implements ICommandHandler<CreateWorkspaceCommand, { workspaceId: string; position: string }> {
  constructor(
    @Inject(StreamRepository) private readonly repo: StreamRepository,
    @Inject(EventWriter) private readonly writer: EventWriter,
  ) {}

  execute(cmd: CreateWorkspaceCommand) {
    const stream = organizationStream(cmd.organizationId);
    return this.writer.withRetry(stream, async () => {
      const org = await this.repo.organization(cmd.organizationId);
      const decision = decideOrganization(
        {
          type: 'CreateWorkspace',
          organizationId: cmd.organizationId,
          actorId: cmd.ctx.actorId,
          now: cmd.ctx.now,
          workspaceId: cmd.workspaceId,
          name: cmd.name,
          plan: cmd.plan,
          accessModel: cmd.accessModel,
        },
        org.state,
      );
      if (!decision.ok) throw new DomainException(decision.error);
      const { position } = await this.writer.append(stream, org.expected, decision.events, cmd.ctx);
      return { workspaceId: cmd.workspaceId, position: position.toString() };
    });
  }
}
