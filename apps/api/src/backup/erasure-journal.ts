import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { dirname } from 'node:path';
import { JOURNAL_MADE } from './journal-marker';
import { EventStoreUnavailableError } from '../shared/command-path/command-errors';

/**
 * The erasure journal (`ROLLCALL_ERASURE_JOURNAL`, docs/adr/0031): one JSON line per user deletion, address erasure
 * and API key revocation, appended and flushed before the command is answered, in a file kept apart from the data dir (another
 * volume, a path backed up on its own schedule). A restore brings the data dir back as it was at the backup: the users
 * deleted since are readable again, and the keys revoked since authenticate again (probe 62 F2, F3). At start the API
 * decides every journaled deletion, erasure and revocation again that the restored log does not hold (reapply-journal.ts),
 * before it takes any request (address erasures too). Lines hold ids and times only — no name, no address: the journal outlives the data it
 * speaks of, as the log's own pseudonymous remains do.
 */
export type JournalEntry =
  | { kind: 'UserDeleted'; at: string; organizationId: string; userId: string; actorId: string; position: string }
  | { kind: 'ApiKeyRevoked'; at: string; organizationId: string; keyId: string; position: string }
  /**
   * an address erased alone: the invitations it blanked, never the address (a restore finds the address again in
   * those of them its log holds, and erases it again)
   */
  | { kind: 'AddressErased'; at: string; organizationId: string; erasureId: string; actorId: string; invitations: { workspaceId: string; invitationId: string }[]; position: string }
  /**
   * the organization's closing began (docs/adr/0035): a restore closes it again, whole — its deletions alone would be
   * refused the last owner (probe 77 F5)
   */
  | { kind: 'OrganizationClosing'; at: string; organizationId: string; position: string };

export const ERASURE_JOURNAL = Symbol('ErasureJournal');

/**
 * What a file operation's failure was, in a word where it has one (`ENOTDIR`), else its first line: duck-typed, an fs
 * error from another realm is no `instanceof Error` here.
 */
export function failureOf(error: unknown): string {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  return typeof code === 'string' ? code : typeof message === 'string' ? message.split('\n')[0]!.slice(0, 120) : 'unknown';
}

/**
 * The change is in the log, but the journal could not record it yet: 503 as an unconfirmed write, said as what it is
 * (probe 63 F6: the sentence blamed the event store); the journal keeps the entry and writes it as soon as it can. The
 * file's path stays in the server's log.
 */
export class ErasureJournalUnavailableError extends EventStoreUnavailableError {
  constructor(cause: unknown) {
    super('the erasure journal', cause);
    this.message = `The change was made, but the erasure journal could not record it yet (${failureOf(cause)}): this server records it as soon as the journal takes writes (tried every second); a retry with the same Idempotency-Key is answered from the log.`;
  }
}

export class ErasureJournal {
  private handle: Promise<FileHandle> | undefined;
  /** appends in order, one at a time (each line whole, then flushed) */
  private tail: Promise<void> = Promise.resolve();
  /** the last write's failure, until the entries it left are written (/health shows it: probe 63 F6) */
  failing: string | undefined;
  /**
   * lines a failed write left, written (in order, before any later one) as soon as the journal takes writes: an address
   * erasure's retry is answered 410 (about an erased address), so a client's retry could never journal it (probe 64 F9)
   */
  private pending: string[] = [];
  private retry: NodeJS.Timeout | undefined;

  /** `log`: where a failure and the recovery from it are said, naming the file (probe 64 F3) */
  constructor(
    readonly file: string,
    private readonly log: { error(message: string): void; log(message: string): void } = { error: () => undefined, log: () => undefined },
  ) {}

  /**
   * Appends the entry and flushes it. A failure is reported as an unconfirmed write (ErasureJournalUnavailableError):
   * the change is in the log, but not yet where a restore would find it; the entry is kept and written, with those
   * after it, as soon as the journal takes writes (tried every second while this process runs).
   */
  record(entry: JournalEntry): Promise<void> {
    // a newline first: a line a crash cut short (this process's or another replica's) ends there, and this entry is a
    // line of its own (probe 63 F1: appended onto the cut one, it was skipped with it, and its erasure never re-applied)
    this.pending.push(`\n${JSON.stringify(entry)}\n`);
    return this.writePending();
  }

