import { Inject, Logger, type OnApplicationShutdown, Optional } from '@nestjs/common';
import { ERASURE_JOURNAL, type ErasureJournal } from '../backup/erasure-journal';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import {
  type EmailChangeRequested,
  type PendingInvitations,
  type ProfileChanges,
  type UserProfileUpdated,
  type OrganizationState,
  type WorkspaceState,
  activeMember,
  addressesErasedWith,
  addressesSealedUnder,
  erasedInvitationSubjects,
  decideDeleteUser,
  decideOrganization,
  isOrganizationEvent,
  emailKey,
  isOrgAdmin,
  normalizeEmail,
  withMembershipsEnded,
} from '@rollcall/domain';
import { type EventStore, PERSONAL_DATA, type PersonalData } from '@rollcall/event-store';
import type { Config } from '../config';
import { finishErasure } from '../infrastructure/erasure';
import { erasureMetadata } from '../shared/erasure/erasure-metadata';
import { refreshSnapshotsAfterErasure } from '../shared/snapshots/snapshot-refresh';
import { AddressErasure } from '../shared/erasure/address-erasure';
import type { CommandContext } from '../shared/command-path/command-context';
import { INVITATION_MAILER, type InvitationMailer, type MailStatus, mailEmailConfirmation } from '../mail/mailer';
import { emailChangeLinkCurrent } from '../mail/current-links';
import { MailLedger, mailNow, mailRequestOf, mailUnlessRecorded, replayOf } from '../mail/mail-ledger';
import { EmailChangeLimit } from './email-change-limit';
import { EMAIL_CHANGE_MAILS, type EmailChangeMails, ProcessEmailChangeMails } from './email-change-mails';
import { EmailConfirmationLinks } from '../shared/secrets';
import { snapshotSubjectsErasedBy } from '../shared/snapshots/snapshots';
import { DomainException, StreamHandler } from '../shared/command-path/stream-handler';
import { organizationStream, workspaceStream } from '../shared/command-path/stream-states';
import { isPresenceStream, membershipEndedStream, organizationAlone, organizationWide } from '../shared/command-path/targets';
import { APP_CONFIG, EVENT_STORE } from '../shared/tokens';
import type { AnswerStorage } from '../shared/command-path/write-pipeline';

/** The pending invitations of an organization's workspaces: address (emailKey) → the invited user's id, or null for a new address. */
const pendingInvitations = (workspaces: WorkspaceState[]): Required<Pick<PendingInvitations, 'pendingInvitations' | 'pendingInvitationsWhere'>> => {
  const pending = new Map<string, string | null>();
  const where = new Map<string, { workspaceId: string; invitationId: string }>();
  for (const ws of workspaces)
    for (const inv of ws.invitations.values())
      if (inv.status === 'pending' && inv.email) {
        pending.set(emailKey(inv.email), inv.inviteeUserId);
        where.set(emailKey(inv.email), { workspaceId: ws.info.workspaceId, invitationId: inv.invitationId });
      }
  return { pendingInvitations: pending, pendingInvitationsWhere: where };
};

/** whether a user is an active member of a workspace of the organization (rule 10: who may change their own profile) */
const activeMemberSomewhere =
  (c: { org: OrganizationState; workspaces: WorkspaceState[] }) =>
  (user: string): boolean =>
    c.workspaces.some((ws) => activeMember({ org: c.org, ws }, user) !== undefined);

/** What a profile change answers (users/resources.ts ProfileUpdated) */
export interface ProfileAnswer {
  userId: string;
  changed: string[];
  emailChange?: { status: 'pending_confirmation' | 'withdrawn'; email: string; expiresAt?: string; mail?: MailStatus };
  position: string;
}

export class UpdateProfileCommand {
  constructor(readonly organizationId: string, readonly ctx: CommandContext, readonly userId: string, readonly changes: ProfileChanges) {}
}

/**
 * Rule 10: the profile lives in the organization stream and shows in every workspace. A new email takes effect only
 * through the confirmation link mailed to it, and cannot be an address someone else was invited at.
 */
