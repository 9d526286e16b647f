import { type EventMetadata, type InvitationLinkCopied, mailStream, toStored } from '@rollcall/domain';
import { type EventStore, type ExpectedRevision, newEventId } from '@rollcall/event-store';
import type { CommandContext } from '../shared/command-path/command-context';

/**
 * Records a copy of an invitation's current link as `InvitationLinkCopied` on the organization's mail stream, the
 * ledger of how its links reach people (probe 83 F4: a link copied by a manager and accepted left only the invitee's
 * own act in the history). Before the link is answered, as a download's record is (shared/export-ledger.ts): a copy
 * whose record could not be written is refused (the store's fault, a 503), none is handed out unrecorded. Appended with
 * no expected revision, but with the workspace's stream checked at the revision the copy was decided on (`decidedOn`):
 * an acceptance or a cancel committed meanwhile fails the append (WrongExpectedRevisionError), and the copy is decided
 * again — refused then, as the invitation is no longer pending (probe 84 F4: a copy racing them answered a live link
 * and was recorded after the invitation's end). The permission history lists it (`invitation_link_copied`), with who
 * copied it, with which key and which request.
 */
export async function recordLinkCopied(
  store: EventStore,
  ctx: CommandContext,
  link: Omit<InvitationLinkCopied['data'], 'copiedAt'>,
  decidedOn: { stream: string; expected: ExpectedRevision },
): Promise<void> {
  const id = newEventId();
  const copiedAt = new Date().toISOString();
  const event: InvitationLinkCopied = { type: 'InvitationLinkCopied', version: 1, data: { ...link, copiedAt } };
  const metadata: EventMetadata = {
    actorId: ctx.actorId,
    correlationId: ctx.correlationId,
    causationId: id,
    idempotencyKey: `link-copy:${id}`,
    occurredAt: copiedAt,
    ...(ctx.apiKey && { apiKeyId: ctx.apiKey.keyId }),
  };
  await store.appendMany([
    { stream: mailStream(link.organizationId), events: [{ id, ...toStored(event, metadata) }], expected: 'any' },
    { ...decidedOn, events: [] },
  ]);
}
