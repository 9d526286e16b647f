// Property: a point-in-time replay continued from a state an earlier replay reached (replay-checkpoints.ts) answers as
// a replay of the streams from their start (rule 17), for random histories (the projections' activity generator:
// invitations, acceptances, access and plan changes, revocations, profile and email changes, deletions, teams, partner
// workspaces and their teams), asked about random instants in a random order, the log growing between the questions,
// with checkpoints kept generously or under a budget that keeps almost nothing.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import type { EventStore, ReadStreamOptions } from '@rollcall/event-store';
import { OP_COUNT, smallWorld } from '../../../../libs/read-store/src/projections/testing/simulated-traffic';
import { EventLog } from '../../../../libs/read-store/src/projections/testing/event-log';
import { type Process, openProcess, replayAppends } from '../shared/testing/snapshot-harness';
import { AccessAsOfHandler, AccessAsOfQuery, RosterAsOfHandler, RosterAsOfQuery } from './access-as-of';
import { ReplayCheckpoints } from './replay-checkpoints';
import { wholeRoster } from './roster-json';

const stepArb = fc.record({ op: fc.nat(OP_COUNT - 1), a: fc.nat(30), b: fc.nat(60), c: fc.nat(300) });

/** an answer without its `asOf` label: asked about now, each replay is labelled with its own moment */
const withoutNow = (answer: unknown): unknown => JSON.parse(JSON.stringify(answer, (key, value: unknown) => (key === 'asOf' ? undefined : value)));

/** what `ask` answers about every workspace at `asOf` (the roster, and two members' access explained), or its refusal */
async function answers(store: EventStore, checkpoints: ReplayCheckpoints, log: EventLog, asOf: Date | undefined) {
  const out: unknown[] = [];
  const settle = <T>(p: Promise<T>) => p.then(withoutNow, (e: { error?: { code?: string } }) => ({ refused: e.error?.code ?? String(e) }));
  for (const [workspaceId, { organizationId, state }] of log.workspaces) {
    out.push(await settle(new RosterAsOfHandler(store, checkpoints).execute(new RosterAsOfQuery(organizationId, workspaceId, asOf)).then(wholeRoster)));
    for (const userId of [...state.members.keys()].slice(0, 2))
      out.push(await settle(new AccessAsOfHandler(store, checkpoints).execute(new AccessAsOfQuery(organizationId, workspaceId, userId, asOf, true))));
  }
  return out;
}

/** the store, counting the events its reads hand out and the reads that started past a stream's start */
function counting(store: EventStore, counts: { events: number; continued: number }): EventStore {
  return new Proxy(store, {
    get(target, property, receiver) {
      if (property !== 'readStream') return Reflect.get(target, property, receiver) as unknown;
      return async function* (stream: string, options?: ReadStreamOptions) {
        if ((options?.fromRevision ?? 0n) > 0n) counts.continued++;
        for await (const e of target.readStream(stream, options)) {
          counts.events++;
          yield e;
        }
      };
    },
  });
}

let dir: string;
let p: Process;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rollcall-replay-checkpoints-'));
  p = await openProcess(dir, { snapshots: false });
});
afterEach(async () => {
  await p.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('rule 17: a replay continued from a state an earlier replay reached answers as a replay from the start', () => {
  it('for random histories and instants asked in a random order, the log growing between, with a generous budget and a tiny one', async () => {
    let continuedSomewhere = false;
    await fc.assert(
      fc.asyncProperty(
        fc.array(stepArb, { minLength: 20, maxLength: 120 }),
        fc.array(stepArb, { minLength: 1, maxLength: 40 }),
        fc.array(fc.tuple(fc.nat(10_000), fc.constantFrom(-1, 0, 1)), { minLength: 3, maxLength: 8 }),
        fc.constantFrom(1_000_000, 40),
        async (before, after, picks, budget) => {
          await p.close();
          rmSync(dir, { recursive: true, force: true });
          dir = mkdtempSync(join(tmpdir(), 'rollcall-replay-checkpoints-'));
          p = await openProcess(dir, { snapshots: false });
          const activity = smallWorld();
          const log = activity.log;
          const counts = { events: 0, continued: 0 };
          const store = counting(p.store, counts);
          const checkpoints = new ReplayCheckpoints(budget);
          const noCheckpoints = ReplayCheckpoints.none();
          // the instants asked about: around the times changes happened (the changes' own, ±1 ms), and now
          const instants = (): (Date | undefined)[] => {
            const times = [...new Set(log.events.map((e) => Date.parse(e.metadata.occurredAt as string)))];
            return [...picks.map(([n, d]) => new Date(times[n % times.length]! + d)), undefined];
          };
          for (const steps of [before, after]) {
            for (const step of steps) activity.step(step);
            await replayAppends(p, log.takeAppends());
            for (const asOf of instants()) {
              const continued = await answers(store, checkpoints, log, asOf);
              const fromStart = await answers(p.store, noCheckpoints, log, asOf);
              expect(continued).toEqual(fromStart);
            }
          }
          expect(checkpoints.keptRows).toBeLessThanOrEqual(budget);
          if (counts.continued > 0) continuedSomewhere = true;
        },
      ),
      { numRuns: 12 },
    );
    // the checkpoints were used (a test of equal answers that never continued a replay would hold on any code)
    expect(continuedSomewhere).toBe(true);
  }, 180_000);

  it('a roster whose members are not yet formatted is not changed by a replay that continues meanwhile', async () => {
    const log = new EventLog();
    log.createOrganization('org-1', { userId: 'admin-1', email: 'admin@example.test', displayName: 'Ada' });
    log.createWorkspace('org-1', 'ws-1', 'admin-1', 'advanced', 'levels');
    for (let i = 0; i < 3; i++) {
      log.workspace({ type: 'InviteMember', workspaceId: 'ws-1', actorId: 'admin-1', now: log.now, invitationId: `inv-${i}`, email: `m${i}@example.test`, roles: ['agent'], ttlSeconds: 3600 });
      log.accept('ws-1', `inv-${i}`, `user-${i}`);
      log.advance(1);
    }
    await replayAppends(p, log.takeAppends());
    const checkpoints = new ReplayCheckpoints(1_000);
    const roster = () => new RosterAsOfHandler(p.store, checkpoints).execute(new RosterAsOfQuery('org-1', 'ws-1', undefined));
    await wholeRoster(await roster()); // leaves a checkpoint of both streams
    const held = await roster(); // takes them, formats nothing yet
    expect(log.workspace({ type: 'RevokeAccess', workspaceId: 'ws-1', actorId: 'admin-1', now: log.now, userId: 'user-1' }).ok).toBe(true);
    await replayAppends(p, log.takeAppends());
    const after = await wholeRoster(await roster()); // folds the revocation: not into the states `held` reads
    const statusOf = (r: Awaited<ReturnType<typeof wholeRoster>>) => r.members.find((m) => m.userId === 'user-1')?.status;
    expect(statusOf(after)).toBe('revoked');
    const heldRoster = await wholeRoster(held);
    expect(statusOf(heldRoster)).toBe('active');
    expect(heldRoster.basedOn.eventsReplayed).toBe(after.basedOn.eventsReplayed - 1);
  });
});