@CommandHandler(UpdateProfileCommand)
export class UpdateProfileHandler implements ICommandHandler<UpdateProfileCommand>, OnApplicationShutdown {
  constructor(
    @Inject(StreamHandler) private readonly streams: StreamHandler,
    @Inject(EmailConfirmationLinks) private readonly links: EmailConfirmationLinks,
    @Inject(INVITATION_MAILER) private readonly mailer: InvitationMailer,
    @Inject(APP_CONFIG) private readonly config: Config,
    @Optional() @Inject(AddressErasure) private readonly erasure?: AddressErasure,
    @Optional() @Inject(MailLedger) private readonly ledger?: MailLedger,
    @Optional() @Inject(EMAIL_CHANGE_MAILS) private readonly mails: EmailChangeMails = new ProcessEmailChangeMails(),
  ) {
    this.emailChanges = new EmailChangeLimit(config.emailChangesPerHour ?? 5, mails);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.mails.close();
  }

  /** confirmations mailed per user and hour, counted by every API process of the deployment (probe 83, ADR 0038) */
  private readonly emailChanges: EmailChangeLimit;

  /**
   * Whether this email change would mail a link, as far as the organization's state this process holds tells (a hint:
   * the decision decides): asked by the user or an org admin (probe 92 F3: a refusal for the limit told anyone how often
   * another user's email was asked to change, before their authority was looked at), and not the address the user
   * has, which withdraws a change and mails nothing (probe 92 F1: refused at the limit, a pending link stayed live).
   */
  private async mayMail(organizationId: string, actorId: string, userId: string, email: string): Promise<boolean> {
    const org = await this.streams.states.organizationCached(organizationId);
    const user = org.users.get(userId);
    if (!user || (actorId !== userId && !isOrgAdmin(org, actorId))) return false;
    return emailKey(normalizeEmail(email)) !== emailKey(user.email);
  }

  async execute({ organizationId, ctx, userId, changes }: UpdateProfileCommand): Promise<ProfileAnswer> {
    // the request names the user's data: its retry after their deletion is refused, also when nothing was written
    ctx.aboutUsers = [userId];
    // its mail's slot taken before it is decided, given back below if no mail goes out (probe 99 F1). At the limit, the
    // refusal is made where the decision would be: a retry whose first attempt's events are in the log (answered by
    // another replica, its stored answer not written yet) is found by its key before that, and answered as the first
    // (probe 100 F1: a keyed retry was refused 429 for the change it had made). The same request sent again while its
    // first attempt holds its slot (to another replica at once) takes none and is not refused (probe 109 F1)
    let refusal: unknown;
    const slot =
      changes.email !== undefined && (await this.mayMail(organizationId, ctx.actorId, userId, changes.email))
        ? await this.emailChanges.take(organizationId, userId, Date.now(), sameRequestOf(ctx)).catch((error: unknown) => void (refusal = error))
        : undefined;
    if (refusal !== undefined && ctx.generatedKey) throw refusal;
    // the workspaces hold the pending invitations an email change is checked against, and the memberships that let a
    // user edit their own profile (an org admin's edits need neither)
    const self = ctx.actorId === userId;
    const target = changes.email !== undefined || self ? organizationWide(organizationId) : organizationAlone(organizationId);
    const done = await this.streams
      .handle(
        target,
        ctx,
        (c) => {
          if (refusal !== undefined) throw refusal;
          return decideOrganization(
            { type: 'UpdateProfile', organizationId, actorId: ctx.actorId, now: ctx.now, userId, changes, confirmationTtlSeconds: this.config.invitationTtlSeconds },
            c.org,
            {
              ...pendingInvitations(c.workspaces),
              ...(self && { activeMemberSomewhere: activeMemberSomewhere(c) }),
            },
          );
        },
        // decided on every workspace's pending invitations: one written meanwhile sends it back (docs/rules.md#email-change)
        { checkLoaded: changes.email !== undefined },
      )
      // refused, or not written: no mail goes out for its slot
      .catch(async (error: unknown) => {
        await this.emailChanges.giveBack(slot);
        throw error;
      });
    const updated = done.events.find((e): e is UserProfileUpdated => e.type === 'UserProfileUpdated');
    const requested = done.events.find((e): e is EmailChangeRequested => e.type === 'EmailChangeRequested');
    const withdrawn = done.events.some((e) => e.type === 'EmailChangeWithdrawn');
    // a replay (the request's retry, answered from the log) mails again while the change is pending at that version and
    // the ledger holds no record of its first attempt's mail: that attempt's process may have died between the commit
    // and the mail (probe 28)
    const pending = requested && emailChangeLinkCurrent(done.context.org, userId, requested.data.version, Date.now());
    const stillPending = pending && pending.email === requested.data.email;
    // no change to mail (refused, withdrawn): the slot counts no more. A replay keeps one it took: the attempt that made
    // the change holds none — the same request sent to another replica while this one held its slot (probe 109 F1) —,
    // or held one that lapsed (counted again: on the side of the limit); a retry while its first attempt's slot is held takes none
    if (!requested) await this.emailChanges.giveBack(slot);
    // what became of the link's mail, said in the answer (probe 101 F4: one the relay refused read as mailed; probe 106
    // F5: a retry's too)
    const mail =
      requested &&
      (await mailUnlessRecorded(this.ledger, { kind: 'email-confirmation', organizationId, userId, version: requested.data.version }, replayOf(done, requested.data.requestedAt), (!done.replayed || stillPending === true) && (() =>
        mailEmailConfirmation(
          this.mailer,
          {
            to: requested.data.email,
            organizationName: done.context.org.name,
            confirmUrl: this.links.url({ organizationId, userId, version: requested.data.version }),
            expiresAt: requested.data.expiresAt,
          },
          // the new address is sealed under the user's key: a deletion that forgot it after this change is not mailed past
          async () => (await this.erasure?.userErasedAfter(userId, BigInt(done.position))) ?? false,
          undefined,
          async (outcome) => {
            // refused for good by the relay (a 5xx) or erased: no mail goes out for it, now or later (the dispatcher does
            // not retry those): its slot counts no more (probe 100 F2: a mistyped address the relay refused locked the
            // user out for an hour with no mail sent)
            if (outcome === 'refused' || outcome === 'erased') await this.emailChanges.giveBack(slot);
            await this.ledger?.emailConfirmationHandedOff(outcome, { organizationId, userId, version: requested.data.version }, mailRequestOf(ctx));
          },
        )),
        this.config,
      ));
    const answer: ProfileAnswer = {
      userId,
      changed: Object.keys(updated?.data.changes ?? {}),
      ...(requested && { emailChange: { status: 'pending_confirmation', email: requested.data.email, expiresAt: requested.data.expiresAt, ...(mail !== undefined && { mail }) } }),
      ...(withdrawn && { emailChange: { status: 'withdrawn', email: normalizeEmail(changes.email ?? '') } }),
      position: done.position,
    };
    if (requested) CONFIRMATIONS.set(answer, { organizationId, version: requested.data.version });
    return answer;
  }
}

