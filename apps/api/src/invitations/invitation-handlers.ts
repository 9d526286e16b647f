import { Inject, Optional } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import {
  type DataSubject,
  type Restrictions,
  type WorkspaceContext,
  type WorkspaceEvent,
  addressSubject,
  addressSubjects,
  decideOrganization,
  decideWorkspace,
  domainError,
  grantWarnings,
  hasAddress,
  invitationLink,
  invitationSubject,
  isOrganizationEvent,
  modelOf,
  normalizeEmail,
} from '@rollcall/domain';
import { type EventStore, WrongExpectedRevisionError } from '@rollcall/event-store';
import { APP_CONFIG, EVENT_STORE } from '../shared/tokens';
import { recordLinkCopied } from './link-copies';
import type { Config } from '../config';
import { type CommandContext, createdId } from '../shared/command-path/command-context';
import { INVITATION_MAILER, type InvitationMailer, type MailStatus, mailInvitation } from '../mail/mailer';
import { invitationMailFor } from '../mail/mail-text';
import { InvitationLinks, type InvitationRef } from '../shared/secrets';
import type { AnswerStorage } from '../shared/command-path/write-pipeline';
import { AddressErasure } from '../shared/erasure/address-erasure';
import { invitationLinkCurrent } from '../mail/current-links';
import { MailLedger, mailNow, mailRequestOf, mailUnlessRecorded, replayOf } from '../mail/mail-ledger';
import { ConcurrencyExhaustedError, DomainException, StreamHandler } from '../shared/command-path/stream-handler';
import { organizationStream, workspaceStream } from '../shared/command-path/stream-states';
import { type WorkspaceRef, loadWorkspace, workspace, workspaceAndOrganization, workspaceCheckingOrganization } from '../shared/command-path/targets';

export interface InvitationAnswer {
  invitationId: string;
  inviteUrl: string;
  expiresAt: string;
  position: string;
  /** what became of its mail by the answer (absent on a replay whose link a resend replaced since) */
  mail?: MailStatus;
  warnings?: string[];
}

/**
 * The answer kept under an Idempotency-Key leaves the link out (a bearer secret: whoever holds it joins the
 * workspace) and keeps what derives it again: the invitation's ids and link version. A `mail` kept `pending` is what
 * the ledger recorded since, absent once the link is no longer `current` (mailNow).
 */
export function invitationAnswerStorage(links: InvitationLinks, ledger: MailLedger | undefined, current: (link: InvitationRef) => Promise<boolean>): AnswerStorage<InvitationAnswer> {
  return {
    stored: ({ inviteUrl, ...rest }) => ({ ...rest, link: links.verify(new URL(inviteUrl).searchParams.get('token') ?? '') }),
    restored: async (stored) => {
      const { link, invitationId, ...rest } = stored as Omit<InvitationAnswer, 'inviteUrl'> & { link: InvitationRef };
      const mail = await mailNow(ledger, rest.mail, { kind: 'invitation', organizationId: link.organizationId, invitationId, linkVersion: link.linkVersion }, rest.position, () => current(link));
      // (the first answer's order: `mail` where it was)
      const answer: InvitationAnswer = { invitationId, inviteUrl: links.url(link), ...rest };
      if (mail === undefined) delete answer.mail;
      else answer.mail = mail;
      return answer;
    },
  };
}

export class InviteMemberCommand {
  constructor(
    readonly ref: WorkspaceRef,
    readonly ctx: CommandContext,
    readonly body: { email: string; roles?: string[]; restrictions?: Restrictions; grants?: string[] },
  ) {}
}


/** whether the address was erased after the command's last event (its email is not sent then: AddressErasure.erasedAfter) */
const erasedAfter = (erasure: AddressErasure | undefined, address: DataSubject, position: string) => async (): Promise<boolean> =>
  (await erasure?.erasedAfter(address, BigInt(position))) ?? false;

/** Rule 6 (docs/rules.md#rule-6): invite by email; the link is handed to the mail relay before the answer (docs/adr/0018). */
@CommandHandler(InviteMemberCommand)
export class InviteMemberHandler implements ICommandHandler<InviteMemberCommand, InvitationAnswer> {
  constructor(
    @Inject(StreamHandler) private readonly streams: StreamHandler,
    @Inject(InvitationLinks) private readonly links: InvitationLinks,
    @Inject(INVITATION_MAILER) private readonly mailer: InvitationMailer,
    @Inject(APP_CONFIG) private readonly config: Config,
    @Optional() @Inject(AddressErasure) private readonly erasure?: AddressErasure,
    @Optional() @Inject(MailLedger) private readonly ledger?: MailLedger,
  ) {}

