// KnownHeads (known-heads.ts): what a connection answers a stream's head from memory.
import { KnownHeads } from './known-heads';

describe('KnownHeads', () => {
  it("a head noted while this writer's append was in flight, in an epoch begun after it was queued, does not outlive the append's answer (session 29)", () => {
    let othersCommitted = false;
    const heads = new KnownHeads(() => othersCommitted);
    heads.current();
    heads.note('s', 0n, heads.now); // read to its end: the head is 0
    const queued = heads.now; // the append of revision 1 is queued (SqliteEventStore.enqueue passes the epoch)
    othersCommitted = true;
    heads.current(); // another process's commit seen: a new epoch, nothing known
    othersCommitted = false;
    heads.note('s', 0n, heads.now); // a read while the append was in flight (from the file: it is not committed yet)
    heads.note('s', 1n, queued); // the append's answer, as of the epoch it was queued in
    // the stream has revision 1: a read from 1 must not be answered "nothing" from memory (before: 0, until the
    // next commit of another process — the replicas e2e read a deletion's organization without it, session 29)
    const known = heads.headFor('s', 1n);
    expect(known === undefined || known >= 1n).toBe(true);
  });

  it('a head learned in an older epoch is still not taken (it may be behind a later commit of another writer)', () => {
    let othersCommitted = false;
    const heads = new KnownHeads(() => othersCommitted);
    heads.current();
    const old = heads.now;
    othersCommitted = true;
    heads.current();
    othersCommitted = false;
    heads.note('s', 3n, old);
    expect(heads.headFor('s', 0n)).toBeUndefined();
  });
});
