// bench:http, phase 2: change access by workspace size — the cold loads of the 100,000-member workspace (replayed,
// then from its snapshots after a restart) with /health probed meanwhile, and the sequential series — and the wait
// for the projections to catch up. See ../http.ts for the whole bench.
import type { JsonClient } from './http-client';
import { changeAccess, expectStatus } from './http-commands';
import type { SeededWorkspace } from './http-seed';
import { Samples, fmt } from './http-stats';

/**
 * Cold command, then `series` change-access commands per workspace, alternating small / big. Each command
 * really changes something: it flips a member between agent and manager (the 100-member workspace's members
 * are each flipped twice over the series).
 */
export async function changeAccessBySize(
  series: number,
  first: JsonClient,
  small: SeededWorkspace,
  big: SeededWorkspace,
  mark: (label: string) => void,
  restart: () => Promise<JsonClient>,
) {
  let client = first;
  const seriesOf = (ws: SeededWorkspace) => {
    const ids = [...ws.memberIds];
    for (let i = ids.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [ids[i], ids[j]] = [ids[j]!, ids[i]!];
    }
    const roles = new Map<string, string>();
    let next = 0;
    return async () => {
      const userId = ids[next++ % ids.length]!;
      const to = roles.get(userId) === 'manager' ? 'agent' : 'manager';
      const reply = await changeAccess(
        client,
        { key: ws.apiKey, admin: ws.adminUserId, workspaceId: ws.workspaceId },
        userId,
        to,
      );
      expectStatus(reply, 200, `change access in the ${ws.memberIds.length}-member workspace`);
      if (reply.body.changed?.[0] !== 'AccessLevelChanged')
        throw new Error(`unexpected answer ${JSON.stringify(reply.body)}`);
      roles.set(userId, to);
      return reply.ms;
    };
  };
  const nextSmall = seriesOf(small);
  const nextBig = seriesOf(big);
  const coldSmall = await nextSmall();
  mark('cold command, small workspace');
  // while the big workspace loads cold, does the server still answer others? (GET /health, one at a time)
  const probed = async (command: () => Promise<number>) => {
    let loading = true;
    const probe = new Samples();
    const prober = (async () => {
      while (loading) probe.add((await client.send('GET', '/health')).ms);
    })();
    const ms = await command().finally(() => (loading = false));
    await prober;
    return { ms, probe };
  };
  // no snapshot yet: the whole streams are replayed (and their snapshots written in the background)
  const replay = await probed(nextBig);
  mark('cold command, big workspace, replayed');
  // a new server process on the same data dir: the cold load reads the snapshots and folds the events after them
  client = await restart();
  mark('restarted'); // the trace of the cold load below starts here, not with the server's start
  const fromSnapshot = await probed(nextBig);
  mark('cold command, big workspace, from snapshot');
  const coldBig = fromSnapshot.ms;
  const probe = fromSnapshot.probe;
  const smallLatency = new Samples();
  const bigLatency = new Samples();
  for (let i = 0; i < series; i++) {
    smallLatency.add(await nextSmall());
    bigLatency.add(await nextBig());
  }
  return { coldSmall, coldBig, smallLatency, bigLatency, probe, replay };
}

/** Phase 2's lines: the change-access series by workspace size, and the cold loads with /health meanwhile. */
export function printColdLoad(
  size: Awaited<ReturnType<typeof changeAccessBySize>>,
  shape: { series: number; smallMembers: number; bigMembers: number },
  out: (line: string) => void,
): void {
  const { series, smallMembers, bigMembers } = shape;
  const p50Small = size.smallLatency.percentile(50);
  const p50Big = size.bigLatency.percentile(50);
  out(`Change access, ${series} sequential commands per workspace (after one cold command each):`);
  out(
    `  ${String(smallMembers).padStart(6)} members: p50 ${fmt(p50Small)} ms  p99 ${fmt(size.smallLatency.percentile(99))} ms  cold ${fmt(size.coldSmall)} ms`,
  );
  out(
    `  ${String(bigMembers).padStart(6)} members: p50 ${fmt(p50Big)} ms  p99 ${fmt(size.bigLatency.percentile(99))} ms  cold ${fmt(size.coldBig)} ms`,
  );
  out(
    `  cold load of the ${bigMembers}-member workspace (organization + workspace streams): ${fmt(size.coldBig)} ms from the snapshots after a restart (goal <= 1000), ${fmt(size.replay.ms)} ms replaying the whole streams (no snapshot yet)`,
  );
  out(
    `  meanwhile GET /health answered ${size.probe.count} times, slowest ${fmt(size.probe.max())} ms (goal <= 100); during the replay ${size.replay.probe.count} times, slowest ${fmt(size.replay.probe.max())} ms`,
  );
  out(
    `  ratio p50(${bigMembers})/p50(${smallMembers}) = ${(p50Big / p50Small).toFixed(2)} (goal <= 1.5)`,
  );
}

/** Waits until every projection's lag (GET /metrics, rollcall_projection_lag) is 0. */
export async function projectionsCaughtUp(client: JsonClient, metricsToken: string, timeoutMs = 300_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const reply = await client.send('GET', '/metrics', { key: metricsToken });
    if (reply.status !== 200) throw new Error(`GET /metrics answered ${reply.status}: ${JSON.stringify(reply.body)}`);
    const metrics = String(reply.body);
    const lags = [...metrics.matchAll(/^rollcall_projection_lag\{[^}]*\} (\d+)/gm)].map((m) => Number(m[1]));
    if (lags.length > 0 && lags.every((lag) => lag === 0)) return;
    if (performance.now() > deadline) throw new Error(`projections still lagging after ${timeoutMs} ms: ${lags.join(', ')}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}
