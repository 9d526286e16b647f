// The event store's disk full, or read-only, under writes of every shape (one event; two events in one stream; two
// streams at once): writes answer 503 EVENT_STORE_UNAVAILABLE, reads go on, nothing is half-written, and the same
// process takes writes again once the fault is gone. Disk full is a real 4 MiB tmpfs under events.sqlite (a new one
// holds ~1 MiB of empty key tables: ADR 0026) where the machine lets us mount one (else SQLite's page limit on the
// adapter's connection); read-only is the adapter's connection set query_only (a mounted filesystem cannot be made
// read-only under open files).
import { mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EventStore, RecordedEvent } from '@rollcall/event-store';
import { Metrics } from '../apps/api/src/infrastructure/metrics';
import { EVENT_STORE } from '../apps/api/src/shared/tokens';
import { type Reply, type TestApp, expectProblem, startTestApp, tokenOf } from './support/app';
import { capPages, fillFilesystem, freeSpace, readOnly, sqliteStoreOf, tryMountTmpfs, unmount } from './support/faults';
import { checkDecidedState } from './support/invariants';
import { differences, liveAndRebuilt } from './support/read-models';
import { clientKeyOf } from './support/recorded-keys';

interface Sent {
  key: string;
  kind: 'invite' | 'change' | 'accept';
  method: string;
  path: string;
  body: unknown;
  reply: Reply;
}

/** An organization with agents and pending invitations: the material of writes of every shape. */
async function material(app: TestApp, count: number) {
  const o = await app.api.organization({ plan: 'advanced' });
  const as = { key: o.key, actor: o.admin, workspaceId: o.workspaceId };
  const agents: string[] = [];
  for (let i = 0; i < 4; i++) agents.push(await app.api.member(as, `agent-${i}@acme.test`, { roles: ['agent'] }));
  const tokens: string[] = [];
  for (let i = 0; i < count; i++) {
    const inv = await app.api.request('POST', `/v1/workspaces/${o.workspaceId}/invitations`, { key: o.key, actor: o.admin, body: { email: `pending-${i}@acme.test` } });
    tokens.push(tokenOf(inv.body.inviteUrl));
  }
  return { ...o, agents, tokens };
}

/**
 * Sends writes of the three shapes, three at a time (one commit of the embedded store takes them together), until
 * `enough` of them were refused with 503 (or `max` were sent).
 */
async function writeUntilRefused(app: TestApp, m: Awaited<ReturnType<typeof material>>, prefix: string, enough: number, max: number): Promise<Sent[]> {
  const sent: Sent[] = [];
  for (let i = 0; i < max && sent.filter((s) => s.reply.status === 503).length < enough; i += 3)
    sent.push(...(await Promise.all([i, i + 1, i + 2].map((n) => writeOne(app, m, prefix, n)))).flat());
  return sent;
}

async function writeOne(app: TestApp, m: Awaited<ReturnType<typeof material>>, prefix: string, i: number): Promise<Sent[]> {
  const key = `${prefix}-${i}`;
  const ws = `/v1/workspaces/${m.workspaceId}`;
  const kind = (['invite', 'change', 'accept'] as const)[i % 3]!;
  const agent = m.agents[i % m.agents.length]!;
  const [method, path, body] = {
    invite: ['POST', `${ws}/invitations`, { email: `${prefix}-${i}@acme.test`, roles: ['agent'] }],
    // two events in one stream: the level and the restrictions that go with it
    change: ['PATCH', `${ws}/members/${agent}/access`, i % 2 ? { roles: ['manager'], restrictions: { data_export: true } } : { roles: ['agent'], restrictions: { workflows: true } }],
    // two streams at once: the organization (a new user) and the workspace
    accept: ['POST', '/v1/invitations/accept', { token: m.tokens.shift() }],
  }[kind] as [string, string, unknown];
  if (kind === 'accept' && !(body as { token?: string }).token) return [];
  const reply = await app.api.request(method, path, { key: kind === 'accept' ? undefined : m.key, actor: kind === 'accept' ? undefined : m.admin, body, headers: { 'idempotency-key': key } });
  return [{ key, kind, method, path, body, reply }];
}

