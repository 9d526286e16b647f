import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { ApiProperty } from '@nestjs/swagger';
import { IsString, MaxLength } from 'class-validator';
import { type OrganizationState, SYSTEM_ACTOR, activeUser, decideOrganization, emailKey, hasAddress } from '@rollcall/domain';
import { EraseAddressCommand, EraseAddressHandler } from '../address-erasures/erase-address';
import { ERASURE_JOURNAL, type ErasureJournal } from '../backup/erasure-journal';
import { Authenticator } from '../shared/auth';
import { newCommandContext } from '../shared/command-context';
import { DomainException, StreamHandler } from '../shared/stream-handler';
import { organization } from '../shared/targets';
import { DeleteUserCommand, DeleteUserHandler } from '../users/user-handlers';

/** How long one call works before it answers 202 with what is left (the operator calls again). */
export const CLOSE_BUDGET_MS = 10_000;

export class CloseOrganizationDto {
  @ApiProperty({ description: "the organization's name as it stands: a closing cannot be undone, and an id pasted by mistake asks for a name it does not have", example: 'Acme' })
  @IsString()
  @MaxLength(1000)
  confirmName!: string;
}

class Left {
  @ApiProperty({ description: 'users not deleted yet', example: 0 })
  users!: number;
  @ApiProperty({ description: 'invited addresses (of no user) not erased yet', example: 0 })
  addresses!: number;
}

export class OrganizationClosingAnswer {
  @ApiProperty({ example: '1b671a64-40d5-591e-99b1-2c3b3a4f2d10' })
  organizationId!: string;
  @ApiProperty({ description: 'true: closed for good (200); false: call again, with the same body, to go on (202)', example: true })
  closed!: boolean;
  @ApiProperty({ format: 'date-time', description: 'when the closing began (its API keys were revoked then)' })
  closingSince!: string;
  @ApiProperty({ type: String, format: 'date-time', nullable: true, description: 'when it was closed; null while it is being closed' })
  closedAt!: string | null;
  @ApiProperty({ description: 'users this call deleted', example: 12 })
  usersDeleted!: number;
  @ApiProperty({ description: 'invited addresses this call erased', example: 3 })
  addressesErased!: number;
  @ApiProperty({ type: Left, description: 'what is left to do: both 0 once closed' })
  left!: Left;
}

/**
 * Closing an organization whose contract ended (docs/adr/0035; probe 76 F1): the operator's call, with the system key.
 * One call begins it (OrganizationClosing, every API key revoked), deletes its users (rule 12, as an org admin's
 * deletion does: keys forgotten, journaled, read models erased), erases the addresses only invited, and closes it
 * (OrganizationClosed) — or answers what is left once CLOSE_BUDGET_MS is spent, and the next call goes on. Each step is
 * a command of its own under a key derived from what it is about, so a call repeated, or running beside another, or
 * after a crash, does each step once.
 */
@Injectable()
export class OrganizationClosings {
  private readonly logger = new Logger('OrganizationClosings');

  constructor(
    @Inject(StreamHandler) private readonly streams: StreamHandler,
    @Inject(DeleteUserHandler) private readonly deletions: DeleteUserHandler,
    @Inject(EraseAddressHandler) private readonly erasures: EraseAddressHandler,
    @Inject(Authenticator) private readonly auth: Authenticator,
    @Optional() @Inject(ERASURE_JOURNAL) private readonly journal?: ErasureJournal,
  ) {}

  async close(organizationId: string, confirmName: string, correlationId: string | undefined, budgetMs = CLOSE_BUDGET_MS): Promise<OrganizationClosingAnswer> {
    const until = Date.now() + budgetMs;
    const step = (key: string) => newCommandContext({ actorId: SYSTEM_ACTOR, idempotencyKey: `close-organization:${organizationId}:${key}`, correlationId });
    const begun = await this.streams.handle(organization(organizationId), step('begin'), (org) =>
      decideOrganization({ type: 'StartClosingOrganization', organizationId, actorId: SYSTEM_ACTOR, now: new Date().toISOString(), confirmName }, org),
    );
    for (const event of begun.events)
      if (event.type === 'ApiKeyRevoked') {
        this.auth.forget(organizationId, event.data.keyId);
        // a restore from a backup taken before it revokes them again, but the last (LAST_API_KEY): close it again then
        await this.journal?.record({ kind: 'ApiKeyRevoked', at: event.data.revokedAt, organizationId, keyId: event.data.keyId, position: begun.position });
      }

    let usersDeleted = 0;
    let addressesErased = 0;
    for (const userId of await this.usersLeft(organizationId)) {
      if (Date.now() > until) break;
      await this.deletions.execute(new DeleteUserCommand(organizationId, step(`user:${userId}`), userId));
      usersDeleted++;
    }
    for (const { invitationId, email } of Date.now() > until ? [] : await this.addressesLeft(organizationId)) {
      if (Date.now() > until) break;
      try {
        await this.erasures.execute(new EraseAddressCommand(organizationId, step(`invitation:${invitationId}`), email));
        addressesErased++;
      } catch (error) {
        // erased meanwhile (a call beside this one): nothing left to do for it
        if (!(error instanceof DomainException && error.error.code === 'ADDRESS_NOT_FOUND')) throw error;
      }
    }

    const left = { users: (await this.usersLeft(organizationId)).length, addresses: (await this.addressesLeft(organizationId)).length };
    if (left.users === 0 && left.addresses === 0)
      await this.streams.handle(organization(organizationId), step('end'), (org) =>
        decideOrganization({ type: 'FinishClosingOrganization', organizationId, actorId: SYSTEM_ACTOR, now: new Date().toISOString() }, org),
      );
    const org = await this.state(organizationId);
    if (org.closedAt) this.logger.log({ organizationId, closedAt: org.closedAt }, 'organization closed: every user deleted, every invited address erased');
    return { organizationId, closed: org.closedAt !== undefined, closingSince: org.closingSince!, closedAt: org.closedAt ?? null, usersDeleted, addressesErased, left };
  }

  private async state(organizationId: string): Promise<OrganizationState> {
    return (await this.streams.states.organization(organizationId)).state;
  }

  private async usersLeft(organizationId: string): Promise<string[]> {
    const org = await this.state(organizationId);
    return [...org.users.keys()].filter((userId) => activeUser(org, userId));
  }

  /** an address still held by an invitation bound to no user, once per address (an erasure takes every form of it) */
  private async addressesLeft(organizationId: string): Promise<{ invitationId: string; email: string }[]> {
    const org = await this.state(organizationId);
    const found = new Map<string, { invitationId: string; email: string }>();
    for (const workspaceId of org.workspaces.keys()) {
      const ws = (await this.streams.states.workspace(org, workspaceId))?.state;
      for (const inv of ws?.invitations.values() ?? [])
        if (inv.inviteeUserId === null && hasAddress(inv) && !found.has(emailKey(inv.email))) found.set(emailKey(inv.email), { invitationId: inv.invitationId, email: inv.email });
    }
    return [...found.values()];
  }
}
