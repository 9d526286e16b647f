import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { type Access, type Restrictions, type WorkspaceContext, type WorkspaceEvent, activeMember, decideWorkspace, grantWarnings, modelOf, withMembershipsEnded } from '@rollcall/domain';
import type { CommandContext } from '../shared/command-path/command-context';
import { StreamHandler } from '../shared/command-path/stream-handler';
import { workspaceStream } from '../shared/command-path/stream-states';
import { type WorkspaceRef, isPresenceStream, membershipEndedStream, workspace } from '../shared/command-path/targets';

export class ChangeAccessCommand {
  constructor(
    readonly ref: WorkspaceRef,
    readonly ctx: CommandContext,
    readonly userId: string,
    readonly body: { roles?: string[]; restrictions?: Restrictions; grants?: string[] },
  ) {}
}

/** Rule 10 (docs/rules.md#rule-10): edit access changes roles, restrictions and grants; nothing else of the member. */
@CommandHandler(ChangeAccessCommand)
export class ChangeAccessHandler implements ICommandHandler<ChangeAccessCommand> {
  constructor(@Inject(StreamHandler) private readonly streams: StreamHandler) {}

  async execute({ ref, ctx, userId, body }: ChangeAccessCommand) {
    // about this user: a keyed retry after their deletion is 410, also when nothing changed (no events name them; probe 120 F1)
    ctx.aboutUsers = [userId];
    // the access the last decision was made on: the state (shared) may take later commands' changes before the answer,
    // and a "nothing changed" answered with those was a state the log never held at its position (probe 87 F1); an
    // access value is replaced by a change, never edited, so the reference is that state's
    let decidedOn: Access | undefined;
    const decide = (c: WorkspaceContext) => {
      decidedOn = c.ws.members.get(userId)?.access;
      return decideWorkspace({ type: 'ChangeAccess', workspaceId: ref.workspaceId, actorId: ctx.actorId, now: ctx.now, userId, ...body }, c);
    };
    // an org admin's authority rests on the organization's stream: checked too (targets.ts `workspace`)
    const done = await this.streams.handle(workspace(ref, { actorId: ctx.actorId, decide }, this.streams.states), ctx, decide, { checkLoaded: true });
    // (a replay answers the access its events left, from the state now, as before)
    const access = { ...(done.replayed || !decidedOn ? done.context.ws.members.get(userId)!.access : decidedOn) };
    for (const e of done.events) {
      if (e.type === 'AccessLevelChanged') access.roles = e.data.after;
      if (e.type === 'RestrictionsChanged') access.restrictions = e.data.after;
      if (e.type === 'GrantsChanged') access.grants = e.data.after;
    }
    // a replay's warnings are those of the access it left, as the decider's were for a request naming grants
    const warnings = done.replayed ? (body.grants ? grantWarnings(access, modelOf(done.context)) : []) : done.warnings;
    return {
      userId,
      // a change of level may record restrictions twice (those it drops, then those it adds): each kind named once
      changed: [...new Set(done.events.map((e) => e.type))],
      access,
      position: done.position,
      ...(warnings.length > 0 && { warnings }),
    };
  }
}

export class RevokeAccessCommand {
  constructor(readonly ref: WorkspaceRef, readonly ctx: CommandContext, readonly userId: string, readonly reassignContactsTo?: string) {}
}

/** Rule 11: revoke removes the member; their contacts are unassigned or reassigned, and the event says which. */
@CommandHandler(RevokeAccessCommand)
export class RevokeAccessHandler implements ICommandHandler<RevokeAccessCommand> {
  constructor(@Inject(StreamHandler) private readonly streams: StreamHandler) {}

  async execute({ ref, ctx, userId, reassignContactsTo }: RevokeAccessCommand) {
    // about this user: a keyed retry after their deletion is 410, also when nothing changed (no events name them; probe 120 F1)
    ctx.aboutUsers = [userId];
    const decide = (c: WorkspaceContext) =>
      decideWorkspace(
        { type: 'RevokeAccess', workspaceId: ref.workspaceId, actorId: ctx.actorId, now: ctx.now, userId, ...(reassignContactsTo !== undefined && { reassignContactsTo }) },
        c,
      );
    // with MembershipEnded on the member's presence stream, in the same commit: a status change of theirs decided
    // before the revoke is sent back by it (docs/rules.md#presence-details)
    const ending = (c: WorkspaceContext) => withMembershipsEnded(decide(c), (_, id) => activeMember(c, id) !== undefined);
    const done = await this.streams.handle(workspace(ref, { actorId: ctx.actorId, decide }, this.streams.states), ctx, ending, {
      checkLoaded: true,
      route: (e) => membershipEndedStream(e) ?? workspaceStream(ref.workspaceId),
      unchecked: isPresenceStream,
    });
    // the member's team removals come first in the decision (docs/adr/0009)
    const revoked = done.events.find((e) => e.type === 'AccessRevoked') as Extract<WorkspaceEvent, { type: 'AccessRevoked' }>;
    return { userId, contacts: revoked.data.contacts, position: done.position };
  }
}
