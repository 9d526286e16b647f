// npm run bench:query — queries over one workspace of 100,000 members in the embedded read store: search (q),
// plain pages (sorts, cursors), the CSV export streamed to a counting sink while RSS is sampled, the team invite
// lookup of a 1,000-member team (rule 15) and the team list of a workspace with 500 own and 500 visible partner
// teams (rule 16); then what a user's deletion adds once projected (the erasure purge: the search index merged, the file
// written anew by VACUUM). Last line: the JSON figures.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { type Projection, membersProjection, orgUsersProjection, teamsProjection, workspacesProjection } from '../libs/read-store/src/projections';
import type { RecordedEvent } from '@rollcall/event-store';
import { ProjectionBatch, toProjectedEvent } from '../libs/read-store/src/projector/batch';
import { Projector } from '../libs/read-store/src/projector';
import { StoreSource } from '../libs/read-store/src/projector/store-source';
import { exportMembersCsv, listMembers, listTeamInvitees, listTeams, type ListMembersOptions } from '../libs/read-store/src/queries';
import { SqliteReadStore } from '../libs/read-store/src/store';
import { prng } from '../libs/read-store/src/projections/testing/simulated-traffic';
import { WORKSPACE, generateWorkspace, personName } from './lib/query-members';
import { BIG_TEAM, teamEvents } from './lib/query-teams';

const TEAM_SIZE = 1_000;
const OWN_TEAMS = 500;
const PARTNER_TEAMS = 500;

const MEMBERS = Number(process.env.BENCH_QUERY_MEMBERS ?? 100_000);

const quantile = (samples: number[], q: number): number => {
  const sorted = [...samples].sort((a, b) => a - b);
  return Number(sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(sorted.length * q) - 1))]!.toFixed(2));
};
const p95 = (samples: number[]): number => quantile(samples, 0.95);

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await fn();
  return performance.now() - started;
}

/**
 * Wall time and this process's CPU time of one call. The reads are synchronous SQLite calls on this thread, so on an
 * idle machine the two agree; on a loaded one (2 shared cores) the wall time also counts the waits for a core.
 */
