import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { domainError, initialOrganizationState, type OrganizationState } from '@rollcall/domain';
import { createLogger } from '../logging';
import { DomainException } from '../shared/command-path/command-errors';
import type { StreamStates } from '../shared/command-path/stream-states';
import { captureLogLines } from '../shared/testing/log-capture';
import { ErasureJournal } from './erasure-journal';
import { journalIdOf } from './journal-marker';
import { reapplyJournal } from './reapply-journal';

const at = '2026-12-06T01:00:00.000Z';

describe('the erasure journal (ADR 0031)', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'rollcall-journal-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('appends whole lines, in order, to a file only its owner reads; a line cut short by a crash is skipped and counted', async () => {
    const journal = new ErasureJournal(join(dir, 'kept', 'erasures.jsonl'));
    await Promise.all([
      journal.record({ kind: 'UserDeleted', at, organizationId: 'o1', userId: 'u1', actorId: 'admin', position: '7' }),
      journal.record({ kind: 'ApiKeyRevoked', at, organizationId: 'o1', keyId: 'k1', position: '8' }),
    ]);
    await journal.close();
    appendFileSync(journal.file, '{"kind":"UserDeleted","at":"2026');
    expect(statSync(journal.file).mode & 0o777).toBe(0o600);
    // an entry journaled after the cut line (this process restarted, or another replica) is whole (probe 63 F1)
    const after = new ErasureJournal(journal.file);
    await after.record({ kind: 'UserDeleted', at, organizationId: 'o1', userId: 'u2', actorId: 'admin', position: '9' });
    await after.close();
    const { entries, unreadable } = journal.read();
    expect(entries.map((e) => e.kind)).toEqual(['UserDeleted', 'ApiKeyRevoked', 'UserDeleted']);
    expect(unreadable).toBe(1);
    expect(new ErasureJournal(join(dir, 'none.jsonl')).read()).toEqual({ entries: [], unreadable: 0 });
  });

  it('an entry recorded while an earlier one is being written is written too, not dropped with the written ones (probe 122 F1)', async () => {
    const journal = new ErasureJournal(join(dir, 'erasures.jsonl'));
    const recorded: Promise<void>[] = [];
    // entries arriving one by one, each while the write of those before it is awaited (a file append, then a flush)
    for (let i = 0; i < 60; i++) {
      recorded.push(journal.record({ kind: 'UserDeleted', at, organizationId: 'o1', userId: `u${i}`, actorId: 'admin', position: String(i + 1) }));
      await new Promise((resolve) => setImmediate(resolve));
    }
    await Promise.all(recorded);
    await journal.close();
    const userIds = journal.read().entries.map((e) => (e.kind === 'UserDeleted' ? e.userId : ''));
    expect(userIds).toEqual(Array.from({ length: 60 }, (_, i) => `u${i}`));
  });

  it('at start: decides again what the log lacks (a deletion by its admin, a revocation by the system), skips what it holds, logs what is refused with the remedy', async () => {
    const journal = new ErasureJournal(join(dir, 'erasures.jsonl'));
    const entries = [
      { kind: 'UserDeleted', at, organizationId: 'o1', userId: 'back-again', actorId: 'admin', position: '90' },
      // its admin is one no more in the restored state: the system decides it again (probe 64 F2)
      { kind: 'UserDeleted', at, organizationId: 'o1', userId: 'also-back', actorId: 'admin-since-gone', position: '92' },
      { kind: 'UserDeleted', at, organizationId: 'o1', userId: 'still-deleted', actorId: 'admin', position: '5' },
      { kind: 'UserDeleted', at, organizationId: 'o-unknown', userId: 'x', actorId: 'admin', position: '95' },
      { kind: 'ApiKeyRevoked', at, organizationId: 'o1', keyId: 'leaked', position: '91' },
      { kind: 'ApiKeyRevoked', at, organizationId: 'o1', keyId: 'gone', position: '6' },
    ] as const;
    for (const entry of entries) await journal.record(entry);
    await journal.close();
    const org: OrganizationState = { ...initialOrganizationState(), exists: true, organizationId: 'o1' };
    const user = (userId: string, deleted: boolean) => ({ userId, email: null, displayName: null, alias: null, avatarUrl: null, orgAdmin: false, joinedAt: at, deleted }) as never;
    org.users.set('back-again', user('back-again', false));
    org.users.set('still-deleted', user('still-deleted', true));
    org.users.set('also-back', user('also-back', false));
    org.users.set('admin', { ...(user('admin', false) as object), orgAdmin: true } as never);
    org.apiKeys.set('leaked', { secretHash: 'h', issuedAt: at, label: null, issuedBy: null });
    const states = { organizationCached: async (id: string) => (id === 'o1' ? org : initialOrganizationState()) } as unknown as StreamStates;
    const deleted: string[] = [];
    const handlers = {
      deleteUser: { execute: async (c: { userId: string; ctx: { actorId: string } }) => void deleted.push(`${c.userId} by ${c.ctx.actorId}`) },
      revokeApiKey: {
        execute: async () => {
          throw new DomainException(domainError('LAST_API_KEY', "This is the organization's last API key."));
        },
      },
    } as never;
    const out = captureLogLines();
    const result = await reapplyJournal(journal, states, handlers, createLogger('api', { level: 'info', format: 'json' }, out.stream), dir);
    await new Promise((r) => setImmediate(r));
    expect(result).toEqual({ reapplied: 2, refused: 1, unreadable: 0 });
    expect(deleted).toEqual(['back-again by admin', 'also-back by system']);
    const refused = out.lines.find((l) => l.level === 'error');
    expect(refused).toMatchObject({ code: 'LAST_API_KEY', msg: expect.stringContaining('issue another key with the system key') });
    // the journal holds ids only
    expect(readFileSync(journal.file, 'utf8')).not.toMatch(/@/);
  });

  it('a journal missing beside a data dir that used one stops the start (lost, or not mounted: probe 64 F6); beside one that never did, it is made', async () => {
    const dataDir = join(dir, 'data');
    mkdirSync(dataDir);
    const journal = new ErasureJournal(join(dir, 'volume', 'erasures.jsonl'));
    const states = { organizationCached: async () => initialOrganizationState() } as unknown as StreamStates;
    const log = createLogger('api', { level: 'silent', format: 'json' });
    expect(await reapplyJournal(journal, states, {} as never, log, dataDir)).toEqual({ reapplied: 0, refused: 0, unreadable: 0 });
    // made with its id first, which the marker records beside its path (probe 117 F1: a journal made anew is told apart)
    const id = journalIdOf(journal.file);
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect([existsSync(journal.file), readFileSync(join(dataDir, 'erasure-journal-used'), 'utf8')]).toEqual([true, `${journal.file}\n${id}\n`]);
    // the id line is no entry, and no unreadable line either
    await journal.record({ kind: 'UserDeleted', at, organizationId: 'o1', userId: 'u1', actorId: 'admin', position: '7' });
    await journal.close();
    expect(journal.read()).toEqual({ entries: [expect.objectContaining({ kind: 'UserDeleted', userId: 'u1' })], unreadable: 0 });
    expect(journalIdOf(journal.file)).toBe(id);
    rmSync(join(dir, 'volume'), { recursive: true });
    await expect(reapplyJournal(journal, states, {} as never, log, dataDir)).rejects.toThrow(/ROLLCALL_ERASURE_JOURNAL .* does not exist, but this data dir has used an erasure journal/);
    expect(existsSync(journal.file)).toBe(false);
  });

  it('an empty file made for the journal gets its id first (an operator\'s `touch` before the first start)', async () => {
    const dataDir = join(dir, 'data');
    mkdirSync(dataDir);
    mkdirSync(join(dir, 'volume'));
    writeFileSync(join(dir, 'volume', 'erasures.jsonl'), '');
    const journal = new ErasureJournal(join(dir, 'volume', 'erasures.jsonl'));
    const states = { organizationCached: async () => initialOrganizationState() } as unknown as StreamStates;
    await reapplyJournal(journal, states, {} as never, createLogger('api', { level: 'silent', format: 'json' }), dataDir);
    const id = journalIdOf(journal.file);
    expect([id, readFileSync(join(dataDir, 'erasure-journal-used'), 'utf8')]).toEqual([expect.stringMatching(/^[0-9a-f-]{36}$/), `${journal.file}\n${id}\n`]);
  });
});