/**
 * Rule 12 at rest: the answer kept under an Idempotency-Key leaves out the new address of an email change (a
 * deletion erases it from the events, and must not find it in api.sqlite); a retry carries the same body, whose
 * `email` gives it back.
 */
/** an email change's answer but its address: its status, the link's expiry, what became of its mail (probe 106 F5) */
const withoutAddress = ({ status, expiresAt, mail }: NonNullable<ProfileAnswer['emailChange']>) => ({
  status,
  ...(expiresAt !== undefined && { expiresAt }),
  ...(mail !== undefined && { mail }),
});

/**
 * What makes two attempts the same request for the email-change limit: the key as the log records it and the request's
 * fingerprint — a key reused for another body is another request (probe 110 F1: raced to two replicas, the body that
 * lost gave its slot back and the one that won held none: a sixth mail in the hour). None without a client's key.
 */
const sameRequestOf = (ctx: CommandContext): string | undefined => (ctx.generatedKey ? undefined : `${ctx.recordedKey} ${ctx.requestHash ?? ''}`);

/** the confirmation link an answer's email change mailed: kept with the answer, not in it (its `mail` looked up again) */
export type Confirmation = { organizationId: string; version: number };
const CONFIRMATIONS = new WeakMap<ProfileAnswer, Confirmation>();

/**
 * `mail` kept `pending` is what the ledger recorded since, absent once the change is no longer pending at that version
 * (mailNow, `current`; answers kept before session 65 hold no link)
 */
