import contentDisposition from 'content-disposition';
import { downloadDisposition } from './download-name';

const at = new Date('2026-12-07T23:59:59.999Z');
const fileName = (header: string) => contentDisposition.parse(header).parameters.filename;

describe("a download's file name (probe 82 F2: every workspace's download was members.csv)", () => {
  it('names what it holds and the UTC day it was taken', () => {
    expect(downloadDisposition('members', 'Support', at, 'csv')).toBe('attachment; filename="members-Support-2026-12-07.csv"');
  });

  it('sends a name outside ASCII as filename* (UTF-8) beside a plain one without accents', () => {
    const header = downloadDisposition('permission-history', 'Équipe 東京', at, 'csv');
    expect(header).toBe(`attachment; filename="permission-history-Equipe __-2026-12-07.csv"; filename*=UTF-8''permission-history-%C3%89quipe%20%E6%9D%B1%E4%BA%AC-2026-12-07.csv`);
    // what a client reading filename* gets back
    expect(fileName(header)).toBe('permission-history-Équipe 東京-2026-12-07.csv');
  });

  it('replaces what a file system refuses, and never names a path', () => {
    expect(fileName(downloadDisposition('users', 'Sales / EU: "A" <B>\u0000', at, 'csv'))).toBe('users-Sales _ EU_ _A_ _B_-2026-12-07.csv');
    expect(fileName(downloadDisposition('users', '../../etc', at, 'csv'))).toBe('users-_.._etc-2026-12-07.csv');
    expect(fileName(downloadDisposition('users', ' .. ', at, 'csv'))).toBe('users-unnamed-2026-12-07.csv');
  });

  it('keeps at most 80 characters of the name, never half of one', () => {
    const name = fileName(downloadDisposition('members', '😀'.repeat(100), at, 'csv'));
    expect(name).toBe(`members-${'😀'.repeat(80)}-2026-12-07.csv`);
  });
});