  async execute({ ref, ctx, body }: InviteMemberCommand): Promise<InvitationAnswer> {
    const newInvitationId = createdId(ctx, 'invitation');
    const decide = () =>
      this.streams.handle(
        workspaceCheckingOrganization(ref),
        ctx,
        (c) =>
          decideWorkspace(
            { type: 'InviteMember', workspaceId: ref.workspaceId, actorId: ctx.actorId, now: ctx.now, invitationId: newInvitationId, ttlSeconds: this.config.invitationTtlSeconds, ...body },
            c,
          ),
        // Every invitation rests on the organization as loaded: one to an address nobody holds, on nobody confirming it
        // as theirs meanwhile (probe 26); one bound to the user who holds it (rule 8), on that user not being deleted
        // meanwhile (probe 27b: decided on a replica's organization from before another replica's deletion, it was
        // appended after it, bound to the deleted user: pending for good, its link refused, its address ALREADY_INVITED).
        // So any write to the organization between the load and the append sends it back, to be decided again.
        { checkLoaded: true },
      );
    const done = await decide().catch(async (error: unknown) => {
      // "already invited" on an invitation whose address another process's deletion erased a moment ago: heard now, decided again
      // (the pending invitation's address under either subject: one sent before session 24 used the shared one)
      if (error instanceof DomainException && error.error.code === 'ALREADY_INVITED' && (await this.erasure?.hearNow(addressSubjects(normalizeEmail(body.email), ref.organizationId))))
        return decide();
      throw error;
    });
    const invited = done.events[0] as Extract<WorkspaceEvent, { type: 'UserInvited' }>;
    // the events' id: a replay of a request an earlier version decided derived it otherwise (probe 40 F1)
    const { invitationId } = invited.data;
    const inviteUrl = this.links.url({ ...ref, invitationId, linkVersion: invited.data.linkVersion });
    // a replay (the request's retry, answered from the log) mails again while its link is the current one and the
    // ledger holds no record of its first attempt's mail: that attempt's process may have died between the commit and
    // the mail (probe 28)
    const link = { kind: 'invitation', organizationId: ref.organizationId, invitationId, linkVersion: invited.data.linkVersion } as const;
    const current = !done.replayed || invitationLinkCurrent(done.context.ws, invitationId, invited.data.linkVersion, Date.now());
    const mail = await mailUnlessRecorded(this.ledger, link, replayOf(done, invited.data.invitedAt), current && (() =>
        mailInvitation(
          this.mailer,
          invitationMailFor(done.context, { to: invited.data.email, access: invited.data.access, actorId: ctx.actorId, inviteUrl, expiresAt: invited.data.expiresAt }),
          erasedAfter(this.erasure, addressSubject(invited.data.email, invited.data.organizationId, invited.data.addressKey, invitationId), done.position),
          undefined,
          (outcome) => this.ledger?.invitationHandedOff(outcome, { organizationId: ref.organizationId, workspaceId: ref.workspaceId, invitationId, linkVersion: link.linkVersion }, mailRequestOf(ctx)),
        )),
      this.config,
    );
    // a replay's warnings are those of the access it invited with (the decider's are not kept in the log)
    const warnings = done.replayed ? grantWarnings(invited.data.access, modelOf(done.context)) : done.warnings;
    return {
      invitationId,
      inviteUrl,
      expiresAt: invited.data.expiresAt,
      position: done.position,
      // what became of its mail by now; absent on a replay whose link a resend replaced since (not mailed again)
      ...(mail && { mail }),
      ...(warnings.length > 0 && { warnings }),
    };
  }
}

export class ResendInvitationCommand {
  constructor(readonly ref: WorkspaceRef, readonly ctx: CommandContext, readonly invitationId: string) {}
}

/** Rule 7: a new link, a new validity period; older links stop working. */
@CommandHandler(ResendInvitationCommand)
export class ResendInvitationHandler implements ICommandHandler<ResendInvitationCommand, InvitationAnswer> {
  constructor(
    @Inject(StreamHandler) private readonly streams: StreamHandler,
    @Inject(InvitationLinks) private readonly links: InvitationLinks,
    @Inject(INVITATION_MAILER) private readonly mailer: InvitationMailer,
    @Inject(APP_CONFIG) private readonly config: Config,
    @Optional() @Inject(AddressErasure) private readonly erasure?: AddressErasure,
    @Optional() @Inject(MailLedger) private readonly ledger?: MailLedger,
  ) {}

