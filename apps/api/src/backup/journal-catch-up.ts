import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EventStore, RecordedEvent } from '@rollcall/event-store';
import { SYSTEM_ACTOR } from '@rollcall/domain';
import type { Logger } from 'pino';
import { type ErasureJournal, type JournalEntry, failureOf } from './erasure-journal';

/**
 * `erasure-journal-checked` in a data dir: the log's head when the journal was last caught up with the log (below). A
 * start reads the log from there on, by event type; without it (a data dir from before, or a first start) from the
 * log's start: on the embedded store an index range over these few types, on KurrentDB a filtered read of `$all`.
 */
export const journalCheckedMark = (dataDir: string): string => join(dataDir, 'erasure-journal-checked');

const ERASURE_TYPES = ['UserDeleted', 'ApiKeyRevoked', 'AddressErased', 'InvitationAddressErased', 'OrganizationClosing'];

/**
 * At start, after the journal's entries were decided again (reapply-journal.ts): the deletions, address erasures, key
 * revocations and closings the log holds and the journal does not — a process that died between a change's append and
 * its line (probe 122 F4: only the client's retry journaled it; one that gave up left a deletion a later restore undid)
 * — are journaled now, before any request. A line more than needed (another replica writing it too) is harmless: a
 * restore finds it done. Returns how many were journaled.
 */
export async function journalWhatTheLogHolds(journal: ErasureJournal, events: EventStore, dataDir: string, log: Logger): Promise<number> {
  const mark = journalCheckedMark(dataDir);
  const from = checkedThrough(mark);
  const head = await events.headPosition();
  // read again, not taken from reapply-journal.ts: its re-decided entries are lines by now, and in the log
  const journaled = new Set(journal.read().entries.map(subjectOf));
  const found: JournalEntry[] = [];
  // an address erasure's invitations are in the InvitationAddressErased events of its append: its organization and time
  const invitationsErased = new Map<string, { workspaceId: string; invitationId: string }[]>();
  for await (const e of events.readAll({ ...(from !== undefined && { fromPosition: from }), filter: { eventTypes: ERASURE_TYPES }, personalData: 'sealed' })) {
    if (e.position > head) break;
    if (e.type === 'InvitationAddressErased') {
      const d = e.data as { organizationId: string; workspaceId: string; invitationIds: string[]; erasedAt: string };
      const key = `${d.organizationId}:${d.erasedAt}`;
      const list = invitationsErased.get(key) ?? invitationsErased.set(key, []).get(key)!;
      for (const invitationId of d.invitationIds) list.push({ workspaceId: d.workspaceId, invitationId });
    } else found.push(entryOf(e));
  }
  const missing = found
    .map((entry) => (entry.kind === 'AddressErased' ? { ...entry, invitations: invitationsErased.get(`${entry.organizationId}:${entry.at}`) ?? [] } : entry))
    .filter((entry) => !journaled.has(subjectOf(entry)));
  try {
    for (const entry of missing) await journal.record(entry);
  } catch (error) {
    // kept by the journal and written as soon as it takes lines; the mark stays, so the next start looks again
    log.error({ journal: journal.file, missing: missing.length }, `erasure journal: changes the log holds could not be journaled yet (${failureOf(error)})`);
    return 0;
  }
  // (an empty log's head is -1: nothing read, nothing to mark)
  if (head >= 0n) writeFileSync(mark, `${head}\n`, { mode: 0o600 });
  if (missing.length > 0)
    log.warn({ journal: journal.file, journaled: missing.length, entries: missing }, 'erasure journal: changes the log holds were not journaled (the process stopped between their append and their line): journaled now');
  return missing.length;
}

/** the position the mark holds; undefined without one (or one that is no position: read from the start) */
function checkedThrough(mark: string): bigint | undefined {
  try {
    const text = readFileSync(mark, 'utf8').trim();
    return /^\d{1,19}$/.test(text) ? BigInt(text) : undefined;
  } catch {
    return undefined;
  }
}

/** the journal's entry for a change of the log (its invitations, for an address erasure, filled in by the caller) */
function entryOf(e: RecordedEvent): JournalEntry {
  const d = e.data as Record<string, string>;
  const position = e.position.toString();
  const actorId = typeof e.metadata.actorId === 'string' ? e.metadata.actorId : SYSTEM_ACTOR;
  if (e.type === 'UserDeleted') return { kind: 'UserDeleted', at: d.deletedAt!, organizationId: d.organizationId!, userId: d.userId!, actorId: d.deletedBy ?? actorId, position };
  if (e.type === 'ApiKeyRevoked') return { kind: 'ApiKeyRevoked', at: d.revokedAt!, organizationId: d.organizationId!, keyId: d.keyId!, position };
  if (e.type === 'OrganizationClosing') return { kind: 'OrganizationClosing', at: d.startedAt!, organizationId: d.organizationId!, position };
  return { kind: 'AddressErased', at: d.erasedAt!, organizationId: d.organizationId!, erasureId: d.erasureId!, actorId, invitations: [], position };
}

/** what a journal entry is about, whatever its line says besides */
const subjectOf = (entry: JournalEntry): string =>
  `${entry.kind}:${entry.organizationId}:${entry.kind === 'UserDeleted' ? entry.userId : entry.kind === 'ApiKeyRevoked' ? entry.keyId : entry.kind === 'AddressErased' ? entry.erasureId : ''}`;
