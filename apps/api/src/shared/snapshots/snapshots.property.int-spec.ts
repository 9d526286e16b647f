// Property: for random histories (the projections' activity generator: invitations, acceptances, access changes,
// revocations, profile and email changes, deletions with their keys forgotten, teams), a state loaded from a snapshot
// plus the events after it equals the state folded from the whole stream, for every organization and workspace, and
// the command path (StreamHandler) decides the same on both (docs/adr/0008-snapshots.md); no snapshot sealed before a
// deletion in its organization can still be opened (docs/adr/0013-snapshots-sealed-per-snapshot.md).
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { type Decision, type DomainEvent, type WorkspaceCommand, decideWorkspace } from '@rollcall/domain';
import { type SimulatedTraffic, OP_COUNT, type Step, smallWorld } from '../../../../../libs/read-store/src/projections/testing/simulated-traffic';
import { EventLog } from '../../../../../libs/read-store/src/projections/testing/event-log';
import { newCommandContext } from '../command-path/command-context';
import type { ClearHead } from './snapshot-codec';
import { organizationEpoch } from './snapshots';
import { DomainException } from '../command-path/stream-handler';
import { organizationStream, workspaceStream } from '../command-path/stream-states';
import { workspace } from '../command-path/targets';
import { type Process, openProcess, replayAppends } from '../testing/snapshot-harness';

function activityOf(steps: Step[], lastDeletions: number[]): SimulatedTraffic {
  const activity = smallWorld();
  for (const step of steps) activity.step(step);
  // users deleted at the end of the history (after the cut, so after the snapshots): rare among the random steps
  const log = activity.log;
  for (const n of lastDeletions) {
    const organizationId = [...log.orgs.keys()][n % log.orgs.size]!;
    const users = [...log.orgs.get(organizationId)!.users.values()].filter((u) => !u.deleted && !u.orgAdmin);
    if (users.length > 0) log.deleteUser(organizationId, `${organizationId}-admin`, users[n % users.length]!.userId);
  }
  return activity;
}

const stepArb = fc.record({ op: fc.nat(OP_COUNT - 1), a: fc.nat(30), b: fc.nat(60), c: fc.nat(300) });
const commandArb = fc.record({ kind: fc.nat(2), n: fc.nat(1000), m: fc.nat(1000) });

/** every organization's and workspace's state, expected revision and remembered keys, as `p` loads them */
async function loadEverything(p: Process, log: EventLog) {
  const out: Record<string, unknown> = {};
  for (const organizationId of log.orgs.keys()) {
    const org = await p.states.organization(organizationId);
    out[organizationStream(organizationId)] = { state: org.state, expected: org.expected, applied: [...log.appends.keys()].map((i) => org.applied(`cmd-${i + 1}`)) };
    for (const [workspaceId, ws] of log.workspaces)
      if (ws.organizationId === organizationId) {
        const loaded = await p.states.workspace(org.state, workspaceId);
        out[workspaceStream(workspaceId)] = loaded && { state: loaded.state, expected: loaded.expected, applied: [...log.appends.keys()].map((i) => loaded.applied(`cmd-${i + 1}`)) };
      }
  }
  return out;
}

/** the streams whose stored snapshot opens under its key although its organization had a deletion since (rule 12) */
async function readableSnapshotsOfOlderEpochs(p: Process, log: EventLog): Promise<string[]> {
  const found: string[] = [];
  // an organization's epoch is its own; a workspace's, the erasures that reached it (docs/adr/0013, "Session 43")
  const streams = [
    ...[...log.orgs].map(([organizationId, org]) => ({ stream: organizationStream(organizationId), epoch: organizationEpoch(org) })),
    ...[...log.workspaces].map(([workspaceId, ws]) => ({ stream: workspaceStream(workspaceId), epoch: ws.state.erasures })),
  ];
  for (const { stream, epoch } of streams) {
    const stored = await p.snapshotStore.read(stream);
    if (!stored) continue;
    const head = JSON.parse(stored.head) as ClearHead;
    if (head.epoch < epoch && (await p.sealing.cipher(head.subjectId, { create: false }))) found.push(stream);
  }
  return found;
}

/** a command as a workspace admin (or a member) would send it: an invitation, an access change, a revocation */
function commandFor(log: EventLog, workspaceId: string, { kind, n, m }: { kind: number; n: number; m: number }, now: string): WorkspaceCommand & { actorId: string } {
  const { organizationId, state } = log.workspaces.get(workspaceId)!;
  const members = [...state.members.keys()];
  const base = { workspaceId, actorId: n % 4 === 0 ? members[m % members.length]! : `${organizationId}-admin`, now };
  const userId = members[n % members.length]!;
  if (kind === 0) return { type: 'InviteMember', ...base, invitationId: `prop-inv-${n}-${m}`, email: `user${m % 8}@${organizationId}.test`, ttlSeconds: 3600 };
  if (kind === 1) return { type: 'ChangeAccess', ...base, userId, roles: [['manager', 'agent', 'owner', 'member', 'operator'][m % 5]!] };
  return { type: 'RevokeAccess', ...base, userId };
}

