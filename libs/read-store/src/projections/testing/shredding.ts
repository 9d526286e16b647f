import { normalizeEmail, personalFieldsOf, type DataSubject } from '@rollcall/domain';
import type { RecordedEvent } from '@rollcall/event-store';

const subjectId = (s: DataSubject): string => (s.kind === 'user' ? `u:${s.userId}` : `e:${normalizeEmail(s.email)}`);

/**
 * The log as the crypto-shredding event store reads it back after the deletions it contains: when a user is
 * deleted, the keys of the user and of every email address they had are forgotten, so the personal fields
 * written under those keys (before the deletion) read as null. A subject seen again later gets a new key.
 */
export function shredded(events: readonly RecordedEvent[]): RecordedEvent[] {
  const emailsOf = new Map<string, Set<string>>();
  const lastForget = new Map<string, bigint>();
  for (const e of events) {
    const d = e.data as { userId?: string; email?: unknown; changes?: { email?: unknown } };
    const email =
      e.type === 'UserJoinedOrganization' || e.type === 'EmailChangeConfirmed' ? d.email : e.type === 'UserProfileUpdated' ? d.changes?.email : undefined;
    if (typeof email === 'string') emailsOf.set(d.userId!, new Set([...(emailsOf.get(d.userId!) ?? []), email]));
    if (e.type === 'UserDeleted') {
      lastForget.set(subjectId({ kind: 'user', userId: d.userId! }), e.position);
      for (const known of emailsOf.get(d.userId!) ?? []) lastForget.set(subjectId({ kind: 'email', email: known }), e.position);
    }
  }
  return events.map((e) => {
    const erased = personalFieldsOf(e.type, e.data).filter((f) => (lastForget.get(subjectId(f.subject)) ?? -1n) > e.position);
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