  async execute({ ref, ctx, invitationId }: ResendInvitationCommand): Promise<InvitationAnswer> {
    const decide = (c: WorkspaceContext) =>
      decideWorkspace(
        { type: 'ResendInvitation', workspaceId: ref.workspaceId, actorId: ctx.actorId, now: ctx.now, invitationId, ttlSeconds: this.config.invitationTtlSeconds },
        c,
      );
    // an org admin's authority rests on the organization's stream: checked too (targets.ts `workspace`)
    const done = await this.streams.handle(workspace(ref, { actorId: ctx.actorId, decide }, this.streams.states), ctx, decide, { checkLoaded: true });
    const resent = done.events[0] as Extract<WorkspaceEvent, { type: 'InvitationResent' }>;
    const inviteUrl = this.links.url({ ...ref, invitationId, linkVersion: resent.data.linkVersion });
    const inv = done.context.ws.invitations.get(invitationId);
    // a replay mails again while its link is the current one and unrecorded (as an invitation's: probe 28)
    const link = { kind: 'invitation', organizationId: ref.organizationId, invitationId, linkVersion: resent.data.linkVersion } as const;
    const current = !done.replayed || invitationLinkCurrent(done.context.ws, invitationId, resent.data.linkVersion, Date.now());
    const mail =
      inv &&
      hasAddress(inv) &&
      (await mailUnlessRecorded(this.ledger, link, replayOf(done, resent.data.resentAt), current && (() =>
        mailInvitation(
          this.mailer,
          invitationMailFor(done.context, { to: inv.email, access: inv.access, actorId: ctx.actorId, inviteUrl, expiresAt: resent.data.expiresAt }),
          erasedAfter(this.erasure, invitationSubject(done.context.ws, inv), done.position),
          undefined,
          (outcome) => this.ledger?.invitationHandedOff(outcome, { organizationId: ref.organizationId, workspaceId: ref.workspaceId, invitationId, linkVersion: link.linkVersion }, mailRequestOf(ctx)),
        )),
        this.config,
      ));
    return { invitationId, inviteUrl, expiresAt: resent.data.expiresAt, position: done.position, ...(mail && { mail }) };
  }
}

export class CancelInvitationCommand {
  constructor(readonly ref: WorkspaceRef, readonly ctx: CommandContext, readonly invitationId: string) {}
}

/** Rule 7: cancel (the trash can) ends a pending invitation. */
@CommandHandler(CancelInvitationCommand)
export class CancelInvitationHandler implements ICommandHandler<CancelInvitationCommand, { invitationId: string; position: string }> {
  constructor(@Inject(StreamHandler) private readonly streams: StreamHandler) {}

  async execute({ ref, ctx, invitationId }: CancelInvitationCommand) {
    const decide = (c: WorkspaceContext) => decideWorkspace({ type: 'CancelInvitation', workspaceId: ref.workspaceId, actorId: ctx.actorId, now: ctx.now, invitationId }, c);
    const done = await this.streams.handle(workspace(ref, { actorId: ctx.actorId, decide }, this.streams.states), ctx, decide, { checkLoaded: true });
    return { invitationId, position: done.position };
  }
}

/** how often a copy is decided again when the workspace moved between its decision and its record */
const COPY_ATTEMPTS = 5;

/**
 * "Copy invitation link" (rule 7): decided by the domain's authority rules; no decision, but recorded (link-copies.ts)
 * unless `recorded` is false (a HEAD, which hands no link out).
 */
export class GetInvitationLinkCommand {
  constructor(readonly ref: WorkspaceRef, readonly ctx: CommandContext, readonly invitationId: string, readonly recorded = true) {}
}

@CommandHandler(GetInvitationLinkCommand)
export class GetInvitationLinkHandler implements ICommandHandler<GetInvitationLinkCommand> {
  constructor(
    @Inject(StreamHandler) private readonly streams: StreamHandler,
    @Inject(InvitationLinks) private readonly links: InvitationLinks,
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Optional() @Inject(AddressErasure) private readonly erasure?: AddressErasure,
  ) {}

