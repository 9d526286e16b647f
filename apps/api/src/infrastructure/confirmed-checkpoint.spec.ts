// The checkpoint of a transport confirmed apart from its sends (NATS): it never passes an event not confirmed (probe
// 55 F4), and one confirmation covers every event handed over before it was asked (probe 58 F2: one per event put the
// push hundreds of events behind).
import { ConfirmedCheckpoint } from './confirmed-checkpoint';

/** a transport whose confirmations answer when the test says */
function transport() {
  const asked: (() => void)[] = [];
  const moves: bigint[] = [];
  const failures: string[] = [];
  return {
    asked,
    moves,
    failures,
    checkpoint: (timeoutMs = 1_000) =>
      new ConfirmedCheckpoint(
        () => new Promise<void>((resolve) => asked.push(resolve)),
        async (position) => void moves.push(position),
        timeoutMs,
        'nats',
        (error) => failures.push(error.message),
      ),
  };
}
const turn = () => new Promise((resolve) => setImmediate(resolve));

it('moves only past what a confirmation covered, one confirmation for what was handed over while the last was asked', async () => {
  const t = transport();
  const c = t.checkpoint();
  c.handed(1n);
  for (const p of [2n, 3n, 4n, 5n]) c.handed(p);
  await turn();
  expect([t.asked.length, t.moves]).toEqual([1, []]); // nothing moves before the transport answers
  t.asked[0]!();
  await turn();
  expect(t.moves).toEqual([1n]); // the first covered what was handed before it was asked
  expect(t.asked).toHaveLength(2); // the next covers 2–5
  t.asked[1]!();
  await c.settled();
  expect(t.moves).toEqual([1n, 5n]);
  expect(t.failures).toEqual([]);
});

it('a confirmation that does not come in time fails: the checkpoint stays, the failure is told at once and thrown', async () => {
  const t = transport();
  const c = t.checkpoint(30);
  c.handed(7n);
  await new Promise((resolve) => setTimeout(resolve, 80));
  expect(t.moves).toEqual([]);
  expect(t.failures).toEqual(['the nats server did not confirm what it was sent within 30 ms']);
  expect(() => c.check()).toThrow('did not confirm');
  await expect(c.settled()).rejects.toThrow('did not confirm');
});

it('abandoned (the lease passed on): a confirmation that answers after moves nothing', async () => {
  const t = transport();
  const c = t.checkpoint();
  c.handed(3n);
  const abandoned = c.abandon();
  t.asked[0]!();
  await abandoned; // resolves once the confirmation under way answered
  expect(t.moves).toEqual([]);
});