  /** writes what is pending, in order; a failure keeps it pending and tries again in a second */
  private writePending(): Promise<void> {
    const next = this.tail.then(async () => {
      if (this.pending.length === 0) return;
      // the lines pending now, and only those, are this write's: one recorded while it is awaited is the next write's
      // (probe 122 F1: the whole list was emptied after the write, and such an entry was answered as journaled — lost:
      // 16 of 60 deletions sent 12 at a time, 28 of 40 key revocations)
      const lines = this.pending.length;
      try {
        this.handle ??= this.openFile();
        const handle = await this.handle;
        await handle.appendFile(this.pending.slice(0, lines).join(''), 'utf8');
        await handle.datasync();
        if (this.failing !== undefined) this.log.log(`erasure journal ${this.file}: writable again, ${lines} entries written`);
        this.pending.splice(0, lines);
        this.failing = undefined;
      } catch (error) {
        this.handle = undefined; // opened again at the next try (the disk may be back)
        if (this.failing === undefined) this.log.error(`erasure journal ${this.file} cannot be written (${(error as Error).message}): ${this.pending.length} entries kept to be written, tried every second`);
        this.failing = `${this.file}: ${(error as Error).message}`;
        this.retry ??= setTimeout(() => {
          this.retry = undefined;
          void this.writePending().catch(() => undefined);
        }, 1000).unref();
        throw new ErasureJournalUnavailableError(error);
      }
    });
    this.tail = next.catch(() => undefined);
    return next;
  }

  /** The entries, in the order they were journaled; a line cut short by a crash (the last one) is skipped and counted. */
  read(): { entries: JournalEntry[]; unreadable: number } {
    let text: string;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { entries: [], unreadable: 0 };
      throw error;
    }
    const entries: JournalEntry[] = [];
    let unreadable = 0;
    for (const line of text.split('\n')) {
      if (line.trim() === '' || line.startsWith(JOURNAL_MADE)) continue;
      const entry = parse(line);
      if (entry) entries.push(entry);
      else unreadable++;
    }
    return { entries, unreadable };
  }

  /**
   * Makes the file with its first line, the journal's own id (a start that finds none beside a data dir that never
   * used one, or an empty file: reapply-journal.ts), which the data dir's marker records: a journal replaced by another
   * file, or made anew at the same path, is told apart from it (probe 117 F1; journal-marker.ts). A replica that made
   * it first wins; its line is kept.
   */
  create(): void {
    mkdirSync(dirname(this.file), { recursive: true, mode: 0o700 });
    const header = `${JOURNAL_MADE}${JSON.stringify(randomUUID())},"at":${JSON.stringify(new Date().toISOString())}}\n`;
    try {
      if (existsAndEmpty(this.file)) writeFileSync(this.file, header, { flag: 'a', mode: 0o600 });
      else writeFileSync(this.file, header, { flag: 'wx', mode: 0o600 });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }

  async close(): Promise<void> {
    clearTimeout(this.retry);
    await this.writePending().catch(() => this.log.error(`erasure journal ${this.file}: ${this.pending.length} entries could not be written before the stop (their changes are in the log; a restore from a backup taken before them would not re-apply them)`));
    const handle = this.handle;
    this.handle = undefined;
    if (handle) await (await handle.catch(() => undefined))?.close();
  }

  private async openFile(): Promise<FileHandle> {
    mkdirSync(dirname(this.file), { recursive: true, mode: 0o700 });
    return open(this.file, 'a', 0o600);
  }
}

const existsAndEmpty = (file: string): boolean => {
  try {
    return statSync(file).size === 0;
  } catch {
    return false;
  }
};

const isId = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= 200;

function parse(line: string): JournalEntry | undefined {
  let v: Record<string, unknown>;
  try {
    v = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if (!v || typeof v !== 'object' || !isId(v.organizationId) || !isId(v.at) || !isId(v.position)) return undefined;
  if (v.kind === 'UserDeleted' && isId(v.userId) && isId(v.actorId)) return v as JournalEntry;
  if (v.kind === 'ApiKeyRevoked' && isId(v.keyId)) return v as JournalEntry;
  if (v.kind === 'OrganizationClosing') return v as JournalEntry;
  if (v.kind === 'AddressErased' && isId(v.erasureId) && isId(v.actorId) && Array.isArray(v.invitations) && v.invitations.every((i: { workspaceId?: unknown; invitationId?: unknown }) => isId(i?.workspaceId) && isId(i?.invitationId)))
    return v as JournalEntry;
  return undefined;
}
