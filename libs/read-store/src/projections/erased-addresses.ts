// Rule 12 for the read models that keep invitation addresses (members, permission history; docs/adr/0003).
//
// A deletion forgets the keys of the user and of every address they had; the log then reads those addresses as null,
// in every organization. A projection erases the addresses it stored when it folds the UserDeleted. It cannot learn
// them from that event (no personal data in it), nor always from the user's own events: a projector behind the log
// reads the user's join after the deletion shredded it (null), while it read an invitation to them before, in clear.
// What it can always read is the subject each sealed field was sealed under (RecordedEvent.sealedUnder) and the
// subjects the deletion names (`erasedSubjects`): so it remembers, per subject, the addresses it read in clear, and
// looks them up when a deletion names that subject.
import { erasedSubjectsOf } from '@rollcall/event-store';
import { type Doc, type ProjectedEvent, type ProjectionReader, type ProjectionWrite, remove, upsert } from './projection';

/** The addresses read in clear under one subject (an HMAC of the address: normally one), in the projection's collection. */
export interface SubjectAddresses extends Doc {
  emails: string[];
}

const subjectDocId = (subject: string) => `subject:${subject}`;

/** An invitation's address read in clear (`field` of the event): kept under its subject in `collection`, once. */
export async function rememberAddress(read: ProjectionReader, collection: string, e: ProjectedEvent, field: string, email: unknown): Promise<ProjectionWrite[]> {
  const subject = e.sealedUnder?.[field];
  if (typeof email !== 'string' || subject === undefined) return [];
  const id = subjectDocId(subject);
  const known = await read.get<SubjectAddresses>(collection, id);
  if (known?.emails.includes(email)) return [];
  return [upsert(collection, { _id: id, emails: [...(known?.emails ?? []), email] } satisfies SubjectAddresses)];
}

/** The addresses a UserDeleted erased (those remembered under the subjects it names), and the writes forgetting them. */
export async function erasedAddresses(read: ProjectionReader, collection: string, e: ProjectedEvent): Promise<{ emails: string[]; writes: ProjectionWrite[] }> {
  const emails: string[] = [];
  const writes: ProjectionWrite[] = [];
  for (const subject of erasedSubjectsOf(e.metadata)) {
    const known = await read.get<SubjectAddresses>(collection, subjectDocId(subject));
    if (!known) continue;
    emails.push(...known.emails);
    writes.push(remove(collection, known._id));
  }
  return { emails, writes };
}
