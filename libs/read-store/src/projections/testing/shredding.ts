import { deletionSubjects, normalizeEmail, personalFieldsOf, type DataSubject } from '@rollcall/domain';
import type { RecordedEvent } from '@rollcall/event-store';

/** the tests' stand-in for the store's subject ids (an HMAC of the invitation, of the organization and the address there, or of the address alone) */
export const subjectId = (s: DataSubject): string =>
  s.kind === 'user'
    ? `u:${s.userId}`
    : s.organizationId === undefined
      ? `e:${normalizeEmail(s.email)}`
      : s.invitationId === undefined
        ? `a:${s.organizationId}:${normalizeEmail(s.email)}`
        : `i:${s.organizationId}:${s.invitationId}`;

/** The event as the crypto-shredding store reads it: each personal field says the subject it was sealed under. */
export function withSealedUnder(e: RecordedEvent): RecordedEvent {
  const fields = personalFieldsOf(e.type, e.data);
  if (fields.length === 0) return e;
  return { ...e, sealedUnder: Object.fromEntries(fields.flatMap((f) => f.paths.map((path) => [path, subjectId(f.subject)]))) };
}

/**
 * The log as the crypto-shredding event store reads it back after the deletions it contains: when a user is
 * deleted, the keys of the user and of every email address they had in their organization are forgotten (and the shared
 * one of an address the organization's older invitations went to: addressesSealedUnder; and the own key of each
 * invitation its UserDeletedFromWorkspace names, for invitations sealed so since session 41), so the personal fields
 * written under those keys (before the deletion) read as null. A subject seen again later gets a new key. As that
 * store does, each event says which subject each of its personal fields was sealed under (`sealedUnder`), and each
 * UserDeleted names the subjects its deletion forgot (`erasedSubjects`, as the API writes it).
 */
export function shredded(events: readonly RecordedEvent[]): RecordedEvent[] {
  const emailsOf = new Map<string, Set<string>>();
  /** per organization, the addresses its invitations sent before session 24 went to (their subject is the shared one) */
  const sharedOf = new Map<string, Set<string>>();
  const lastForget = new Map<string, bigint>();
  const erasedBy = new Map<bigint, string[]>();
  /** invitations sealed under their own key (since session 41), and those the deletion being read names (UserDeletedFromWorkspace) */
  const ownKeyed = new Set<string>();
  let named: string[] = [];
  for (const e of events) {
    const d = e.data as { userId?: string; email?: unknown; changes?: { email?: unknown } };
    const email =
      e.type === 'UserJoinedOrganization' || e.type === 'EmailChangeConfirmed' ? d.email : e.type === 'UserProfileUpdated' ? d.changes?.email : undefined;
    if (typeof email === 'string') emailsOf.set(d.userId!, new Set([...(emailsOf.get(d.userId!) ?? []), email]));
    const invited = e.data as { organizationId?: string; email?: unknown; addressKey?: string; invitationId?: string };
    if (e.type === 'UserInvited' && typeof invited.email === 'string' && invited.addressKey === undefined)
      sharedOf.set(invited.organizationId!, new Set([...(sharedOf.get(invited.organizationId!) ?? []), invited.email]));
    if (e.type === 'UserInvited' && invited.addressKey === 'invitation') ownKeyed.add(invited.invitationId!);
    if (e.type === 'UserDeletedFromWorkspace') {
      const { organizationId, invitationIds } = e.data as { organizationId: string; invitationIds: string[] };
      for (const invitationId of invitationIds) if (ownKeyed.has(invitationId)) named.push(subjectId({ kind: 'email', email: '', organizationId, invitationId }));
    }
    // an address's erasure names what it forgot (as the API writes it)
    if (e.type === 'AddressErased') for (const subject of (e.metadata.erasedSubjects as string[] | undefined) ?? []) lastForget.set(subject, e.position);
    if (e.type === 'UserDeleted') {
      const organizationId = (e.data as { organizationId: string }).organizationId;
      const emails = [...(emailsOf.get(d.userId!) ?? [])];
      const shared = emails.filter((email) => sharedOf.get(organizationId)?.has(email));
      // and the own key of every invitation its workspaces' events named (erasedInvitationSubjects)
      const forgotten = [...deletionSubjects(d.userId!, organizationId, emails, shared).map(subjectId), ...named];
      named = [];
      for (const subject of forgotten) lastForget.set(subject, e.position);
      erasedBy.set(e.position, forgotten);
    }
  }
  return events.map((e) => {
    const fields = personalFieldsOf(e.type, e.data);
    const erasedSubjects = erasedBy.get(e.position);
    e = withSealedUnder(e);
    if (erasedSubjects && e.metadata.erasedSubjects === undefined) e = { ...e, metadata: { ...e.metadata, erasedSubjects } };
    const erased = fields.filter((f) => (lastForget.get(subjectId(f.subject)) ?? -1n) > e.position);
    if (erased.length === 0) return e;
    const data = structuredClone(e.data) as Record<string, unknown>;
    for (const path of erased.flatMap((f) => f.paths)) {
      const keys = path.split('.');
      let target: Record<string, unknown> | undefined = data;
      for (const key of keys.slice(0, -1)) target = target?.[key] as Record<string, unknown> | undefined;
      if (target && keys.at(-1)! in target) target[keys.at(-1)!] = null;
    }
    return { ...e, data };
  });
}