  async execute({ ref, ctx, invitationId, recorded }: GetInvitationLinkCommand) {
    const linkNow = async () => {
      const { context, ws } = await loadWorkspace(this.streams.states, ref);
      const link = invitationLink(context, ctx.actorId, invitationId, ctx.now);
      if (!link.ok) throw new DomainException(link.error);
      return { inv: link.invitation, address: invitationSubject(context.ws, link.invitation), decidedOn: { stream: ws.stream, expected: ws.expected } };
    };
    let { inv, address, decidedOn } = await linkNow();
    // an address another process's deletion erased a moment ago: heard now, and the answer is the log's (410)
    if (await this.erasure?.hearNow([address])) ({ inv, address, decidedOn } = await linkNow());
    // recorded at the workspace's revision it was decided on: a change committed meanwhile decides it again
    for (let attempt = 1; recorded; attempt++)
      try {
        await recordLinkCopied(this.store, ctx, { organizationId: ref.organizationId, workspaceId: ref.workspaceId, invitationId, linkVersion: inv.linkVersion, expiresAt: inv.expiresAt }, decidedOn);
        break;
      } catch (error) {
        if (!(error instanceof WrongExpectedRevisionError)) throw error;
        if (attempt >= COPY_ATTEMPTS) throw new ConcurrencyExhaustedError(decidedOn.stream);
        ({ inv, decidedOn } = await linkNow());
      }
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

export const invalidToken = () =>
  new DomainException(
    domainError('VALIDATION_FAILED', 'The invitation link is not valid; open the link from the latest invitation email.', [
      { field: 'token', message: 'is not a valid invitation token' },
    ]),
  );

/**
 * Rule 8: the org user is created (or the invitee linked) and the member made active in one atomic append to the
 * organization and workspace streams, so no crash leaves half of it and no racing deletion is missed.
 */
@CommandHandler(AcceptInvitationCommand)
export class AcceptInvitationHandler implements ICommandHandler<AcceptInvitationCommand> {
  constructor(
    @Inject(StreamHandler) private readonly streams: StreamHandler,
    @Inject(InvitationLinks) private readonly links: InvitationLinks,
  ) {}

  async execute({ ctx, token, displayName }: AcceptInvitationCommand) {
    const ref = this.links.verify(token);
    if (!ref) throw invalidToken();
    const newUserId = createdId(ctx, 'user');
    const done = await this.streams.handle(
      workspaceAndOrganization(ref),
      ctx,
      (c) => {
        const accepted = decideWorkspace(
          { type: 'AcceptInvitation', workspaceId: ref.workspaceId, now: ctx.now, invitationId: ref.invitationId, linkVersion: ref.linkVersion, newUserId },
          c,
        );
        if (!accepted.ok) return accepted;
        const { userId, email } = (accepted.events[0] as Extract<WorkspaceEvent, { type: 'InvitationAccepted' }>).data;
        const joined = decideOrganization(
          { type: 'JoinOrganization', organizationId: ref.organizationId, actorId: userId, now: ctx.now, newUserId: userId, email, displayName, invitation: { workspaceId: ref.workspaceId, invitationId: ref.invitationId } },
          c.org,
        );
        return joined.ok ? { ...accepted, events: [...joined.events, ...accepted.events] } : joined;
      },
      {
        route: (e) => (isOrganizationEvent(e) ? organizationStream(ref.organizationId) : workspaceStream(ref.workspaceId)),
        // the invitee acts: their (new or linked) user id is the events' actor
        metadata: (events) => ({ actorId: (events.find((e) => e.type === 'InvitationAccepted') as Extract<WorkspaceEvent, { type: 'InvitationAccepted' }>).data.userId }),
      },
    );
    const accepted = done.events.find((e) => e.type === 'InvitationAccepted') as Extract<WorkspaceEvent, { type: 'InvitationAccepted' }> | undefined;
    // a replay read back without its workspace part was a TypeError (replicas e2e, seeds 13, 26, 36 in session 21:
    // states loaded apart, and a stream head the store remembered within its turn; both handled by StreamHandler.readBack);
    // should a part go missing again, the error says where the events were read
    if (!accepted)
      throw new Error(`an acceptance's events hold no InvitationAccepted: ${done.replayed ? `read back from ${done.readFrom}` : 'decided here'}, ${done.events.map((e) => e.type).join(', ') || 'no events'} up to ${done.position}`);
    return { userId: accepted.data.userId, organizationId: ref.organizationId, workspaceId: ref.workspaceId, position: done.position };
  }
}
