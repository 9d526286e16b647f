import { randomUUID } from 'node:crypto';
import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import {
  type Decision,
  type Restrictions,
  type WorkspaceCommand,
  type WorkspaceContext,
  type WorkspaceEvent,
  decideOrganization,
  decideWorkspace,
  domainError,
  invitationLink,
} from '@rollcall/domain';
import type { CommandContext } from '../infrastructure/command-context';
import { DomainException, EventWriter } from '../infrastructure/event-writer';
import { INVITATION_MAILER, type InvitationMailer, sendInBackground } from '../infrastructure/mailer';
import { InvitationLinks } from '../infrastructure/secrets';
import { StreamRepository, organizationStream, workspaceStream } from '../infrastructure/stream-repository';
import { APP_CONFIG } from './tokens';
import type { Config } from '../config';

/** A workspace is addressed within the caller's organization; another organization's workspace is "not found". */
export interface WorkspaceRef {
  organizationId: string;
  workspaceId: string;
}

export const workspaceNotFound = (workspaceId: string) =>
  new DomainException(domainError('WORKSPACE_NOT_FOUND', `Workspace ${workspaceId} does not exist.`));

/** Loads a workspace's decision context: its own stream and its organization's. */
export async function loadWorkspace(repo: StreamRepository, ref: WorkspaceRef) {
  const org = await repo.organization(ref.organizationId);
  const ws = await repo.workspace(org.state, ref.workspaceId);
  if (!ws) throw workspaceNotFound(ref.workspaceId);
  return { org, ws, ctx: { org: org.state, ws: ws.state } satisfies WorkspaceContext };
}

const must = <E>(decision: Decision<E>): { events: E[]; warnings: string[] } => {
  if (!decision.ok) throw new DomainException(decision.error);
  return decision;
};

type WorkspaceCommandBody<T extends WorkspaceCommand['type']> = Omit<Extract<WorkspaceCommand, { type: T }>, 'type' | 'workspaceId' | 'actorId' | 'now'>;

/** Runs one workspace command: load, decide, append with the expected revision, re-decide on conflict. */
async function runWorkspaceCommand(
  repo: StreamRepository,
  writer: EventWriter,
  ref: WorkspaceRef,
  ctx: CommandContext,
  command: (c: WorkspaceContext) => WorkspaceCommand,
) {
  return writer.withRetry(workspaceStream(ref.workspaceId), async () => {
    const loaded = await loadWorkspace(repo, ref);
    const { events, warnings } = must(decideWorkspace(command(loaded.ctx), loaded.ctx));
    const position = await writer.appendAny(workspaceStream(ref.workspaceId), loaded.ws.expected, events, ctx);
    return { events, warnings, position: position.toString(), ctx: loaded.ctx };
  });
}

const base = (ref: WorkspaceRef, ctx: CommandContext) => ({ workspaceId: ref.workspaceId, actorId: ctx.actorId, now: ctx.now });

export class InviteMemberCommand {
  constructor(
    readonly ref: WorkspaceRef,
    readonly ctx: CommandContext,
    readonly body: { email: string; roles?: string[]; restrictions?: Restrictions; grants?: string[] },
  ) {}
}
export interface InvitationResult {
  invitationId: string;
  inviteUrl: string;
  expiresAt: string;
  position: string;
  warnings?: string[];
}

@CommandHandler(InviteMemberCommand)
export class InviteMemberHandler implements ICommandHandler<InviteMemberCommand, InvitationResult> {
  constructor(
    @Inject(StreamRepository) private readonly repo: StreamRepository,
    @Inject(EventWriter) private readonly writer: EventWriter,
    @Inject(InvitationLinks) private readonly links: InvitationLinks,
    @Inject(INVITATION_MAILER) private readonly mailer: InvitationMailer,
    @Inject(APP_CONFIG) private readonly config: Config,
  ) {}

  async execute({ ref, ctx, body }: InviteMemberCommand): Promise<InvitationResult> {
    const invitationId = randomUUID();
    const result = await runWorkspaceCommand(this.repo, this.writer, ref, ctx, () => ({
      type: 'InviteMember',
      ...base(ref, ctx),
      invitationId,
      ttlSeconds: this.config.invitationTtlSeconds,
      ...body,
    }));
    const invited = result.events[0] as Extract<WorkspaceEvent, { type: 'UserInvited' }>;
    const inviteUrl = this.links.url({ ...ref, invitationId, linkVersion: invited.data.linkVersion });
    sendInBackground(this.mailer, {
      to: invited.data.email,
      workspaceName: result.ctx.ws.info.name,
      inviteUrl,
      expiresAt: invited.data.expiresAt,
    });
    return {
      invitationId,
      inviteUrl,
      expiresAt: invited.data.expiresAt,
      position: result.position,
      ...(result.warnings.length > 0 && { warnings: result.warnings }),
    };
  }
}