/** Every command's events are one append: consecutive positions, one commit, every stream its kind writes. */
function halfWritten(log: RecordedEvent[], sent: Sent[], dataDir: string): string[] {
  const byKey = new Map<string, RecordedEvent[]>();
  const keyOf = clientKeyOf(dataDir, sent.map((s) => s.key));
  for (const e of log) {
    const key = keyOf(e.metadata.idempotencyKey);
    byKey.set(key, [...(byKey.get(key) ?? []), e]);
  }
  const wrong: string[] = [];
  for (const s of sent) {
    const events = byKey.get(s.key) ?? [];
    if (events.length === 0) continue;
    const consecutive = events.every((e, i) => i === 0 || e.position === events[i - 1]!.position + 1n);
    const oneCommit = new Set(events.map((e) => e.created.getTime())).size === 1;
    const types = events.map((e) => e.type).sort();
    // a change of level always brings the restriction valid for the new level (workflows: agents, data_export: managers):
    // the old level's restriction goes first, then the level, then the new one (rule 17: each step a valid access)
    const whole =
      s.kind === 'invite'
        ? types.join() === 'UserInvited'
        : s.kind === 'accept'
          ? types.includes('InvitationAccepted') && types.includes('UserJoinedOrganization')
          : types.join() === 'AccessLevelChanged,RestrictionsChanged,RestrictionsChanged' || types.join() === 'AccessLevelChanged,RestrictionsChanged' || types.join() === 'RestrictionsChanged';
    if (!consecutive || !oneCommit || !whole) wrong.push(`${s.kind} ${s.key}: ${types.join(', ')} at ${events.map((e) => e.position).join(', ')}`);
  }
  return wrong;
}

/** The fault's refusals, its recovery, and the log and read models afterwards. */
async function checkFault(app: TestApp, stop: () => Promise<void>, dataDir: string, inject: () => Promise<() => unknown>, label: string) {
  const events: EventStore = app.app.get(EVENT_STORE);
  const m = await material(app, 30);
  const restore = await inject();
  let sent: Sent[];
  try {
    sent = await writeUntilRefused(app, m, label, 9, 400);
    // reads go on meanwhile
    const read = await app.api.request('GET', `/v1/workspaces/${m.workspaceId}/members`, { key: m.key, actor: m.admin });
    expect(read.status).toBe(200);
    // and /health says the event store takes no writes while the last write was refused (a write between: the disk
    // full, a smaller one may fit), /metrics counts the refusals by cause (probe 41 F1: 200 `up`)
    for (let i = 0; i < 30 && sent.at(-1)?.reply.status !== 503; i++) sent.push(...(await writeOne(app, m, `${label}-last`, i * 3)));
    expect(sent.at(-1)?.reply.status).toBe(503);
    const health = await app.api.request('GET', '/health');
    expect({ status: health.status, code: health.body.code, detail: health.body.detail }).toEqual({ status: 503, code: 'UNHEALTHY', detail: expect.stringContaining('eventStore down: writes refused (') });
    // why, per indicator, as the 200 answer names them (probe 95 F2: the 503 named the indicators only)
    expect(health.body.checks.eventStore).toEqual({ status: 'down', message: expect.stringMatching(/^writes refused \((disk full|read-only|.+)\) since /) });
    const counted = (await app.app.get(Metrics).storageFaults.get()).values.reduce((sum, v) => sum + v.value, 0);
    expect(counted).toBeGreaterThanOrEqual(9);
  } finally {
    await restore();
  }
  const refused = sent.filter((s) => s.reply.status >= 500);
  expect(refused.length).toBeGreaterThanOrEqual(9);
  // what was not refused went through (or was refused by a rule, as without the fault)
  for (const s of sent.filter((s) => s.reply.status < 500)) expect({ key: s.key, status: s.reply.status }).toEqual({ key: s.key, status: s.kind === 'invite' ? 201 : 200 });
  for (const s of refused) expectProblem(s.reply, 503, 'EVENT_STORE_UNAVAILABLE');
  for (const s of refused) expect(s.reply.headers.get('retry-after')).toBe('5');

  // the same process takes writes again: each refused command, retried with its key, is done once
  for (const s of refused) {
    const retried = await app.api.request(s.method, s.path, { key: s.kind === 'accept' ? undefined : m.key, actor: s.kind === 'accept' ? undefined : m.admin, body: s.body, headers: { 'idempotency-key': s.key } });
    // the detail names the store's fault (busy, disk full…): a refusal here says which
    expect({ key: s.key, status: retried.status, code: retried.body?.code, detail: retried.body?.detail }).toEqual({ key: s.key, status: s.kind === 'invite' ? 201 : 200, code: undefined, detail: undefined });
  }
  const after = await app.api.request('POST', `/v1/workspaces/${m.workspaceId}/invitations`, { key: m.key, actor: m.admin, body: { email: `${label}-after@acme.test` } });
  expect(after.status).toBe(201);
  // writes succeed again: the event store is up (the projections may still be catching up: not asserted here)
  const healthy = await app.api.request('GET', '/health');
  if (healthy.status === 200) expect(healthy.body.details.eventStore).toEqual({ status: 'up' });
  else expect(healthy.body.detail).not.toContain('eventStore');

  const log: RecordedEvent[] = [];
  for await (const e of events.readAll()) log.push(e);
  expect(halfWritten(log, sent, dataDir)).toEqual([]);
  expect(checkDecidedState(log).violations).toEqual([]);
  const head = await events.headPosition();
  expect((await app.api.request('GET', `/v1/workspaces/${m.workspaceId}/members?limit=1`, { key: m.key, actor: m.admin, headers: { 'x-min-position': String(head) } })).status).toBe(200);
  await stop();
  const { live, rebuilt } = await liveAndRebuilt(dataDir);
  expect(differences(live, rebuilt)).toEqual([]);
  return { sent: sent.length, refused: refused.length };
}

