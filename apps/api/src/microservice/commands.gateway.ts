import { randomUUID } from 'node:crypto';
import { Controller, Inject } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { SYSTEM_ACTOR } from '@rollcall/domain';
import { CreateOrganizationCommand, CreateWorkspaceCommand } from '../commands/organizations';
import {
  AcceptInvitationCommand,
  CancelInvitationCommand,
  ChangeAccessCommand,
  InviteMemberCommand,
  ResendInvitationCommand,
  RevokeAccessCommand,
} from '../commands/workspace-commands';
import { DeleteUserCommand, UpdateProfileCommand } from '../commands/user-commands';
import { type CommandContext, newCommandContext } from '../infrastructure/command-context';
import { Idempotency } from '../infrastructure/idempotency';
import { sha256 } from '../infrastructure/secrets';
import { StreamRepository } from '../infrastructure/stream-repository';
import { Authenticator, type Principal, organizationOf } from '../http/auth';
import { workspaceRef } from '../http/command.controllers';
import { AcceptInvitationDto, AccessDto, CreateOrganizationDto, CreateWorkspaceDto, ID_PATTERN, InviteDto, UpdateProfileDto } from '../http/dtos';
import { ProblemException, problem } from '../http/problem';

/** Every message carries its credentials and, for organization keys, the acting user. */
class Envelope {
  @IsString() @MaxLength(200) apiKey!: string;
  @IsOptional() @IsString() @Matches(ID_PATTERN) actorId?: string;
  @IsOptional() @IsString() @MaxLength(255) idempotencyKey?: string;
}
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const withEnvelope = <T extends new (...args: any[]) => object>(Base: T) => {
  class Enveloped extends Base {
    @IsString() @MaxLength(200) apiKey!: string;
    @IsOptional() @IsString() @Matches(ID_PATTERN) actorId?: string;
    @IsOptional() @IsString() @MaxLength(255) idempotencyKey?: string;
  }
  return Enveloped;
};

class CreateOrganizationMessage extends withEnvelope(CreateOrganizationDto) {}
class CreateWorkspaceMessage extends withEnvelope(CreateWorkspaceDto) {
  @IsString() @Matches(ID_PATTERN) organizationId!: string;
}
class InviteMessage extends withEnvelope(InviteDto) {
  @IsString() @Matches(ID_PATTERN) workspaceId!: string;
}
class InvitationMessage extends Envelope {
  @IsString() @Matches(ID_PATTERN) workspaceId!: string;
  @IsString() @Matches(ID_PATTERN) invitationId!: string;
}
class AcceptMessage extends AcceptInvitationDto {
  @IsOptional() @IsString() @MaxLength(255) idempotencyKey?: string;
}
class ChangeAccessMessage extends withEnvelope(AccessDto) {
  @IsString() @Matches(ID_PATTERN) workspaceId!: string;
  @IsString() @Matches(ID_PATTERN) userId!: string;
}
class RevokeMessage extends Envelope {
  @IsString() @Matches(ID_PATTERN) workspaceId!: string;
  @IsString() @Matches(ID_PATTERN) userId!: string;
  @IsOptional() @IsString() @Matches(ID_PATTERN) reassignContactsTo?: string;
}
class ProfileMessage extends withEnvelope(UpdateProfileDto) {
  @IsString() @Matches(ID_PATTERN) organizationId!: string;
  @IsString() @Matches(ID_PATTERN) userId!: string;
}
class DeleteUserMessage extends Envelope {
  @IsString() @Matches(ID_PATTERN) organizationId!: string;
  @IsString() @Matches(ID_PATTERN) userId!: string;
}

const ENVELOPE_FIELDS = ['apiKey', 'actorId', 'idempotencyKey', 'workspaceId', 'organizationId', 'userId', 'invitationId'] as const;
const body = <T extends object>(message: T) =>
  Object.fromEntries(Object.entries(message).filter(([k]) => !(ENVELOPE_FIELDS as readonly string[]).includes(k)));

/**
 * The command API over @nestjs/microservices message patterns (TCP always, NATS when NATS_URL is set):
 * the same commands, authority rules, idempotency and problem objects as over HTTP.
 */
@Controller()
export class CommandsGateway {
  constructor(
    @Inject(CommandBus) private readonly commands: CommandBus,
    @Inject(Authenticator) private readonly auth: Authenticator,
    @Inject(Idempotency) private readonly idempotency: Idempotency,
    @Inject(StreamRepository) private readonly repo: StreamRepository,
  ) {}

