import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { decideOrganization } from '@rollcall/domain';
import type { CommandContext } from '../shared/command-path/command-context';
import { StreamHandler } from '../shared/command-path/stream-handler';
import { organization } from '../shared/command-path/targets';

/** What a change of org admin answers (users/resources.ts OrgAdminSet) */
export interface OrgAdminAnswer {
  userId: string;
  orgAdmin: boolean;
  /** false when the user already was (or was not) an org admin: nothing was appended */
  changed: boolean;
  position: string;
}

export class ChangeOrgAdminCommand {
  constructor(readonly organizationId: string, readonly ctx: CommandContext, readonly userId: string, readonly orgAdmin: boolean) {}
}

/** Rule 5 (docs/rules.md#rule-5): another org admin makes a user an org admin, or takes it away; the organization stream alone. */
@CommandHandler(ChangeOrgAdminCommand)
export class ChangeOrgAdminHandler implements ICommandHandler<ChangeOrgAdminCommand> {
  constructor(@Inject(StreamHandler) private readonly streams: StreamHandler) {}

  async execute({ organizationId, ctx, userId, orgAdmin }: ChangeOrgAdminCommand): Promise<OrgAdminAnswer> {
    // about this user: a keyed retry after their deletion is 410, also when nothing changed (no events name them; probe 120 F1)
    ctx.aboutUsers = [userId];
    const done = await this.streams.handle(organization(organizationId), ctx, (org) =>
      decideOrganization({ type: 'ChangeOrgAdmin', organizationId, actorId: ctx.actorId, now: ctx.now, userId, orgAdmin }, org),
    );
    return { userId, orgAdmin, changed: done.events.length > 0, position: done.position };
  }
}
