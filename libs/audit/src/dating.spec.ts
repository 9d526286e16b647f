import { DatingCheck, signedAtLine, signedAtOf } from './dating';

const ms = (iso: string) => Date.parse(iso);

describe('dating: entries appended after a signed checkpoint are not dated before it (probe 44 F1)', () => {
  it("reads a checkpoint's signed-at line; none, or a malformed one, is no time", () => {
    expect(signedAtOf({ extensions: [signedAtLine(new Date('2026-12-05T09:56:21.123Z'))] })).toBe(ms('2026-12-05T09:56:21.123Z'));
    expect(signedAtOf({ extensions: [] })).toBeUndefined();
    expect(signedAtOf({ extensions: ['signed-at yesterday', 'other 1'] })).toBeUndefined();
  });

  it('names the first entry recorded or decided more than the skew before the latest-signed checkpoint it came after, and counts them', () => {
    const check = new DatingCheck(
      [
        { size: 5, at: ms('2026-12-05T10:00:00Z'), label: 'the kept checkpoint' },
        { size: 3, at: ms('2026-12-05T09:50:00Z'), label: 'the stored checkpoint of size 3' },
      ],
      60_000,
    );
    expect([check.wants(2), check.wants(3)]).toEqual([false, true]);
    const add = (index: number, created: string, occurredAt?: string) => check.add(index, BigInt(index + 1), ms(created), occurredAt === undefined ? undefined : ms(occurredAt));
    add(0, '2026-12-05T09:00:00Z'); // before any checkpoint: anything goes
    add(3, '2026-12-05T09:49:30Z', '2026-12-05T09:49:10Z'); // within 60 s of the checkpoint of size 3
    add(4, '2026-12-05T09:51:00Z', '2026-12-05T09:51:00Z');
    expect(check.problems()).toEqual([]);
    add(5, '2026-12-05T10:00:05Z', '2026-12-05T09:46:13Z'); // decided 14 min before the checkpoint of size 5
    add(6, '2026-12-05T09:46:14Z'); // recorded so
    add(7, '2026-12-05T10:01:00Z', '2026-12-05T10:00:59Z');
    const [problem, ...rest] = check.problems();
    expect(rest).toEqual([]);
    expect(problem).toEqual({
      code: 'ENTRY_BACKDATED',
      size: 5,
      message:
        'the entry at position 6 is decided at 2026-12-05T09:46:13.000Z, before the kept checkpoint was signed at 2026-12-05T10:00:00.000Z, yet it came after that checkpoint\'s 5 entries: the server\'s clock was set back when it was written (2 entries so, the first named)',
    });
  });

  it('no signed checkpoint, no bound', () => {
    const check = new DatingCheck([]);
    check.add(0, 1n, 0, 0);
    expect(check.problems()).toEqual([]);
  });

  it('a range checked apart (a verifier thread) adds its count and, if none was found before, its first', () => {
    const bounds = [{ size: 2, at: ms('2026-12-05T10:00:00Z'), label: 'the kept checkpoint' }];
    const main = new DatingCheck(bounds);
    main.add(2, 3n, ms('2026-12-05T10:00:01Z'), undefined);
    const range = new DatingCheck(bounds);
    range.add(16, 17n, ms('2026-12-05T09:00:00Z'), undefined);
    range.add(17, 18n, ms('2026-12-05T09:00:01Z'), undefined);
    main.absorb(range.result());
    main.absorb({ count: 0 });
    expect(main.result()).toMatchObject({ count: 2, first: { position: '17', field: 'recorded' } });
  });
});