async function timedWithCpu(fn: () => Promise<unknown>, wall: number[], cpu: number[]): Promise<void> {
  const cpuBefore = process.cpuUsage();
  wall.push(await timed(fn));
  const used = process.cpuUsage(cpuBefore);
  cpu.push((used.user + used.system) / 1000);
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'rollcall-bench-query-'));
  const store = new SqliteReadStore({ path: join(dir, 'read.sqlite'), synchronous: 'NORMAL' });
  try {
    // the members read model, built by the projection itself, committed chunk by chunk
    const t0 = performance.now();
    // the organization's users too: the list's pages read who is an org admin from them
    const projections = [membersProjection, orgUsersProjection, teamsProjection, workspacesProjection];
    await store.init(Projector.collectionsOf(projections));
    const source = new StoreSource(store, 300_000);
    source.trustAfter = -1n;
    const project = async (events: RecordedEvent[], only: readonly Projection[] = projections) => {
      for (const projection of only) {
        const batch = new ProjectionBatch(projection, source);
        for (const recorded of events) {
          const e = toProjectedEvent(recorded);
          if (e && projection.eventTypes.includes(e.event.type)) await batch.apply(e);
          else batch.skip(recorded.position);
        }
        const writes = batch.writes();
        await store.commit(projection.name, writes, batch.lastPosition!);
        source.committed(writes);
      }
    };
    let last = 0n;
    await generateWorkspace(MEMBERS, async (events) => {
      await project(events, [membersProjection, orgUsersProjection]);
      last = events.at(-1)?.position ?? last;
    });
    // teams: one of TEAM_SIZE members, OWN_TEAMS - 1 more, and PARTNER_TEAMS a networked partner shares and this one chose
    await project(teamEvents(last, { teamSize: TEAM_SIZE, members: MEMBERS, ownTeams: OWN_TEAMS - 1, partnerTeams: PARTNER_TEAMS }));
    source.clear();
    const listed = await store.count('members', { where: { workspaceId: WORKSPACE } });
    console.log(`read model: ${listed} members and invitations in ${WORKSPACE} (${((performance.now() - t0) / 1000).toFixed(1)} s to build)`);

    // search: parts of names, emails, aliases, domains; some that match nothing
    const next = prng(5);
    const searches: string[] = [];
    for (let i = 0; i < 300; i++) {
      const n = personName(next() % MEMBERS);
      const kind = i % 6;
      searches.push(
        kind === 0 ? n.last.slice(0, 4) : kind === 1 ? n.email.slice(0, 6) : kind === 2 ? `${n.first.toLowerCase()}.${n.last.toLowerCase().slice(0, 3)}` : kind === 3 ? n.email.split('@')[0]! : kind === 4 ? 'globex' : `zz${i}q`,
      );
    }
    for (const q of searches.slice(0, 20)) await listMembers(store, WORKSPACE, { q, limit: 50 }); // warm-up
    const searchTimes: number[] = [];
    for (const q of searches) searchTimes.push(await timed(() => listMembers(store, WORKSPACE, { q, limit: 50 })));

    // pages: the default list and each sort, first pages and pages further on through cursors
    const pageTimes: number[] = [];
    const sorts: ListMembersOptions[] = [{}, { sort: 'email' }, { sort: 'joined' }, { sort: 'lastSeen' }, { status: 'revoked' }, { role: 'manager' }, { sort: 'name', direction: 'desc' }];
    for (const options of sorts) {
      let cursor: string | undefined;
      for (let page = 0; page < 30; page++) {
        let nextCursor: string | undefined;
        pageTimes.push(await timed(async () => (nextCursor = (await listMembers(store, WORKSPACE, { ...options, limit: 50, cursor })).nextCursor)));
        if (!nextCursor) break;
        cursor = nextCursor;
      }
    }

    // rule 15: the invite lookup of the big team (its members' names and presence, joined from the member documents)
    const team = { teamId: BIG_TEAM, workspaceId: WORKSPACE };
    const invited = (await listTeamInvitees(store, team)).length;
    for (let i = 0; i < 20; i++) await listTeamInvitees(store, team); // warm-up
    const [inviteeTimes, inviteeCpu]: number[][] = [[], []];
    for (let i = 0; i < 200; i++) await timedWithCpu(() => listTeamInvitees(store, team), inviteeTimes, inviteeCpu);
    // rule 16: the team list, own teams and visible partner teams
    const teamList = await listTeams(store, WORKSPACE);
    const partnerListed = teamList.filter((t) => t.partner).length;
    for (let i = 0; i < 20; i++) await listTeams(store, WORKSPACE); // warm-up
    const [teamListTimes, teamListCpu]: number[][] = [[], []];
    for (let i = 0; i < 200; i++) await timedWithCpu(() => listTeams(store, WORKSPACE), teamListTimes, teamListCpu);
    console.log(`teams: lookup of ${invited} invitees; list of ${teamList.length - partnerListed} own and ${partnerListed} partner teams`);

    // export: every member (all statuses), streamed into a sink that only counts; RSS sampled meanwhile
    (globalThis as { gc?: () => void }).gc?.();
    const baseline = process.memoryUsage().rss;
    let peak = baseline;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
    let bytes = 0;
    let lines = 0;
    const exportMs = await timed(() =>
      pipeline(
        exportMembersCsv(store, WORKSPACE, { status: ['pending', 'active', 'revoked'] }),
        new Writable({
          write(chunk: Buffer, _encoding, done) {
            bytes += chunk.length;
            for (const byte of chunk) if (byte === 10) lines++;
            setImmediate(done); // a consumer that takes its time: backpressure must hold the producer back
          },
        }),
      ),
    );
    clearInterval(sampler);
    peak = Math.max(peak, process.memoryUsage().rss);
    console.log(`export: ${lines - 1} rows, ${(bytes / 1e6).toFixed(1)} MB of CSV`);

    // what a user's deletion adds once projected (rule 12 at rest): the search index merged and the file written anew
    // (VACUUM: copies of moved rows that page splits left behind; ReadStore.purgeOldVersions)
    const fileMiB = statSync(join(dir, 'read.sqlite')).size / 2 ** 20;
    const erasurePurgeMs = await timed(() => store.purgeOldVersions(BigInt(Number.MAX_SAFE_INTEGER)));
    console.log(`erasure purge (search index merged, VACUUM) of a ${fileMiB.toFixed(0)} MiB file: ${erasurePurgeMs.toFixed(0)} ms`);
    console.log(
      JSON.stringify({
        bench: 'query',
        members: MEMBERS,
        searchP95Ms: p95(searchTimes),
        pageP95Ms: p95(pageTimes),
        exportMs: Math.round(exportMs),
        erasurePurgeMs: Math.round(erasurePurgeMs),
        readFileMiB: Math.round(fileMiB),
        exportRssGrowthMb: Number(((peak - baseline) / 1024 / 1024).toFixed(1)),
        teamSize: invited,
        inviteesP50Ms: quantile(inviteeTimes, 0.5),
        inviteesP95Ms: p95(inviteeTimes),
        inviteesCpuP95Ms: p95(inviteeCpu),
        teamListSize: teamList.length,
        teamListP95Ms: p95(teamListTimes),
        teamListCpuP95Ms: p95(teamListCpu),
        // the machine is shared: figures taken under load are not comparable with quiet ones
        load1: loadavg()[0],
      }),
    );
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
