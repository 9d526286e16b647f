import { type OrganizationState, SYSTEM_ACTOR, hasAddress, isOrgAdmin } from '@rollcall/domain';
import { EraseAddressCommand, type EraseAddressHandler } from '../address-erasures/erase-address';
import type { Logger } from 'pino';
import { RevokeApiKeyCommand, type RevokeApiKeyHandler } from '../organizations/api-keys';
import { newCommandContext } from '../shared/command-path/command-context';
import { DomainException } from '../shared/command-path/command-errors';
import type { StreamStates } from '../shared/command-path/stream-states';
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { ConfigError } from '../settings';
import { DeleteUserCommand, type DeleteUserHandler } from '../users/user-handlers';
import type { OrganizationClosings } from '../organizations/close-organization';
import { type ErasureJournal, type JournalEntry, failureOf } from './erasure-journal';
import { journalIdOf, journalMarker, journalUsedBy } from './journal-marker';

export interface Reapplied {
  /** entries the log did not hold, decided again and written */
  reapplied: number;
  /** entries the log did not hold and their command refused: each logged with what the operator does */
  refused: number;
  /** lines cut short (a crash while one was written) */
  unreadable: number;
}

/** The handlers that decide a journaled entry again (called directly: the command bus takes commands once the app is initialized, after this runs) */
export interface JournalHandlers {
  deleteUser: Pick<DeleteUserHandler, 'execute'>;
  revokeApiKey: Pick<RevokeApiKeyHandler, 'execute'>;
  eraseAddress: Pick<EraseAddressHandler, 'execute'>;
  /** absent: a journal of no closing (tests that build the handlers alone) */
  closeOrganization?: Pick<OrganizationClosings, 'close'>;
}

/** a closing done again after a restore works until it is done, however long (nothing is served meanwhile) */
const CLOSE_AGAIN_BUDGET_MS = 24 * 3600_000;

/**
 * At start, before any request (bootstrap.ts): every journaled deletion, address erasure and revocation that the log
 * does not hold — a data dir restored from a backup taken before it — is decided again: a deletion or an erasure by
 * the admin who made it while the restored state has them as one, else by the system; a revocation by the system;
 * each under an Idempotency-Key of its own (a duplicate line is answered from the log; replicas starting together
 * write it once). One the
 * restored state refuses (the user now the last owner of a workspace, the key now the organization's last) is logged
 * as an error naming what to do; the start goes on. ErasureJournal says why (probe 62 F2, F3).
 */
export async function reapplyJournal(journal: ErasureJournal, states: StreamStates, handlers: JournalHandlers, log: Logger, dataDir: string): Promise<Reapplied> {
  journalPresent(journal, dataDir, log);
  let read: ReturnType<ErasureJournal['read']>;
  try {
    read = journal.read();
  } catch (error) {
    // a start that cannot read its journal would serve again, after a restore, what it says was erased: refused (exit 78)
    throw new ConfigError([`ROLLCALL_ERASURE_JOURNAL ${journal.file} cannot be read (${failureOf(error)}): make it readable, or unset it knowing that a restored data dir then serves again what was erased since its backup`]);
  }
  const { entries, unreadable } = read;
  if (unreadable > 0) log.warn({ journal: journal.file, unreadable }, 'erasure journal: lines that are not whole entries skipped (one cut short by a crash is expected)');
  const result: Reapplied = { reapplied: 0, refused: 0, unreadable };
  for (const entry of entries) {
    const org = await states.organizationCached(entry.organizationId);
    if (!org.exists) continue; // an organization the restored log does not hold: nothing of it to erase or revoke
    // an address erased: the addresses its invitations still hold in the restored log (one, but for forms told apart before ADR 0017)
    const addresses = entry.kind === 'AddressErased' ? await addressesStillHeld(states, org, entry.invitations) : [];
    const missing =
      entry.kind === 'UserDeleted'
        ? org.users.get(entry.userId)?.deleted === false
        : entry.kind === 'ApiKeyRevoked'
          ? org.apiKeys.has(entry.keyId)
          : entry.kind === 'OrganizationClosing'
            ? org.closedAt === undefined
            : addresses.length > 0;
    if (!missing) continue;
    try {
      if (entry.kind === 'OrganizationClosing') await handlers.closeOrganization?.close(entry.organizationId, org.name, keyOf(entry), CLOSE_AGAIN_BUDGET_MS);
      else if (entry.kind === 'UserDeleted') await handlers.deleteUser.execute(deletionOf(entry, org));
      else if (entry.kind === 'ApiKeyRevoked') await handlers.revokeApiKey.execute(revocationOf(entry));
      else for (const [i, email] of addresses.entries()) await handlers.eraseAddress.execute(erasureOf(entry, email, i, org));
      result.reapplied++;
      log.warn({ journal: journal.file, entry }, `erasure journal: ${describe(entry)} was not in the log (restored from a backup taken before it?): done again`);
    } catch (error) {
      if (!(error instanceof DomainException)) throw error;
      result.refused++;
      log.error({ journal: journal.file, entry, code: error.error.code }, `erasure journal: ${describe(entry)} is not in the log and was refused now (${error.message}) — ${remedy(entry)}`);
    }
  }
  if (result.reapplied + result.refused > 0) log.warn({ journal: journal.file, ...result }, 'erasure journal: entries the log did not hold');
  else log.info({ journal: journal.file, entries: entries.length }, 'erasure journal: every entry is in the log');
  return result;
}

