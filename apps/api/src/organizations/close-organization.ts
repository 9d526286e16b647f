import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { ApiProperty } from '@nestjs/swagger';
import { IsString, MaxLength } from 'class-validator';
import { type OrganizationState, SYSTEM_ACTOR, activeUser, confirmationRefused, decideOrganization, emailKey, hasAddress } from '@rollcall/domain';
import { EraseAddressCommand, EraseAddressHandler } from '../address-erasures/erase-address';
import { ERASURE_JOURNAL, type ErasureJournal } from '../backup/erasure-journal';
import { Authenticator } from '../shared/auth';
import { type CommandContext, newCommandContext } from '../shared/command-path/command-context';
import { DomainException, StreamHandler } from '../shared/command-path/stream-handler';
import { IdempotencyKeyErasedError } from '../shared/command-path/idempotency';
import { type WorkspaceRef, organization } from '../shared/command-path/targets';
import { NetworkCommandHandler, NetworkCommandRequest } from '../teams/team-handlers';
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
  @ApiProperty({ description: "links to partner workspaces not removed yet (its workspaces' and theirs)", example: 0 })
  partnerLinks!: number;
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
  @ApiProperty({ description: "links between its workspaces and partner workspaces this call removed (probe 91 F1: partners went on showing its teams)", example: 1 })
  partnerLinksRemoved!: number;
  @ApiProperty({ description: 'users this call deleted', example: 12 })
  usersDeleted!: number;
  @ApiProperty({ description: 'invited addresses this call erased', example: 3 })
  addressesErased!: number;
  @ApiProperty({ type: Left, description: 'what is left to do: both 0 once closed' })
  left!: Left;
}

/**
 * Runs one step; false when a call beside this one did it first (probe 77 F1: two replicas closing at once) — the
 * user or address gone (`gone`), or the step's own events found in the log naming what its deletion erased (a replay
 * of an erasure is refused as IdempotencyKeyErasedError, as any retry about an erased person is).
 */
async function doneMeanwhile(ctx: CommandContext, run: (ctx: CommandContext) => Promise<unknown>, gone: 'USER_NOT_FOUND' | 'ADDRESS_NOT_FOUND' | 'NOT_NETWORKED'): Promise<boolean> {
  try {
    await run(ctx);
    // answered from the log: its events were there, written by the call beside this one
    return ctx.answeredFromLog !== true;
  } catch (error) {
    if (error instanceof IdempotencyKeyErasedError || (error instanceof DomainException && error.error.code === gone)) return false;
    throw error;
  }
}

