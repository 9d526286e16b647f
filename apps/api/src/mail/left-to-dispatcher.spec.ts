import { leftToDispatcher } from './mail-ledger';

// A retry that would mail a link its first attempt left unrecorded leaves it to the mail dispatcher until the
// dispatcher's first try of that link is over (probes 111 F1, 112 F1, 113 F3: the two sends met, the link mailed twice):
// its first pass once the link is 60 s old (a pass of 5 s), a send of up to 60 s, a margin of 1 s.
describe('whether the mail dispatcher sends a link, or may be sending it (a retry leaves the mail to it then)', () => {
  const decidedAt = Date.parse('2026-12-07T12:00:00Z');
  const dispatch = { mailRetryAfterSeconds: 60, mailDispatchEveryMs: 5_000 };
  const at = (seconds: number) => decidedAt + seconds * 1000;

  it('a retry before the dispatcher\'s first try leaves it to the dispatcher, however early (probe 113 F3: its own send, held by a slow relay, met the first try)', () => {
    expect(leftToDispatcher(dispatch, decidedAt, at(1))).toBe(true);
    expect(leftToDispatcher(dispatch, decidedAt, at(54.5))).toBe(true);
  });

  it('a retry while the first try may still be under way leaves it to the dispatcher (probe 112 F1: a relay taking 7 s)', () => {
    expect(leftToDispatcher(dispatch, decidedAt, at(60))).toBe(true);
    expect(leftToDispatcher(dispatch, decidedAt, at(70))).toBe(true);
    expect(leftToDispatcher(dispatch, decidedAt, at(126))).toBe(true);
  });

  it('a retry arriving after that sends itself: the dispatcher tried and left no record', () => {
    expect(leftToDispatcher(dispatch, decidedAt, at(126.1))).toBe(false);
    expect(leftToDispatcher(dispatch, decidedAt, at(600))).toBe(false);
  });

  it('with the dispatcher off (0), or a decision time the log does not tell, the retry sends itself', () => {
    expect(leftToDispatcher({ ...dispatch, mailRetryAfterSeconds: 0 }, decidedAt, at(1))).toBe(false);
    expect(leftToDispatcher(dispatch, Number.NaN, at(1))).toBe(false);
  });
});
