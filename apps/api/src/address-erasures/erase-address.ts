import { Inject, Logger, Optional } from '@nestjs/common';
import { ERASURE_JOURNAL, type ErasureJournal } from '../backup/erasure-journal';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { addressFormsErased, addressSubjectsErased, decideEraseAddress, erasedInvitationSubjects, isOrganizationEvent } from '@rollcall/domain';
import { type EventStore, PERSONAL_DATA, type PersonalData } from '@rollcall/event-store';
import { finishErasure } from '../infrastructure/erasure';
import { erasureMetadata } from '../shared/erasure/erasure-metadata';
import { refreshSnapshotsAfterErasure } from '../shared/snapshots/snapshot-refresh';
import { type CommandContext, createdId } from '../shared/command-path/command-context';
import { snapshotSubjectsErasedBy } from '../shared/snapshots/snapshots';
import { StreamHandler } from '../shared/command-path/stream-handler';
import { organizationStream, workspaceStream } from '../shared/command-path/stream-states';
import { organizationWide } from '../shared/command-path/targets';
import { EVENT_STORE } from '../shared/tokens';
import type { AddressErasedAnswer } from './dtos';

export class EraseAddressCommand {
  constructor(readonly organizationId: string, readonly ctx: CommandContext, readonly email: string) {}
}

/**
 * Rule 12 for an address only invited (docs/rules.md#rule-12; probe 40 F3): as a user's deletion (users/user-handlers.ts
 * DeleteUserHandler) without a user. The events of every workspace holding an invitation to the address and
 * AddressErased are appended atomically, each stream at its expected revision (a racing invitation or acceptance of
 * the address sends it back, to be decided again); the address's data keys (each form's, and the shared subject of
 * invitations sent before session 24) go with the append (the embedded store, FORGET_KEYS_WITH_EVENT) or right after
 * it, as do the keys of this epoch's snapshots of the organization and of the workspaces it reaches (they may hold the address); the erasure is
 * recorded (PersonalDataErased), and every process that hears of it (`erasedSubjects`) drops what it holds of it.
 */
@CommandHandler(EraseAddressCommand)
export class EraseAddressHandler implements ICommandHandler<EraseAddressCommand, AddressErasedAnswer> {
  private readonly logger = new Logger('EraseAddressHandler');

  constructor(
    @Inject(StreamHandler) private readonly streams: StreamHandler,
    @Inject(PERSONAL_DATA) private readonly personalData: PersonalData,
    @Inject(EVENT_STORE) private readonly events: EventStore,
    @Optional() @Inject(ERASURE_JOURNAL) private readonly journal?: ErasureJournal,
  ) {}

  async execute({ organizationId, ctx, email }: EraseAddressCommand): Promise<AddressErasedAnswer> {
    const erasureId = createdId(ctx, 'address-erasure');
    let subjects: string[] = [];
    const done = await this.streams.handle(
      organizationWide(organizationId),
      ctx,
      (c) => {
        const decided = decideEraseAddress({ type: 'EraseAddress', organizationId, actorId: ctx.actorId, now: ctx.now, email, erasureId }, c);
        const { withinOrganization, shared } = addressFormsErased(c.workspaces, email);
        subjects = decided.ok
          ? [
              ...this.personalData.subjectIdsOf([...addressSubjectsErased(organizationId, withinOrganization, shared), ...erasedInvitationSubjects(decided.events, c.workspaces)]),
              ...snapshotSubjectsErasedBy(c.org, c.workspaces, decided.events),
            ]
          : [];
        return decided;
      },
      {
        route: (e) => (isOrganizationEvent(e) ? organizationStream(organizationId) : workspaceStream((e.data as { workspaceId: string }).workspaceId)),
        metadataOf: erasureMetadata(() => subjects),
        // decided on every workspace: an invitation of the address elsewhere, appended meanwhile, sends it back
        checkLoaded: true,
      },
    );
    const erased = done.events.find((e) => e.type === 'AddressErased');
    const data = erased?.type === 'AddressErased' ? erased.data : { erasureId, workspaceIds: [] };
    // answered from the log: its keys went as its first answer's did (DeleteUserHandler, the same reasoning)
    await finishErasure(this.personalData, this.events, { subjects, position: done.position, written: !done.replayed, erased: { organizationId, erasureId: data.erasureId } }, this.logger);
    void refreshSnapshotsAfterErasure(this.streams.states, organizationId, this.logger);
    const invitationIds = done.events.flatMap((e) => (e.type === 'InvitationAddressErased' ? e.data.invitationIds : []));
    // journaled before the answer: a restore from a backup taken before it erases the address again (ADR 0031)
    const invitations = done.events.flatMap((e) => (e.type === 'InvitationAddressErased' ? e.data.invitationIds.map((invitationId) => ({ workspaceId: e.data.workspaceId, invitationId })) : []));
    await this.journal?.record({ kind: 'AddressErased', at: ctx.now, organizationId, erasureId: data.erasureId, actorId: ctx.actorId, invitations, position: done.position });
    return { erasureId: data.erasureId, workspaceIds: data.workspaceIds, invitationIds, position: done.position };
  }
}