/**
 * A data dir that used a journal says so (`erasure-journal-used`, copied with it into its backups): a journal missing
 * then is lost or not mounted, and a start without it would serve again what it says was erased — refused (exit 78;
 * probe 64 F6: read as empty, silently). A journal missing beside a data dir that never used one is new: made now. (A
 * data dir that used one, started without the variable or with another journal: journal-marker.ts, at the start's first checks.)
 */
function journalPresent(journal: ErasureJournal, dataDir: string, log: Logger): void {
  const marker = journalMarker(dataDir);
  if (!existsSync(journal.file)) {
    const used = journalUsedBy(dataDir);
    if (used)
      throw new ConfigError([
        `ROLLCALL_ERASURE_JOURNAL ${journal.file} does not exist, but this data dir has used an erasure journal${used.journal ? ` (${used.journal})` : ''} (${marker}): mount or restore it — started without it, a data dir restored from a backup serves again what was erased since. To start with a new, empty journal, remove ${marker}`,
      ]);
    try {
      journal.create();
    } catch (error) {
      throw new ConfigError([`ROLLCALL_ERASURE_JOURNAL ${journal.file} cannot be made (${failureOf(error)}): give a path this process may write, outside the data dir`]);
    }
    log.info({ journal: journal.file }, 'erasure journal: made (none was there, and this data dir never used one)');
  } else if (!existsSync(marker) && statSync(journal.file).size === 0) journal.create(); // an empty file made for it: its id first
  // the journal's path and id (journal-marker.ts compares both at the next start; a journal made before session 67 has no id)
  if (!existsSync(marker)) writeFileSync(marker, `${journal.file}\n${journalIdOf(journal.file) ?? ''}\n`, { mode: 0o600 });
}

const keyOf = (entry: JournalEntry) => `erasure-journal:${entry.kind}:${entry.organizationId}:${subjectOf(entry)}`;
const subjectOf = (entry: JournalEntry): string =>
  entry.kind === 'UserDeleted' ? entry.userId : entry.kind === 'ApiKeyRevoked' ? entry.keyId : entry.kind === 'OrganizationClosing' ? entry.at : entry.erasureId;

/**
 * who decides a deletion or an erasure again: the admin who made it, while the restored state has them as one; else the
 * system (probe 64 F2: one made admin after the backup was refused, and the erasure left undone)
 */
const actorOf = (entry: { actorId: string }, org: OrganizationState) => (isOrgAdmin(org, entry.actorId) ? entry.actorId : SYSTEM_ACTOR);

const deletionOf = (entry: Extract<JournalEntry, { kind: 'UserDeleted' }>, org: OrganizationState) =>
  new DeleteUserCommand(entry.organizationId, newCommandContext({ actorId: actorOf(entry, org), idempotencyKey: keyOf(entry) }), entry.userId);
const revocationOf = (entry: Extract<JournalEntry, { kind: 'ApiKeyRevoked' }>) =>
  new RevokeApiKeyCommand(entry.organizationId, newCommandContext({ actorId: SYSTEM_ACTOR, idempotencyKey: keyOf(entry) }), entry.keyId);

/**
 * the key names the address by its place among those found, never by itself: the key is recorded in the metadata of
 * every event the erasure appends, for good (probe 64 F1: the address was written in clear into the log)
 */
const erasureOf = (entry: Extract<JournalEntry, { kind: 'AddressErased' }>, email: string, index: number, org: OrganizationState) =>
  new EraseAddressCommand(entry.organizationId, newCommandContext({ actorId: actorOf(entry, org), idempotencyKey: `${keyOf(entry)}:${index}` }), email);

/** the addresses the journaled invitations still hold in the restored log (an erased one holds none) */
async function addressesStillHeld(states: StreamStates, org: OrganizationState, invitations: { workspaceId: string; invitationId: string }[]): Promise<string[]> {
  const found = new Set<string>();
  for (const { workspaceId, invitationId } of invitations) {
    const inv = (await states.workspaceCached(org, workspaceId))?.invitations.get(invitationId);
    if (inv && hasAddress(inv)) found.add(inv.email);
  }
  return [...found];
}

const describe = (entry: JournalEntry) =>
  entry.kind === 'OrganizationClosing'
    ? `the closing of organization ${entry.organizationId} (begun at ${entry.at})`
    : entry.kind === 'UserDeleted'
    ? `the deletion of user ${entry.userId} of organization ${entry.organizationId} (at ${entry.at})`
    : entry.kind === 'ApiKeyRevoked'
      ? `the revocation of API key ${entry.keyId} of organization ${entry.organizationId} (at ${entry.at})`
      : `the erasure ${entry.erasureId} of an address of organization ${entry.organizationId} (at ${entry.at})`;

const remedy = (entry: JournalEntry) =>
  entry.kind === 'OrganizationClosing'
    ? 'the organization is open again: close it again with the system key (POST /v1/organizations/{org}/close)'
    : entry.kind === 'UserDeleted'
    ? 'the user is readable again: have an org admin delete them once what refused it is resolved'
    : entry.kind === 'ApiKeyRevoked'
      ? "the key authenticates again: issue another key with the system key (POST /v1/organizations/{org}/api-keys), then revoke this one"
      : 'the address is readable again in its invitations: have an org admin erase it again (POST /v1/organizations/{org}/address-erasures)';