const outcomeOf = (decided: Promise<{ events: DomainEvent[] }>) =>
  decided.then(
    (w) => ({ events: w.events }),
    (error: unknown) => ({ refused: error instanceof DomainException ? error.error.code : String(error) }),
  );

describe('snapshots: a state loaded from a snapshot and the events after it equals the state folded from the whole stream', () => {
  it('for random histories, snapshots taken at a random point (deletions after it included), and the command path decides the same on both', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(stepArb, { minLength: 20, maxLength: 160 }),
        fc.array(fc.nat(1000), { maxLength: 3 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.array(commandArb, { minLength: 1, maxLength: 8 }),
        async (steps, lastDeletions, cutAt, commands) => {
          const dir = mkdtempSync(join(tmpdir(), 'rollcall-snapshot-prop-'));
          const copy = mkdtempSync(join(tmpdir(), 'rollcall-snapshot-prop-copy-'));
          const opened: Process[] = [];
          const open = async (at: string, options: Parameters<typeof openProcess>[1]) => {
            const p = await openProcess(at, options);
            opened.push(p);
            return p;
          };
          try {
            const activity = activityOf(steps, lastDeletions);
            const log = activity.log;
            const appends = [...log.appends];
            const cut = Math.floor(cutAt * appends.length);
            const emailsOf = new Map<string, Set<string>>();

            // the history up to the cut, then every stream loaded by a process that snapshots every load
            const writer = await open(dir, { every: 1 });
            await replayAppends(writer, appends.slice(0, cut), emailsOf);
            // A snapshot being sealed when this process sees an erasure anywhere is dropped (ADR 0013, 3a): loading
            // organization B folds its deletion while A's snapshot is sealed. The next loads write it (a workspace's
            // only after a load with no erasure since the one before), so three passes leave a snapshot of every
            // stream (seed -2026371553 failed the "a snapshot is read" check below with one pass).
            for (let pass = 0; pass < 3; pass++) {
              await loadEverything(writer, log);
              await writer.snapshots.settled();
            }
            // the rest of the history (deletions forget their keys after the snapshots were sealed)
            await replayAppends(writer, appends.slice(cut), emailsOf);
            await writer.close();
            opened.length = 0;
            expect(writer.errors).toEqual([]);

            const fromSnapshots = await open(dir, { every: Infinity });
            // rule 12 at rest, once the deletions are done (before any load could notice): no snapshot sealed before a
            // deletion in its organization can still be opened
            expect(await readableSnapshotsOfOlderEpochs(fromSnapshots, log)).toEqual([]);
            const replayed = await open(dir, { snapshots: false });
            const a = await loadEverything(fromSnapshots, log);
            const b = await loadEverything(replayed, log);
            expect(a).toEqual(b);
            expect(fromSnapshots.errors).toEqual([]);
            // a snapshot is read unless an erasure after it shredded it: its organization's, or one that reached its
            // workspace (docs/adr/0013, "Session 43")
            const erasedAfter = appends.slice(cut).flatMap((x) => x.events) as { type: string; data: { organizationId: string; workspaceId: string } }[];
            const shredded = new Set([
              ...erasedAfter.filter((e) => e.type === 'UserDeleted' || e.type === 'AddressErased').map((e) => organizationStream(e.data.organizationId)),
              ...erasedAfter.filter((e) => e.type === 'UserDeletedFromWorkspace' || e.type === 'InvitationAddressErased').map((e) => workspaceStream(e.data.workspaceId)),
            ]);
            const loaded = (stream: string) => stream.startsWith('organization-') || (stream.startsWith('workspace-') && log.workspaces.has(stream.slice('workspace-'.length)));
            const snapshotted = new Set(appends.slice(0, cut).map((x) => x.stream).filter(loaded));
            expect(fromSnapshots.reads.filter((r) => r.fromRevision > 0n && shredded.has(r.stream))).toEqual([]);
            if ([...snapshotted].some((stream) => !shredded.has(stream))) expect(fromSnapshots.reads.some((r) => r.fromRevision > 0n)).toBe(true);
            for (const p of opened.splice(0)) await p.close();

            // the same commands through StreamHandler on two copies of the data: one cold from snapshots, one replayed
            cpSync(dir, copy, { recursive: true });
            const withSnapshots = await open(dir, { every: Infinity });
            const withoutSnapshots = await open(copy, { snapshots: false });
            const workspaces = [...log.workspaces.keys()];
            for (const [i, command] of commands.entries()) {
              const workspaceId = workspaces[command.n % workspaces.length]!;
              const { organizationId } = log.workspaces.get(workspaceId)!;
              const cmd = commandFor(log, workspaceId, command, log.now);
              const run = (p: Process) =>
                outcomeOf(
                  p.handler.handle(workspace({ organizationId, workspaceId }), newCommandContext({ actorId: cmd.actorId, idempotencyKey: `prop-${i}`, now: log.now }), (ctx) =>
                    decideWorkspace(cmd, ctx) as Decision<DomainEvent>,
                  ),
                );
              expect(await run(withSnapshots)).toEqual(await run(withoutSnapshots));
            }
          } finally {
            for (const p of opened) await p.close();
            rmSync(dir, { recursive: true, force: true });
            rmSync(copy, { recursive: true, force: true });
          }
        },
      ),
      { numRuns: 30 },
    );
  }, 180_000);
});
