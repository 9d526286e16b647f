import { dispatcherSendsAround } from './mail-ledger';

// A retry that would mail a link its first attempt left unrecorded leaves it to the mail dispatcher when the
// dispatcher sends it about then (probe 111 F1): from a hand-off's time and a margin (3 s) before the dispatcher's
// first try, until its first pass and its send may be over (a pass of 5 s, a send of up to 60 s: probe 112 F1, a
// margin of 1 s).
describe('whether the mail dispatcher sends a link about now (a retry leaves it to it then: probe 111 F1)', () => {
  const decidedAt = Date.parse('2026-12-07T12:00:00Z');
  const dispatch = { mailRetryAfterSeconds: 60, mailDispatchEveryMs: 5_000 };
  const at = (seconds: number) => decidedAt + seconds * 1000;

  it('a retry sending well before the dispatcher\'s first try sends itself', () => {
    expect(dispatcherSendsAround(dispatch, decidedAt, at(1), at(3))).toBe(false);
    expect(dispatcherSendsAround(dispatch, decidedAt, at(54), at(56.9))).toBe(false);
  });

  it('a retry sending from 3 s before the first try until the first pass and its send may be over leaves it to the dispatcher', () => {
    expect(dispatcherSendsAround(dispatch, decidedAt, at(55), at(57))).toBe(true);
    expect(dispatcherSendsAround(dispatch, decidedAt, at(60), at(62))).toBe(true);
    // the dispatcher's send held by a slow relay (probe 112 F1: a window of a 2 s hand-off let a retry at 6 s mail again)
    expect(dispatcherSendsAround(dispatch, decidedAt, at(70), at(72))).toBe(true);
    expect(dispatcherSendsAround(dispatch, decidedAt, at(126), at(128))).toBe(true);
  });

  it('a retry arriving after that sends itself: the dispatcher tried and left no record', () => {
    expect(dispatcherSendsAround(dispatch, decidedAt, at(126.1), at(128.1))).toBe(false);
    expect(dispatcherSendsAround(dispatch, decidedAt, at(600), at(602))).toBe(false);
  });

  it('with the dispatcher off (0), or a decision time the log does not tell, the retry sends itself', () => {
    expect(dispatcherSendsAround({ ...dispatch, mailRetryAfterSeconds: 0 }, decidedAt, at(60), at(62))).toBe(false);
    expect(dispatcherSendsAround(dispatch, Number.NaN, at(60), at(62))).toBe(false);
  });
});
