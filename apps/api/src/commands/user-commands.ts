import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { type ProfileChanges, type UserProfileUpdated, type WorkspaceState, decideDeleteUser, decideOrganization } from '@rollcall/domain';
import type { CommandContext } from '../infrastructure/command-context';
import { DomainException, EventWriter } from '../infrastructure/event-writer';
import { StreamRepository, organizationStream } from '../infrastructure/stream-repository';
import { PERSONAL_DATA, type PersonalData } from '@rollcall/event-store';

export class UpdateProfileCommand {
  constructor(readonly organizationId: string, readonly ctx: CommandContext, readonly userId: string, readonly changes: ProfileChanges) {}
}

/** Rule 10: the profile lives in the organization stream and shows in every workspace. */
@CommandHandler(UpdateProfileCommand)
export class UpdateProfileHandler implements ICommandHandler<UpdateProfileCommand> {
  constructor(
    @Inject(StreamRepository) private readonly repo: StreamRepository,
    @Inject(EventWriter) private readonly writer: EventWriter,
  ) {}

  execute({ organizationId, ctx, userId, changes }: UpdateProfileCommand) {
    const stream = organizationStream(organizationId);
    return this.writer.withRetry(stream, async () => {
      const org = await this.repo.organization(organizationId);
      const decision = decideOrganization({ type: 'UpdateProfile', organizationId, actorId: ctx.actorId, now: ctx.now, userId, changes }, org.state);
      if (!decision.ok) throw new DomainException(decision.error);
      const position = await this.writer.appendAny(stream, org.expected, decision.events, ctx);
      const changed = (decision.events[0] as UserProfileUpdated | undefined)?.data.changes ?? {};
      return { userId, changed: Object.keys(changed), position: position.toString() };
    });
  }
}

export class DeleteUserCommand {
  constructor(readonly organizationId: string, readonly ctx: CommandContext, readonly userId: string) {}
}

/**
 * Rule 12, with rule 4 checked over every workspace of the organization. After UserDeleted is appended, the
 * user's data keys are forgotten (crypto-shredding): their personal data in every event reads as null. If the
 * process dies in between, `eraseDeletedUsers` at the next start finishes the job.
 */
@CommandHandler(DeleteUserCommand)
export class DeleteUserHandler implements ICommandHandler<DeleteUserCommand> {
  constructor(
    @Inject(StreamRepository) private readonly repo: StreamRepository,
    @Inject(EventWriter) private readonly writer: EventWriter,
    @Inject(PERSONAL_DATA) private readonly personalData: PersonalData,
  ) {}

  execute({ organizationId, ctx, userId }: DeleteUserCommand) {
    const stream = organizationStream(organizationId);
    return this.writer.withRetry(stream, async () => {
      const org = await this.repo.organization(organizationId);
      const workspaces: WorkspaceState[] = [];
      for (const workspaceId of org.state.workspaces.keys()) {
        const ws = await this.repo.workspace(org.state, workspaceId);
        if (ws) workspaces.push(ws.state);
      }
      const decision = decideDeleteUser({ type: 'DeleteUser', organizationId, actorId: ctx.actorId, now: ctx.now, userId }, { org: org.state, workspaces });
      if (!decision.ok) throw new DomainException(decision.error);
      const user = org.state.users.get(userId)!;
      const subjects = this.personalData.subjectsOf(user);
      const { position } = await this.writer.append(stream, org.expected, decision.events, ctx);
      await this.personalData.forget(subjects);
      return { userId, workspaceIds: decision.events[0]!.data.workspaceIds, position: position.toString() };
    });
  }
}