  private async run<T>(pattern: string, message: Envelope | AcceptMessage, exec: (ctx: CommandContext, principal: Principal) => Promise<T>) {
    const principal: Principal = 'apiKey' in message ? await this.auth.identify(message.apiKey) : { kind: 'anonymous' };
    const actorId = principal.kind === 'system' ? SYSTEM_ACTOR : principal.kind === 'anonymous' ? 'invitee' : (message as Envelope).actorId;
    if (!actorId)
      throw new ProblemException(problem(400, 'VALIDATION_FAILED', 'Name the acting user in actorId.', [{ field: 'actorId', message: 'is required' }]));
    const scope = principal.kind === 'organization' ? `org:${principal.organizationId}` : principal.kind;
    const key = message.idempotencyKey ? `${scope}:${message.idempotencyKey}` : undefined;
    const ctx = newCommandContext({ actorId, idempotencyKey: key });
    const { apiKey: _key, ...rest } = message as Envelope;
    const hash = sha256(`${pattern} ${JSON.stringify(rest)}`);
    const outcome = await this.idempotency.run(key, hash, async () => ({ status: 200, body: await exec(ctx, principal) }));
    return outcome.body as T;
  }

  private requireSystem(principal: Principal) {
    if (principal.kind !== 'system') throw new ProblemException(problem(403, 'INSUFFICIENT_AUTHORITY', 'This operation needs the system API key.'));
  }

  @MessagePattern('organizations.create')
  createOrganization(@Payload() m: CreateOrganizationMessage) {
    return this.run('organizations.create', m, (ctx, p) => {
      this.requireSystem(p);
      return this.commands.execute(
        new CreateOrganizationCommand(ctx, m.name, m.admin, { organizationId: randomUUID(), adminUserId: randomUUID(), keyId: randomUUID() }),
      );
    });
  }

  @MessagePattern('workspaces.create')
  createWorkspace(@Payload() m: CreateWorkspaceMessage) {
    return this.run('workspaces.create', m, (ctx, p) => {
      if (organizationOf(p) !== m.organizationId) throw new ProblemException(problem(404, 'ORGANIZATION_NOT_FOUND', `Organization ${m.organizationId} does not exist.`));
      return this.commands.execute(new CreateWorkspaceCommand(ctx, m.organizationId, m.name, m.plan, m.accessModel));
    });
  }

  @MessagePattern('members.invite')
  invite(@Payload() m: InviteMessage) {
    return this.run('members.invite', m, async (ctx, p) =>
      this.commands.execute(new InviteMemberCommand(await workspaceRef(this.repo, p, m.workspaceId), ctx, body(m) as unknown as InviteDto)),
    );
  }

  @MessagePattern('invitations.resend')
  resend(@Payload() m: InvitationMessage) {
    return this.run('invitations.resend', m, async (ctx, p) =>
      this.commands.execute(new ResendInvitationCommand(await workspaceRef(this.repo, p, m.workspaceId), ctx, m.invitationId)),
    );
  }

  @MessagePattern('invitations.cancel')
  cancel(@Payload() m: InvitationMessage) {
    return this.run('invitations.cancel', m, async (ctx, p) =>
      this.commands.execute(new CancelInvitationCommand(await workspaceRef(this.repo, p, m.workspaceId), ctx, m.invitationId)),
    );
  }

  @MessagePattern('invitations.accept')
  accept(@Payload() m: AcceptMessage) {
    return this.run('invitations.accept', m, (ctx) => this.commands.execute(new AcceptInvitationCommand(ctx, m.token, m.displayName)));
  }

  @MessagePattern('members.changeAccess')
  changeAccess(@Payload() m: ChangeAccessMessage) {
    return this.run('members.changeAccess', m, async (ctx, p) =>
      this.commands.execute(new ChangeAccessCommand(await workspaceRef(this.repo, p, m.workspaceId), ctx, m.userId, body(m) as AccessDto)),
    );
  }

  @MessagePattern('members.revoke')
  revoke(@Payload() m: RevokeMessage) {
    return this.run('members.revoke', m, async (ctx, p) =>
      this.commands.execute(new RevokeAccessCommand(await workspaceRef(this.repo, p, m.workspaceId), ctx, m.userId, m.reassignContactsTo)),
    );
  }

  @MessagePattern('users.updateProfile')
  updateProfile(@Payload() m: ProfileMessage) {
    return this.run('users.updateProfile', m, (ctx, p) => {
      if (organizationOf(p) !== m.organizationId) throw new ProblemException(problem(404, 'ORGANIZATION_NOT_FOUND', `Organization ${m.organizationId} does not exist.`));
      return this.commands.execute(new UpdateProfileCommand(m.organizationId, ctx, m.userId, body(m) as UpdateProfileDto));
    });
  }

  @MessagePattern('users.delete')
  deleteUser(@Payload() m: DeleteUserMessage) {
    return this.run('users.delete', m, (ctx, p) => {
      if (organizationOf(p) !== m.organizationId) throw new ProblemException(problem(404, 'ORGANIZATION_NOT_FOUND', `Organization ${m.organizationId} does not exist.`));
      return this.commands.execute(new DeleteUserCommand(m.organizationId, ctx, m.userId));
    });
  }
}
