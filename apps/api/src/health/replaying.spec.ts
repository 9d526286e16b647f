// /health while the read models replay a long stretch of the log (probe 41 F7: `up`, and lists answering part of the
// members with nothing said).
import { REPLAYING_LAG, replaying } from './health.controller';

describe('/health names projections replaying the log', () => {
  it('those at least REPLAYING_LAG events behind, with how far; none when every one trails by a moment', () => {
    expect(replaying([{ name: 'members', lag: 43_462n }, { name: 'teams', lag: 12n }])).toEqual({
      replaying: { members: 43_462 },
      message: 'Replaying the log: members 43462 events behind. Their reads answer part of what the log holds until they catch up (reads with X-Min-Position wait).',
    });
    expect(replaying([{ name: 'members', lag: REPLAYING_LAG - 1n }, { name: 'teams', lag: 0n }])).toBeUndefined();
    expect(replaying([])).toBeUndefined();
  });

  it('probe 42b F6: a deletion\'s purge redone as the projector starts is named, the projections waiting for it', () => {
    expect(replaying([{ name: 'members', lag: 3n, purging: true }, { name: 'teams', lag: 3n, purging: true }])).toEqual({
      purging: true,
      message: expect.stringContaining('Rewriting the read store after a deletion'),
    });
  });
});