export const profileAnswerStorage = (ledger: MailLedger | undefined, current: (userId: string, link: Confirmation) => Promise<boolean>): AnswerStorage<ProfileAnswer> => ({
  stored: (answer) => {
    const { emailChange, ...rest } = answer;
    const confirmation = CONFIRMATIONS.get(answer);
    return emailChange ? { ...rest, emailChange: { ...withoutAddress(emailChange), ...(confirmation && { confirmation }) } } : rest;
  },
  restored: async (stored, _ctx, body) => {
    const { emailChange, position, ...rest } = stored as ProfileAnswer & { emailChange?: { confirmation?: Confirmation } };
    if (!emailChange) return stored as ProfileAnswer;
    const email = normalizeEmail(String((body as { email?: unknown } | null)?.email ?? ''));
    // (in the first answer's order: the address after the status)
    const { status, ...kept } = withoutAddress(emailChange);
    const link = emailChange.confirmation;
    const mail = link ? await mailNow(ledger, kept.mail, { kind: 'email-confirmation', userId: rest.userId, ...link }, position, () => current(rest.userId, link)) : kept.mail;
    return { ...rest, emailChange: { status, email, ...kept, ...(mail !== undefined && { mail }) }, position };
  },
});

export class ConfirmEmailChangeCommand {
  constructor(readonly ctx: CommandContext, readonly token: string) {}
}

/** Opening the link mailed to the new address: the address becomes the user's (rule 10). */
@CommandHandler(ConfirmEmailChangeCommand)
export class ConfirmEmailChangeHandler implements ICommandHandler<ConfirmEmailChangeCommand> {
  constructor(
    @Inject(StreamHandler) private readonly streams: StreamHandler,
    @Inject(EmailConfirmationLinks) private readonly links: EmailConfirmationLinks,
  ) {}

  async execute({ ctx, token }: ConfirmEmailChangeCommand) {
    const ref = this.links.verify(token);
    if (!ref)
      throw new DomainException({
        code: 'VALIDATION_FAILED',
        message: 'The confirmation link is not valid; open the link from the latest confirmation email.',
        fields: [{ field: 'token', message: 'is not a valid confirmation token' }],
      });
    const done = await this.streams.handle(
      organizationWide(ref.organizationId),
      { ...ctx, actorId: ref.userId },
      (c) =>
        decideOrganization({ type: 'ConfirmEmailChange', organizationId: ref.organizationId, userId: ref.userId, version: ref.version, now: ctx.now }, c.org, {
          ...pendingInvitations(c.workspaces),
          // a change the user asked for themself lapses with their last membership (probe 121 F9)
          activeMemberSomewhere: activeMemberSomewhere(c),
        }),
      // an invitation to the address committed after the workspaces were read sends it back: refused then (session
      // 22's probe: both succeeded, and the invitation's acceptance linked the user who had claimed the address)
      { checkLoaded: true },
    );
    return { userId: ref.userId, organizationId: ref.organizationId, position: done.position };
  }
}

export class DeleteUserCommand {
  constructor(readonly organizationId: string, readonly ctx: CommandContext, readonly userId: string) {}
}

/**
 * Rule 12 (docs/rules.md#rule-12), with rule 4 checked over every workspace. UserDeleted and the events of every
 * workspace where the user was are appended atomically, each stream at its expected revision (docs/adr/0004). Then
 * the user's data keys are forgotten (crypto-shredding: with the embedded store in the same transaction), and that is
 * recorded (PersonalDataErased); `erasedSubjects`
 * in the metadata lets the pass at start finish an erasure that a crash interrupted (infrastructure/erasure.ts).
 */
@CommandHandler(DeleteUserCommand)
export class DeleteUserHandler implements ICommandHandler<DeleteUserCommand> {
  private readonly logger = new Logger('DeleteUserHandler');

  constructor(
    @Inject(StreamHandler) private readonly streams: StreamHandler,
    @Inject(PERSONAL_DATA) private readonly personalData: PersonalData,
    @Inject(EVENT_STORE) private readonly events: EventStore,
    @Optional() @Inject(ERASURE_JOURNAL) private readonly journal?: ErasureJournal,
  ) {}