export class ResendInvitationCommand {
  constructor(readonly ref: WorkspaceRef, readonly ctx: CommandContext, readonly invitationId: string) {}
}

@CommandHandler(ResendInvitationCommand)
export class ResendInvitationHandler implements ICommandHandler<ResendInvitationCommand, InvitationResult> {
  constructor(
    @Inject(StreamRepository) private readonly repo: StreamRepository,
    @Inject(EventWriter) private readonly writer: EventWriter,
    @Inject(InvitationLinks) private readonly links: InvitationLinks,
    @Inject(INVITATION_MAILER) private readonly mailer: InvitationMailer,
    @Inject(APP_CONFIG) private readonly config: Config,
  ) {}

  async execute({ ref, ctx, invitationId }: ResendInvitationCommand): Promise<InvitationResult> {
    const result = await runWorkspaceCommand(this.repo, this.writer, ref, ctx, () => ({
      type: 'ResendInvitation',
      ...base(ref, ctx),
      invitationId,
      ttlSeconds: this.config.invitationTtlSeconds,
    }));
    const resent = result.events[0] as Extract<WorkspaceEvent, { type: 'InvitationResent' }>;
    const inviteUrl = this.links.url({ ...ref, invitationId, linkVersion: resent.data.linkVersion });
    const email = result.ctx.ws.invitations.get(invitationId)?.email ?? '';
    sendInBackground(this.mailer, { to: email, workspaceName: result.ctx.ws.info.name, inviteUrl, expiresAt: resent.data.expiresAt });
    return { invitationId, inviteUrl, expiresAt: resent.data.expiresAt, position: result.position };
  }
}

export class CancelInvitationCommand {
  constructor(readonly ref: WorkspaceRef, readonly ctx: CommandContext, readonly invitationId: string) {}
}

@CommandHandler(CancelInvitationCommand)
export class CancelInvitationHandler implements ICommandHandler<CancelInvitationCommand, { invitationId: string; position: string }> {
  constructor(
    @Inject(StreamRepository) private readonly repo: StreamRepository,
    @Inject(EventWriter) private readonly writer: EventWriter,
  ) {}

  async execute({ ref, ctx, invitationId }: CancelInvitationCommand) {
    const result = await runWorkspaceCommand(this.repo, this.writer, ref, ctx, () => ({ type: 'CancelInvitation', ...base(ref, ctx), invitationId }));
    return { invitationId, position: result.position };
  }
}

/** "Copy invitation link": not a write, but decided by the domain's authority rules. */
export class GetInvitationLinkCommand {
  constructor(readonly ref: WorkspaceRef, readonly ctx: CommandContext, readonly invitationId: string) {}
}

@CommandHandler(GetInvitationLinkCommand)
export class GetInvitationLinkHandler implements ICommandHandler<GetInvitationLinkCommand> {
  constructor(
    @Inject(StreamRepository) private readonly repo: StreamRepository,
    @Inject(InvitationLinks) private readonly links: InvitationLinks,
  ) {}

  async execute({ ref, ctx, invitationId }: GetInvitationLinkCommand) {
    const { ctx: wctx } = await loadWorkspace(this.repo, ref);
    const link = invitationLink(wctx, ctx.actorId, invitationId);
    if (!link.ok) throw new DomainException(link.error);
    const inv = link.invitation;
    return {
      invitationId,
      email: inv.email,
      inviteUrl: this.links.url({ ...ref, invitationId, linkVersion: inv.linkVersion }),
      expiresAt: inv.expiresAt,
      expired: Date.parse(ctx.now) >= Date.parse(inv.expiresAt),
    };
  }
}

export class AcceptInvitationCommand {
  constructor(readonly ctx: CommandContext, readonly token: string, readonly displayName?: string) {}
}

const invalidToken = () =>
  new DomainException({
    code: 'VALIDATION_FAILED',
    message: 'The invitation link is not valid; open the link from the latest invitation email.',
    fields: [{ field: 'token', message: 'is not a valid invitation token' }],
  });