/** stops the app once, whoever asks first (the check, or the test's cleanup) */
const stopper = (app: TestApp) => {
  let stopped: Promise<void> | undefined;
  return () => (stopped ??= app.stop());
};

describe('storage faults of the embedded event store', () => {
  it("its disk full: writes answer 503 with a code, nothing is half-written, and writes work again when space returns", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'rollcall-disk-full-'));
    const mount = `${dataDir}-events`;
    const tmpfs = tryMountTmpfs(mount, '4m');
    // SQLite follows the link: the database, its WAL and shared memory live on the small filesystem
    if (tmpfs) symlinkSync(join(mount, 'events.sqlite'), join(dataDir, 'events.sqlite'));
    const app = await startTestApp({ ROLLCALL_DATA_DIR: dataDir, ROLLCALL_PRESENCE_TIMEOUT_SECONDS: '86400', LOG_LEVEL: process.env.FAULTS_LOG ?? 'silent' });
    const stop = stopper(app);
    try {
      if (tmpfs) expect(readdirSync(mount)).toEqual(expect.arrayContaining(['events.sqlite', 'events.sqlite-wal']));
      const inject = tmpfs
        ? async () => {
            // a few writes still fit, then the disk is full
            const ballast = fillFilesystem(mount, 48 * 1024);
            return () => freeSpace(ballast);
          }
        : () => capPages(sqliteStoreOf(app.app.get(EVENT_STORE)));
      const result = await checkFault(app, stop, dataDir, inject, 'full');
      console.log(`disk full (${tmpfs ? '4 MiB tmpfs, 48 KiB left' : 'SQLite page limit'}): ${result.refused} of ${result.sent} writes refused with 503, all done once after space returned`);
    } finally {
      await stop();
      if (tmpfs) unmount(mount);
      else rmSync(mount, { recursive: true, force: true });
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 120_000);

  it('its connection read-only: writes answer 503 with a code, reads go on, and writes work again afterwards', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'rollcall-read-only-'));
    const app = await startTestApp({ ROLLCALL_DATA_DIR: dataDir, ROLLCALL_PRESENCE_TIMEOUT_SECONDS: '86400' });
    const stop = stopper(app);
    try {
      const result = await checkFault(app, stop, dataDir, () => readOnly(sqliteStoreOf(app.app.get(EVENT_STORE))), 'ro');
      console.log(`read-only: ${result.refused} of ${result.sent} writes refused with 503, all done once afterwards`);
    } finally {
      await stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 120_000);
});