/**
 * Closing an organization whose contract ended (docs/adr/0035; probe 76 F1): the operator's call, with the system key.
 * One call begins it (OrganizationClosing, every API key revoked), unlinks its workspaces from their partners (probe 91
 * F1), deletes its users (rule 12, as an org admin's
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
    @Inject(NetworkCommandHandler) private readonly network: NetworkCommandHandler,
    @Optional() @Inject(ERASURE_JOURNAL) private readonly journal?: ErasureJournal,
  ) {}

  async close(organizationId: string, confirmName: string, correlationId: string | undefined, budgetMs = CLOSE_BUDGET_MS): Promise<OrganizationClosingAnswer> {
    const until = Date.now() + budgetMs;
    const step = (key: string) => newCommandContext({ actorId: SYSTEM_ACTOR, idempotencyKey: `close-organization:${organizationId}:${key}`, correlationId });
    // the name before any step: a step found done in the log answers without deciding again
    const known = await this.state(organizationId);
    const wrongName = known.closingSince !== undefined ? confirmationRefused(known, confirmName) : undefined;
    if (wrongName) throw new DomainException(wrongName);
    const begun = await this.streams.handle(organization(organizationId), step('begin'), (org) =>
      decideOrganization({ type: 'StartClosingOrganization', organizationId, actorId: SYSTEM_ACTOR, now: new Date().toISOString(), confirmName }, org),
    );
    // journaled first: a restore from a backup taken before it closes the organization again, whole (probe 77 F5); by
    // every call until it is closed, not the first alone (probe 78: a process dying between the first step and its
    // line would leave none — a line more is harmless, a restore finding it closed does nothing)
    if (known.closedAt === undefined) await this.journal?.record({ kind: 'OrganizationClosing', at: new Date().toISOString(), organizationId, position: begun.position });
    // (a call after the first finds its step in the log: its revocations were journaled then — probe 77 F7)
    for (const event of begun.replayed ? [] : begun.events)
      if (event.type === 'ApiKeyRevoked') {
        this.auth.forget(organizationId, event.data.keyId);
        // a restore from a backup taken before it revokes them again, but the last (LAST_API_KEY): close it again then
        await this.journal?.record({ kind: 'ApiKeyRevoked', at: event.data.revokedAt, organizationId, keyId: event.data.keyId, position: begun.position });
      }

    // its workspaces unlinked from their partners first (probe 91 F1: a closed organization's teams stayed shared and
    // chosen in its partners' lists, rosters and lookups): the partners' read models end the links as an unlink does
    let partnerLinksRemoved = 0;
    for (const { ref, partner } of await this.linksLeft(organizationId)) {
      if (Date.now() > until) break;
      const unlink = (ctx: CommandContext) => this.network.execute(new NetworkCommandRequest('UnnetworkWorkspaces', ref, partner, ctx));
      if (await doneMeanwhile(step(`unlink:${ref.workspaceId}:${partner.workspaceId}`), unlink, 'NOT_NETWORKED')) partnerLinksRemoved++;
    }
    let usersDeleted = 0;
    let addressesErased = 0;
    for (const userId of Date.now() > until ? [] : await this.usersLeft(organizationId)) {
      if (Date.now() > until) break;
      if (await doneMeanwhile(step(`user:${userId}`), (ctx) => this.deletions.execute(new DeleteUserCommand(organizationId, ctx, userId)), 'USER_NOT_FOUND')) usersDeleted++;
    }
    for (const { invitationId, email } of Date.now() > until ? [] : await this.addressesLeft(organizationId)) {
      if (Date.now() > until) break;
      if (await doneMeanwhile(step(`invitation:${invitationId}`), (ctx) => this.erasures.execute(new EraseAddressCommand(organizationId, ctx, email)), 'ADDRESS_NOT_FOUND')) addressesErased++;
    }

    const left = { partnerLinks: (await this.linksLeft(organizationId)).length, users: (await this.usersLeft(organizationId)).length, addresses: (await this.addressesLeft(organizationId)).length };
    if (left.partnerLinks === 0 && left.users === 0 && left.addresses === 0)
      await this.streams.handle(organization(organizationId), step('end'), (org) =>
        decideOrganization({ type: 'FinishClosingOrganization', organizationId, actorId: SYSTEM_ACTOR, now: new Date().toISOString() }, org),
      );
    const org = await this.state(organizationId);
    // said once, by the call that closed it (one after finds it closed)
    if (org.closedAt && !known.closedAt) this.logger.log({ organizationId, closedAt: org.closedAt }, 'organization closed: every user deleted, every invited address erased');
    return { organizationId, closed: org.closedAt !== undefined, closingSince: org.closingSince!, closedAt: org.closedAt ?? null, partnerLinksRemoved, usersDeleted, addressesErased, left };
  }

  private async state(organizationId: string): Promise<OrganizationState> {
    return (await this.streams.states.organization(organizationId)).state;
  }

  private async usersLeft(organizationId: string): Promise<string[]> {
    const org = await this.state(organizationId);
    return [...org.users.keys()].filter((userId) => activeUser(org, userId));
  }

  /** each link of one of its workspaces to a partner workspace, once (a link between two of its own is one) */
  private async linksLeft(organizationId: string): Promise<{ ref: WorkspaceRef; partner: WorkspaceRef }[]> {
    const org = await this.state(organizationId);
    const found = new Map<string, { ref: WorkspaceRef; partner: WorkspaceRef }>();
    for (const workspaceId of org.workspaces.keys()) {
      const ws = (await this.streams.states.workspace(org, workspaceId))?.state;
      for (const partner of ws?.teams.partners.values() ?? []) {
        const pair = [workspaceId, partner.workspaceId].sort().join('\n');
        if (!found.has(pair)) found.set(pair, { ref: { organizationId, workspaceId }, partner: { organizationId: partner.organizationId, workspaceId: partner.workspaceId } });
      }
    }
    return [...found.values()];
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
