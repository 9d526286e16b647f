// kill -9 of an API process during load (issue 13), twice, each time restarted on the same data dir: nothing it
// acknowledged is lost, every write in doubt retried with its key is done at most once, the restarted projector and
// notary catch up, and the read models equal a rebuild from the log.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SYSTEM_KEY, tokenOf } from './support/api';
import { checkDecidedState, readLog } from './support/invariants';
import { differences, liveAndRebuilt } from './support/read-models';
import { clientKeyOf } from './support/recorded-keys';
import { Random } from './support/random';
import { type ServerProcess, auditCheckpoint, startServer } from './support/server-process';

const SEED = Number(process.env.ROLLCALL_KILL_SEED ?? 9);
const CLIENTS = 16;
const ROUNDS = 2;

interface Write {
  key: string;
  method: string;
  path: string;
  body?: unknown;
  token: boolean;
  /** ack: answered 2xx; refused: 4xx; doubt: no answer (the kill) */
  outcome?: 'ack' | 'refused' | 'doubt';
  position?: string;
  /** false when the answer said nothing changed (a team member already there, the same access): nothing appended */
  changed?: boolean;
}

describe('kill -9 of an API process during load', () => {
  let dataDir: string;
  let server: ServerProcess | undefined;
  beforeAll(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'rollcall-kill-'));
  });
  afterAll(async () => {
    await server?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it(`${ROUNDS} kills under ${CLIENTS} clients: nothing acknowledged lost, writes in doubt done at most once, read models equal a rebuild`, async () => {
    const random = new Random(SEED);
    server = await startServer({ dataDir });
    const org = await server.api.request('POST', '/v1/organizations', { key: SYSTEM_KEY, body: { name: 'Acme', admin: { email: 'admin@acme.test', displayName: 'Ada' } } });
    const { apiKey: key, adminUserId: admin, organizationId } = org.body as { apiKey: string; adminUserId: string; organizationId: string };
    const ws = (await server.api.request('POST', `/v1/organizations/${organizationId}/workspaces`, { key, actor: admin, body: { name: 'Support' } })).body.workspaceId as string;
    const agents: string[] = [];
    for (let i = 0; i < 6; i++) agents.push(await server.api.member({ key, actor: admin, workspaceId: ws }, `agent-${i}@acme.test`, { roles: ['agent'] }));
    const team = (await server.api.request('POST', `/v1/workspaces/${ws}/teams`, { key, actor: admin, body: { name: 'Night' } })).body.teamId as string;

    const writes: Write[] = [];
    const tokens: string[] = [];
    const stats = { acknowledged: 0, doubt: 0, replayed: 0 };
    for (let round = 0; round < ROUNDS; round++) {
      const live = server;
      let running = true;
      let n = 0;
      const next = (): Write => {
        const k = `kill-${round}-${n++}`;
        const agent = random.pick(agents);
        const token = tokens.shift();
        switch (token ? random.int(5) : random.int(4)) {
          case 0:
            return { key: k, method: 'POST', path: `/v1/workspaces/${ws}/invitations`, body: { email: `${k}@acme.test` }, token: false };
          case 1:
            return { key: k, method: 'PATCH', path: `/v1/workspaces/${ws}/members/${agent}/access`, body: random.chance(0.5) ? { roles: ['manager'] } : { roles: ['agent'], restrictions: { workflows: true } }, token: false };
          case 2:
            return { key: k, method: 'PUT', path: `/v1/workspaces/${ws}/teams/${team}/members/${agent}`, token: false };
          case 3:
            return { key: k, method: 'DELETE', path: `/v1/workspaces/${ws}/teams/${team}/members/${agent}`, token: false };
          default:
            return { key: k, method: 'POST', path: '/v1/invitations/accept', body: { token }, token: true };
        }
      };
      const client = async () => {
        while (running) {
          const w = next();
          writes.push(w);
          try {
            const reply = await live.api.request(w.method, w.path, { key: w.token ? undefined : key, actor: w.token ? undefined : admin, body: w.body, headers: { 'idempotency-key': w.key } });
            w.outcome = reply.status < 300 ? 'ack' : reply.status < 500 ? 'refused' : 'doubt';
            w.position = reply.body?.position;
            w.changed = reply.body?.changed !== false && reply.body?.changed?.length !== 0;
            if (reply.status === 201 && reply.body?.inviteUrl) tokens.push(tokenOf(reply.body.inviteUrl));
          } catch {
            w.outcome = 'doubt'; // the connection died with the process: written or not, nobody was told
            return;
          }
        }
      };
      const load = Array.from({ length: CLIENTS }, client);
      await new Promise((r) => setTimeout(r, 800 + random.int(800)));
      live.child.kill('SIGKILL');
      running = false;
      await Promise.all(load);
      expect(await live.exited).toBe('SIGKILL');

      // the log, read while nothing runs: every acknowledged write is there, at the position it answered
      const log = await readLog(dataDir);
      const positions = positionsByKey(log, clientKeyOf(dataDir, writes.map((w) => w.key)));
      const acknowledged = writes.filter((w) => w.outcome === 'ack' && w.changed && w.key.startsWith(`kill-${round}-`));
      const lost = acknowledged.filter((w) => w.position !== undefined && !positions.get(w.key)?.includes(BigInt(w.position))).map((w) => `${w.method} ${w.path} ${w.key}`);
      expect(lost).toEqual([]);
      stats.acknowledged += acknowledged.length;

      // restarted on the same data dir, it answers every write in doubt once (a replay when it was written)
      server = await startServer({ dataDir });
      const doubt = writes.filter((w) => w.outcome === 'doubt' && w.key.startsWith(`kill-${round}-`));
      stats.doubt += doubt.length;
      for (const w of doubt) {
        const reply = await server.api.request(w.method, w.path, { key: w.token ? undefined : key, actor: w.token ? undefined : admin, body: w.body, headers: { 'idempotency-key': w.key } });
        expect({ key: w.key, serverError: reply.status >= 500 }).toEqual({ key: w.key, serverError: false });
        // written before the kill: the answer is rebuilt from the log (docs/adr/0004)
        if (reply.headers.get('idempotency-replayed') === 'true') stats.replayed++;
      }
    }

    // every key appended at most once (one append: its events are consecutive), every invariant holds
    const log = await readLog(dataDir);
    const twice = [...positionsByKey(log, clientKeyOf(dataDir, writes.map((w) => w.key)))].filter(([, p]) => p.some((x, i) => i > 0 && x !== p[i - 1]! + 1n)).map(([k]) => k);
    expect(twice).toEqual([]);
    expect(checkDecidedState(log).violations).toEqual([]);
    // the restarted projector and notary reach the head of the log
    const head = log.at(-1)!.position;
    const read = await server.api.request('GET', `/v1/workspaces/${ws}/members?limit=1`, { key, actor: admin, headers: { 'x-min-position': String(head) } });
    expect(read.status).toBe(200);
    expect((await auditCheckpoint(server, head))[0]).toBe(String(log.length));
    await server.stop();
    const { live, rebuilt } = await liveAndRebuilt(dataDir);
    expect(differences(live, rebuilt)).toEqual([]);
    console.log(`kill -9: ${ROUNDS} kills, ${writes.length} writes sent, ${stats.acknowledged} acknowledged (0 lost), ${stats.doubt} in doubt retried once each (${stats.replayed} had been written: replayed), ${log.length} events`);
  }, 180_000);
});

/** the positions of each idempotency key's events (the keys sent: `keyOf`), in log order */
function positionsByKey(log: { metadata: Record<string, unknown>; position: bigint }[], keyOf: (recorded: unknown) => string): Map<string, bigint[]> {
  const byKey = new Map<string, bigint[]>();
  for (const e of log) {
    const key = keyOf(e.metadata.idempotencyKey);
    byKey.set(key, [...(byKey.get(key) ?? []), e.position]);
  }
  return byKey;
}