/** Rule 8: the org user is created (or linked) in the organization stream first, then the member in the workspace's. */
@CommandHandler(AcceptInvitationCommand)
export class AcceptInvitationHandler implements ICommandHandler<AcceptInvitationCommand> {
  constructor(
    @Inject(StreamRepository) private readonly repo: StreamRepository,
    @Inject(EventWriter) private readonly writer: EventWriter,
    @Inject(InvitationLinks) private readonly links: InvitationLinks,
  ) {}

  async execute({ ctx, token, displayName }: AcceptInvitationCommand) {
    const ref = this.links.verify(token);
    if (!ref) throw invalidToken();
    const newUserId = randomUUID();
    return this.writer.withRetry(workspaceStream(ref.workspaceId), async () => {
      const { org, ws, ctx: wctx } = await loadWorkspace(this.repo, ref);
      const accepted = must(
        decideWorkspace(
          { type: 'AcceptInvitation', workspaceId: ref.workspaceId, now: ctx.now, invitationId: ref.invitationId, linkVersion: ref.linkVersion, newUserId },
          wctx,
        ),
      ).events;
      const { userId, email } = (accepted[0] as Extract<WorkspaceEvent, { type: 'InvitationAccepted' }>).data;
      const actorCtx = { ...ctx, actorId: userId };
      const joined = must(
        decideOrganization(
          { type: 'JoinOrganization', organizationId: ref.organizationId, actorId: userId, now: ctx.now, newUserId: userId, email, displayName },
          org.state,
        ),
      ).events;
      if (joined.length > 0) await this.writer.append(organizationStream(ref.organizationId), org.expected, joined, actorCtx);
      const { position } = await this.writer.append(workspaceStream(ref.workspaceId), ws.expected, accepted, actorCtx);
      return { userId, organizationId: ref.organizationId, workspaceId: ref.workspaceId, position: position.toString() };
    });
  }
}

export class ChangeAccessCommand {
  constructor(
    readonly ref: WorkspaceRef,
    readonly ctx: CommandContext,
    readonly userId: string,
    readonly body: WorkspaceCommandBody<'ChangeAccess'> extends infer B ? Omit<B, 'userId'> : never,
  ) {}
}

@CommandHandler(ChangeAccessCommand)
export class ChangeAccessHandler implements ICommandHandler<ChangeAccessCommand> {
  constructor(
    @Inject(StreamRepository) private readonly repo: StreamRepository,
    @Inject(EventWriter) private readonly writer: EventWriter,
  ) {}

  async execute({ ref, ctx, userId, body }: ChangeAccessCommand) {
    const result = await runWorkspaceCommand(this.repo, this.writer, ref, ctx, () => ({ type: 'ChangeAccess', ...base(ref, ctx), userId, ...body }));
    const access = { ...result.ctx.ws.members.get(userId)!.access };
    for (const e of result.events) {
      if (e.type === 'AccessLevelChanged') access.roles = e.data.after;
      if (e.type === 'RestrictionsChanged') access.restrictions = e.data.after;
      if (e.type === 'GrantsChanged') access.grants = e.data.after;
    }
    return {
      userId,
      changed: result.events.map((e) => e.type),
      access,
      position: result.position,
      ...(result.warnings.length > 0 && { warnings: result.warnings }),
    };
  }
}

export class RevokeAccessCommand {
  constructor(readonly ref: WorkspaceRef, readonly ctx: CommandContext, readonly userId: string, readonly reassignContactsTo?: string) {}
}

@CommandHandler(RevokeAccessCommand)
export class RevokeAccessHandler implements ICommandHandler<RevokeAccessCommand> {
  constructor(
    @Inject(StreamRepository) private readonly repo: StreamRepository,
    @Inject(EventWriter) private readonly writer: EventWriter,
  ) {}

  async execute({ ref, ctx, userId, reassignContactsTo }: RevokeAccessCommand) {
    const result = await runWorkspaceCommand(this.repo, this.writer, ref, ctx, () => ({
      type: 'RevokeAccess',
      ...base(ref, ctx),
      userId,
      ...(reassignContactsTo !== undefined && { reassignContactsTo }),
    }));
    const revoked = result.events[0] as Extract<WorkspaceEvent, { type: 'AccessRevoked' }>;
    return { userId, contacts: revoked.data.contacts, position: result.position };
  }
}

