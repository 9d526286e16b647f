import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../settings';
import { JOURNAL_MADE, journalMarker, refuseUnlessItsJournal } from './journal-marker';

describe('a data dir that used an erasure journal is started with that journal only', () => {
  const root = mkdtempSync(join(tmpdir(), 'rollcall-journal-marker-'));
  const dataDir = join(root, 'data');
  const journal = join(root, 'volume', 'erasures.jsonl');
  beforeAll(() => {
    mkdirSync(dataDir);
    mkdirSync(join(root, 'volume'));
    writeFileSync(journal, '');
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const refused = (erasureJournal?: string) => {
    try {
      refuseUnlessItsJournal({ dataDir, erasureJournal });
      return undefined;
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      return (error as Error).message;
    }
  };

  it('without a marker, any journal or none', () => {
    expect([refused(), refused(journal), refused(join(root, 'new.jsonl'))]).toEqual([undefined, undefined, undefined]);
  });

  it('probe 116 F1, probe 117 F1: with the marker, no journal or another file (one that exists too) is refused naming both; the same one, also through a link, starts', () => {
    writeFileSync(journalMarker(dataDir), `${journal}\n`);
    expect(refused()).toContain(`ROLLCALL_ERASURE_JOURNAL is not set, but this data dir has used an erasure journal (${journal})`);
    const other = join(root, 'volume', 'other.jsonl');
    writeFileSync(other, '');
    expect(refused(other)).toContain(`ROLLCALL_ERASURE_JOURNAL is ${other}, but this data dir used the erasure journal ${journal} (${journalMarker(dataDir)}): set it to that one`);
    expect(refused(join(root, 'nowhere.jsonl'))).toContain('but this data dir used the erasure journal');
    symlinkSync(join(root, 'volume'), join(root, 'mounted'));
    expect([refused(journal), refused(join(root, 'mounted', 'erasures.jsonl'))]).toEqual([undefined, undefined]);
  });

  it('a marker without a path asks for a journal, any; one that cannot be read is a sentence, not a stack (probe 117 F3)', () => {
    writeFileSync(journalMarker(dataDir), '');
    expect([refused()?.includes('ROLLCALL_ERASURE_JOURNAL is not set, but this data dir has used an erasure journal ('), refused(journal)]).toEqual([true, undefined]);
    rmSync(journalMarker(dataDir));
    mkdirSync(journalMarker(dataDir));
    expect(refused(journal)).toContain(`${journalMarker(dataDir)} cannot be read (EISDIR): it records the erasure journal this data dir used`);
  });

  it('probe 117 F1: at the same path, a journal made anew (an empty file, or another id) is refused; the one the marker names starts; a marker without an id (before session 67) takes any', () => {
    rmSync(journalMarker(dataDir), { recursive: true, force: true });
    const id = '0b6c2f1e-8d3a-4c5b-9e7f-1a2b3c4d5e6f';
    writeFileSync(journal, `${JOURNAL_MADE}"${id}","at":"2026-12-07T00:00:00.000Z"}\n{"kind":"UserDeleted"}\n`);
    writeFileSync(journalMarker(dataDir), `${journal}\n${id}\n`);
    expect(refused(journal)).toBeUndefined();
    writeFileSync(journal, '');
    expect(refused(journal)).toContain(`ROLLCALL_ERASURE_JOURNAL ${journal} is not the erasure journal this data dir wrote to (${journalMarker(dataDir)} records the journal ${id}; this file's first line names no journal)`);
    writeFileSync(journal, `${JOURNAL_MADE}"another","at":"2026-12-07T00:00:00.000Z"}\n`);
    expect(refused(journal)).toContain("this file's first line names another)");
    writeFileSync(journalMarker(dataDir), `${journal}\n`);
    expect(refused(journal)).toBeUndefined();
  });
});
