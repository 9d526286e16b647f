// bench:http, phase 1: the commands the 64 clients send (invite, accept, change access), the workspaces they are
// sent to (set up over HTTP) and the per-command statistics. See ../http.ts for the whole bench.
import { randomUUID } from 'node:crypto';
import { type JsonClient, type Reply, tokenOf } from './http-client';
import { Samples } from './http-stats';

/** BENCH_HTTP_IDEMPOTENCY=1: every command carries an Idempotency-Key */
export const IDEMPOTENCY = process.env.BENCH_HTTP_IDEMPOTENCY === '1';

export interface SetUpShape {
  systemKey: string;
  workspaces: number;
  membersPerWorkspace: number;
  pendingPerWorkspace: number;
}

export type Op = 'invite' | 'accept' | 'changeAccess';
export const OPS: Op[] = ['invite', 'accept', 'changeAccess'];

export interface Member {
  userId: string;
  role: 'agent' | 'manager';
}
export interface Workspace {
  key: string;
  admin: string;
  workspaceId: string;
  members: Member[];
}
export interface Pending {
  token: string;
  ws: Workspace;
}

export class OpStats {
  readonly latency = new Samples();
  ok = 0;
  readonly failures = new Map<string, number>();

  record(reply: Reply | Error): void {
    if (reply instanceof Error) {
      this.fail(`transport ${reply.message}`);
      return;
    }
    this.latency.add(reply.ms);
    if (reply.status >= 200 && reply.status < 300) this.ok++;
    else this.fail(`${reply.status} ${reply.body?.code ?? ''}`.trim());
  }

  fail(what: string): void {
    this.failures.set(what, (this.failures.get(what) ?? 0) + 1);
  }

  get errors(): number {
    let n = 0;
    for (const v of this.failures.values()) n += v;
    return n;
  }
}

export const expectStatus = (reply: Reply, status: number, what: string): Reply => {
  if (reply.status !== status) throw new Error(`${what}: HTTP ${reply.status} ${JSON.stringify(reply.body)}`);
  return reply;
};

const idempotency = (): Record<string, string> => (IDEMPOTENCY ? { 'idempotency-key': randomUUID() } : {});

async function pool<T>(items: T[], concurrency: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

let emailSeq = 0;
const newEmail = () => `load-${++emailSeq}-${Math.random().toString(36).slice(2, 8)}@load.bench.test`;

const invite = (client: JsonClient, ws: Workspace) =>
  client.send('POST', `/v1/workspaces/${ws.workspaceId}/invitations`, {
    key: ws.key,
    actor: ws.admin,
    body: { email: newEmail(), roles: ['agent'] },
    headers: idempotency(),
  });
const accept = (client: JsonClient, token: string) =>
  client.send('POST', '/v1/invitations/accept', { body: { token }, headers: idempotency() });
export const changeAccess = (
  client: JsonClient,
  ws: { key: string; admin: string; workspaceId: string },
  userId: string,
  role: string,
) =>
  client.send('PATCH', `/v1/workspaces/${ws.workspaceId}/members/${userId}/access`, {
    key: ws.key,
    actor: ws.admin,
    body: { roles: [role] },
    headers: idempotency(),
  });

/** 100 organizations with one workspace each, members and pending invitations, over HTTP. */
export async function setUp(client: JsonClient, shape: SetUpShape): Promise<{ workspaces: Workspace[]; pending: Pending[] }> {
  const workspaces: Workspace[] = [];
  const pending: Pending[] = [];
  await pool(
    Array.from({ length: shape.workspaces }, (_, i) => i),
    16,
    async (i) => {
      const org = expectStatus(
        await client.send('POST', '/v1/organizations', {
          key: shape.systemKey,
          body: {
            name: `Load ${i}`,
            admin: { email: `admin-${i}@load.bench.test`, displayName: 'Load Admin' },
          },
        }),
        201,
        'create organization',
      ).body;
      const created = expectStatus(
        await client.send('POST', `/v1/organizations/${org.organizationId}/workspaces`, {
          key: org.apiKey,
          actor: org.adminUserId,
          body: { name: `Support ${i}` },
        }),
        201,
        'create workspace',
      ).body;
      const ws: Workspace = {
        key: org.apiKey,
        admin: org.adminUserId,
        workspaceId: created.workspaceId,
        members: [],
      };
      for (let m = 0; m < shape.membersPerWorkspace; m++) {
        const inv = expectStatus(await invite(client, ws), 201, 'invite');
        const acc = expectStatus(await accept(client, tokenOf(inv.body.inviteUrl)), 200, 'accept');
        ws.members.push({ userId: acc.body.userId, role: 'agent' });
      }
      for (let p = 0; p < shape.pendingPerWorkspace; p++)
        pending.push({
          token: tokenOf(expectStatus(await invite(client, ws), 201, 'invite').body.inviteUrl),
          ws,
        });
      workspaces.push(ws);
    },
  );
  return { workspaces, pending };
}

const pick = <T>(xs: T[]): T => xs[Math.floor(Math.random() * xs.length)]!;

/**
 * `clients` closed-loop clients for `seconds`; returns per-command stats and the window's wall time. `timeline`, when
 * given, receives each answer's end (epoch ms) and latency, in pairs (lib/http-tail.ts).
 */
export async function load(client: JsonClient, workspaces: Workspace[], pending: Pending[], seconds: number, clients: number, timeline?: number[]) {
  const stats: Record<Op, OpStats> = {
    invite: new OpStats(),
    accept: new OpStats(),
    changeAccess: new OpStats(),
  };
  let acceptFallbacks = 0;
  const started = performance.now();
  const until = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (performance.now() < until) {
        let op = OPS[Math.floor(Math.random() * 3)]!;
        if (op === 'accept' && pending.length === 0) {
          op = 'invite';
          acceptFallbacks++;
        }
        const sent = performance.now();
        try {
          if (op === 'invite') {
            const ws = pick(workspaces);
            const reply = await invite(client, ws);
            stats.invite.record(reply);
            if (reply.status === 201) pending.push({ token: tokenOf(reply.body.inviteUrl), ws });
          } else if (op === 'accept') {
            const i = Math.floor(Math.random() * pending.length);
            const { token, ws } = pending[i]!;
            pending[i] = pending[pending.length - 1]!;
            pending.pop();
            const reply = await accept(client, token);
            stats.accept.record(reply);
            if (reply.status === 200) ws.members.push({ userId: reply.body.userId, role: 'agent' });
          } else {
            const ws = pick(workspaces);
            const member = pick(ws.members);
            const to = member.role === 'agent' ? 'manager' : 'agent';
            const reply = await changeAccess(client, ws, member.userId, to);
            stats.changeAccess.record(reply);
            if (reply.status === 200) member.role = reply.body.access.roles[0];
          }
        } catch (error) {
          stats[op].record(error instanceof Error ? error : new Error(String(error)));
        }
        if (timeline) {
          const now = performance.now();
          timeline.push(performance.timeOrigin + now, now - sent);
        }
      }
    }),
  );
  return { stats, seconds: (performance.now() - started) / 1000, acceptFallbacks };
}

