// Rule 12 for the read models that keep invitation addresses (members, permission history; docs/adr/0003).
//
// A deletion forgets the keys of the user and of every address they had; the log then reads those addresses as null,
// in every organization. A projection erases the addresses it stored when it folds the UserDeleted. It cannot learn
// them from that event (no personal data in it), nor always from the user's own events: a projector behind the log
// reads the user's join after the deletion shredded it (null), while it read an invitation to them before, in clear.
// What it can always read is the subject each sealed field was sealed under (RecordedEvent.sealedUnder) and the
// subjects the deletion names (`erasedSubjects`): so it remembers, per subject, the addresses it read in clear, and
// looks them up when a deletion names that subject.
//
// A subject of an address within an organization (UserInvited's `addressKey`, docs/adr/0003 "Session 24") erases the
// address in that organization only; the shared subject of invitations sent before session 24, in every organization
// (a subject document without `organizationId`, as every one written before session 24 is). An invitation's own
// subject (since session 41, docs/adr/0024) is not remembered: the erasure that forgets it names the invitation in its
// workspace's events (UserDeletedFromWorkspace, InvitationAddressErased, and InvitationCancelled when pending), which
// the projections follow by id.
import { erasedSubjectsOf } from '@rollcall/event-store';
import { type Doc, type ProjectedEvent, type ProjectionReader, type ProjectionWrite, remove, upsert } from './projection';

/** The addresses read in clear under one subject (an HMAC of the address: normally one), in the projection's collection. */
export interface SubjectAddresses extends Doc {
  emails: string[];
  /** the organization the subject is of (absent: the subject every organization shares) */
  organizationId?: string;
}

/** An erased address, and the organization it is erased in (absent: every organization). */
export interface ErasedAddress {
  email: string;
  organizationId?: string;
}

/**
 * Whether an erasure reaches an invitation's document (of `organizationId`, its address sealed under the subject its
 * `addressKey` says): the shared subject reaches the invitations sent before session 24 (no `addressKey`, documents
 * written before included) in every organization; an organization's subject, that organization's newer ones. By the
 * subject, not the address: a deletion names both subjects of an address (review, session 24: another organization's
 * new invitation was blanked when the shared subject had a document). An invitation under its own key: never by an
 * address (its erasure names it by id).
 */
export const reaches = (erased: ErasedAddress, invitation: { organizationId: string; addressKey?: string }): boolean =>
  erased.organizationId === undefined ? invitation.addressKey === undefined : invitation.addressKey === 'organization' && invitation.organizationId === erased.organizationId;

const subjectDocId = (subject: string) => `subject:${subject}`;

/** An invitation's address read in clear (`field` of the event): kept under its subject in `collection`, once. */
export async function rememberAddress(read: ProjectionReader, collection: string, e: ProjectedEvent, field: string, email: unknown): Promise<ProjectionWrite[]> {
  const subject = e.sealedUnder?.[field];
  const data = e.event.data as { addressKey?: string; organizationId?: string };
  if (typeof email !== 'string' || subject === undefined || data.addressKey === 'invitation') return [];
  const id = subjectDocId(subject);
  const known = await read.get<SubjectAddresses>(collection, id);
  if (known?.emails.includes(email)) return [];
  const organizationId = data.addressKey === 'organization' ? data.organizationId : undefined;
  return [upsert(collection, { _id: id, emails: [...(known?.emails ?? []), email], ...(organizationId !== undefined && { organizationId }) } satisfies SubjectAddresses)];
}

/** The addresses a UserDeleted erased (those remembered under the subjects it names, with their organization), and the writes forgetting them. */
export async function erasedAddresses(read: ProjectionReader, collection: string, e: ProjectedEvent): Promise<{ addresses: ErasedAddress[]; writes: ProjectionWrite[] }> {
  const addresses: ErasedAddress[] = [];
  const writes: ProjectionWrite[] = [];
  for (const subject of erasedSubjectsOf(e.metadata)) {
    const known = await read.get<SubjectAddresses>(collection, subjectDocId(subject));
    if (!known) continue;
    for (const email of known.emails) addresses.push({ email, ...(known.organizationId !== undefined && { organizationId: known.organizationId }) });
    writes.push(remove(collection, known._id));
  }
  return { addresses, writes };
}
