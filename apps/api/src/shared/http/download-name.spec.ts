import contentDisposition from 'content-disposition';
import { downloadDisposition } from './download-name';

const at = new Date('2026-12-07T23:59:59.999Z');
const ID = '7c9e6679-7425-5de3-944b-e07fc1f90ae7';
const of = (name: string) => ({ name, id: ID });
const parsed = (header: string) => contentDisposition.parse(header).parameters;

describe("a download's file name (probe 82 F2: every workspace's download was members.csv)", () => {
  it('names what it holds and the UTC day it was taken', () => {
    expect(downloadDisposition('members', of('Support'), at, 'csv')).toBe('attachment; filename="members-Support-2026-12-07.csv"');
  });

  it('sends a name outside ASCII as filename* (UTF-8) beside a plain one without accents, a run of other characters one underscore', () => {
    const header = downloadDisposition('permission-history', of('Équipe 東京'), at, 'csv');
    expect(header).toBe(`attachment; filename="permission-history-Equipe _-2026-12-07.csv"; filename*=UTF-8''permission-history-%C3%89quipe%20%E6%9D%B1%E4%BA%AC-2026-12-07.csv`);
    // what a client reading filename* gets back
    expect(parsed(header).filename).toBe('permission-history-Équipe 東京-2026-12-07.csv');
  });

  it('a name with no letter or digit in ASCII is named by its id in the plain filename, so that two do not collide (probe 98 F2)', () => {
    const header = downloadDisposition('members', of('שלום עולם'), at, 'csv');
    expect(header).toContain('filename="members-7c9e6679-2026-12-07.csv"');
    expect(parsed(header).filename).toBe('members-שלום עולם-2026-12-07.csv');
  });

  it('replaces what a file system refuses, and never names a path; a name of nothing it keeps is named by its id', () => {
    expect(parsed(downloadDisposition('users', of('Sales / EU: "A" <B>\u0000'), at, 'csv')).filename).toBe('users-Sales _ EU_ _A_ _B_-2026-12-07.csv');
    expect(parsed(downloadDisposition('users', of('../../etc'), at, 'csv')).filename).toBe('users-_.._etc-2026-12-07.csv');
    expect(parsed(downloadDisposition('users', of(' .. '), at, 'csv')).filename).toBe('users-7c9e6679-2026-12-07.csv');
  });

  it('keeps at most 100 bytes of UTF-8 of the name, cut at a character: the whole far below 255 bytes (probe 98 F2: Chromium cancelled a 255-byte name)', () => {
    const emoji = parsed(downloadDisposition('organization-members', of('🚀'.repeat(200)), at, 'csv')).filename!;
    expect(emoji).toBe(`organization-members-${'🚀'.repeat(25)}-2026-12-07.csv`);
    const cjk = parsed(downloadDisposition('members', of('日本語'.repeat(30)), at, 'csv')).filename!;
    expect(cjk).toBe(`members-${'日本語'.repeat(11)}-2026-12-07.csv`);
    for (const name of [emoji, cjk]) expect(Buffer.byteLength(name)).toBeLessThan(160);
    // a family of four (7 code points, 25 bytes) is kept whole or not at all: never cut after a joiner (probe 99 F8)
    const family = '👨‍👩‍👧‍👦';
    const families = parsed(downloadDisposition('members', of(family.repeat(10)), at, 'csv')).filename!;
    expect(families).toBe(`members-${family.repeat(4)}-2026-12-07.csv`);
  });
});
