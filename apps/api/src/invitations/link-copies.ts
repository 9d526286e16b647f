import { type EventMetadata, type InvitationLinkCopied, mailStream, toStored } from '@rollcall/domain';
import { type EventStore, newEventId } from '@rollcall/event-store';
import type { CommandContext } from '../shared/command-context';

/**
 * Records a copy of an invitation's current link as `InvitationLinkCopied` on the organization's mail stream, the
 * ledger of how its links reach people (probe 83 F4: a link copied by a manager and accepted left only the invitee's
 * own act in the history). Before the link is answered, as a download's record is (shared/export-ledger.ts): a copy
 * whose record could not be written is refused (the store's fault, a 503), none is handed out unrecorded. Appended with
 * no expected revision: a record decides nothing. The permission history lists it (`invitation_link_copied`), with who
 * copied it, with which key and which request.
 */
export async function recordLinkCopied(
  store: EventStore,
  ctx: CommandContext,
  link: Omit<InvitationLinkCopied['data'], 'copiedAt'>,
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
  await store.append(mailStream(link.organizationId), [{ id, ...toStored(event, metadata) }], 'any');
}