  async execute({ organizationId, ctx, userId }: DeleteUserCommand) {
    let subjects: string[] = [];
    const done = await this.streams.handle(
      organizationWide(organizationId),
      ctx,
      (c) => {
        const user = c.org.users.get(userId);
        // their addresses but those another living user holds or held too (rule 12: addressesErasedWith)
        const erased = user ? addressesErasedWith(c.org, c.workspaces, userId) : new Set<string>();
        // an address's subjects (within the organization, or shared by every one), only of the addresses this
        // organization's invitations sent before session 41 went to (addressesSealedUnder)
        const withinOrganization = [...addressesSealedUnder(c.workspaces, erased, 'organization')];
        const sharedEmails = [...addressesSealedUnder(c.workspaces, erased, undefined)];
        // with the keys of the snapshots of this epoch of the organization and of the workspaces the deletion reaches:
        // every snapshot that may hold the user is shredded too (docs/adr/0013)
        const decided = decideDeleteUser({ type: 'DeleteUser', organizationId, actorId: ctx.actorId, now: ctx.now, userId }, c);
        // and the own key of every invitation it names (sealed under it since session 41: docs/adr/0024)
        const invitations = decided.ok ? this.personalData.subjectIdsOf(erasedInvitationSubjects(decided.events, c.workspaces)) : [];
        subjects =
          user && !user.deleted
            ? [...this.personalData.subjectsOf({ userId, knownEmails: withinOrganization, sharedEmails }, organizationId), ...invitations, ...snapshotSubjectsErasedBy(c.org, c.workspaces, decided.ok ? decided.events : [])]
            : [];
        // MembershipEnded on their presence stream in every workspace where they were an active member (as a revoke)
        const active = new Set(c.workspaces.filter((ws) => activeMember({ org: c.org, ws }, userId)).map((ws) => ws.info.workspaceId));
        return withMembershipsEnded(decided, (workspaceId) => active.has(workspaceId));
      },
      {
        route: (e) => membershipEndedStream(e) ?? (isOrganizationEvent(e) ? organizationStream(organizationId) : workspaceStream((e.data as { workspaceId: string }).workspaceId)),
        unchecked: isPresenceStream,
        // the embedded store forgets the keys in the deletion's own transaction (FORGET_KEYS_WITH_EVENT): an append
        // after it in the log cannot be sealed under one of them (docs/adr/0003, "Erasure and sealing race")
        metadataOf: erasureMetadata(() => subjects),
        // decided on every workspace: one it read as not holding the user may take them in meanwhile (an existing
        // user's acceptance writes the workspace alone), and must send the deletion back (review, session 25)
        checkLoaded: true,
      },
    );
    // Answered from the log (this request's deletion written before, maybe by another replica): with the embedded
    // store its keys went in its own transaction, and forgetting them now would erase keys made since, for an address
    // invited again after the deletion (replicas workload, session 27): only traces go then. Another key store forgets
    // after the append, as for a deletion written now (this request's own first attempt may be the one answered). A
    // deletion found written by its own re-send (`resent`) is a written one: its re-send, answered as a replay by the
    // embedded store, marked its keys as forgotten with the append (PersonalDataEventStore.forgottenInAppends).
    // at the position of the deletion's last event: a key store that keeps tombstones but not in the deletion's
    // transaction records them there (KeyStore.forget; docs/adr/0003, point 11); the user is deleted and the keys are
    // gone: a record that cannot be written now is tried again in the background (and, failing that, written by the
    // pass at the next start), so the answer does not wait for it
    await finishErasure(this.personalData, this.events, { subjects, position: done.position, written: !done.replayed, erased: { organizationId, userId } }, this.logger);
    // the snapshots of the organization and of the workspaces it reached went with their epochs' keys: written again now, in the background
    void refreshSnapshotsAfterErasure(this.streams.states, organizationId, this.logger);
    // journaled before the answer: a restore from a backup taken before it deletes the user again (ADR 0031)
    await this.journal?.record({ kind: 'UserDeleted', at: ctx.now, organizationId, userId, actorId: ctx.actorId, position: done.position });
    const deleted = done.events.find((e) => e.type === 'UserDeleted');
    // the pending invitations it cancelled with them, by workspace (probe 80 F7: seen only in each workspace's history)
    const cancelledInvitations = done.events.flatMap((e) => (e.type === 'InvitationCancelled' ? [{ workspaceId: e.data.workspaceId, invitationId: e.data.invitationId }] : []));
    return { userId, workspaceIds: deleted?.type === 'UserDeleted' ? deleted.data.workspaceIds : [], cancelledInvitations, position: done.position };
  }
}
