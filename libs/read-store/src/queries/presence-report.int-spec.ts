import type { Readable } from 'node:stream';
import { PRESENCE_DAILY, PRESENCE_OPEN, PROJECTIONS, type PresenceDayDoc, type PresenceOpenDoc, presenceDayId, presenceOpenId } from '../projections';
import { rebuild } from '../projector/rebuild';
import { TempStores } from '../projector/testing/temp-stores';
import { PresenceLog } from '../projections/testing/presence-log';
import { WS } from '../projections/testing/scenario';
import type { SqliteReadStore } from '../store';
import { InvalidQueryError } from '../port';
import { presenceReport, presenceReportCsv, presenceReportDays } from './presence-report';

const silent = { info: () => undefined, error: () => undefined };

async function text(stream: Readable): Promise<string> {
  let out = '';
  for await (const chunk of stream) out += String(chunk);
  return out;
}

describe('rule 13: the presence report (presence_daily, embedded read store)', () => {
  let stores: TempStores;
  let read: SqliteReadStore;
  const NOW = Date.parse('2026-03-03T00:45:00.000Z');

  beforeAll(async () => {
    stores = new TempStores();
    const s = new PresenceLog();
    s.member('agent', {}, WS, 'Agent A').member('gone', {}, WS, 'Gone G').member('other', {}, WS, 'Other O');
    // agent: online across midnight, then away, then silent from 01:30 (the sweep notices at 01:31)
    s.at('2026-03-01T23:00:00.000Z').heartbeat('agent', 'online');
    s.at('2026-03-02T01:00:00.000Z').heartbeat('agent', 'away');
    s.at('2026-03-02T01:31:00.000Z').timeout('agent', '2026-03-02T01:30:00.000Z');
    // gone: online for an hour less the 10 s of silence before the deletion (it ends the interval at the last
    // heartbeat, as a timeout does: probe 38 F10), then deleted (rule 12), and the reaction to the deletion after it
    s.at('2026-03-01T22:00:00.000Z').heartbeat('gone', 'online');
    s.at('2026-03-01T23:00:00.000Z').deleteUser('gone');
    s.decide({ type: 'MemberLeft', workspaceId: WS, userId: 'gone', reason: 'deleted', now: s.log.now, lastSeenAt: '2026-03-01T22:59:50.000Z' });
    // other: online since 23:30 and still online when the report is read (00:45 the next day)
    s.at('2026-03-02T23:30:00.000Z').heartbeat('other', 'online');
    await stores.append(s.log.takeAppends());
    read = stores.readStore();
    await rebuild(stores.events, read, PROJECTIONS, { logger: silent });
  });
  afterAll(() => stores.close());

  it('splits intervals at midnight, counts the open one up to now less the timeout, keeps the deleted user with personal fields null', async () => {
    // (the open one up to 00:44: its user was heard from by then at least; a timeout would close it at the last
    // heartbeat, so counted up to now the figure could go down later)
    const report = await presenceReport(read, WS, { from: '2026-03-01', to: '2026-03-03', nowMs: NOW, timeoutMs: 60_000 });
    expect(report.items).toEqual([
      { date: '2026-03-01', userId: 'agent', email: 'agent@acme.test', displayName: 'Agent A', deleted: false, onlineSeconds: 3600, awaySeconds: 0, workspaceId: WS },
      { date: '2026-03-01', userId: 'gone', email: null, displayName: null, deleted: true, onlineSeconds: 3590, awaySeconds: 0, workspaceId: WS },
      { date: '2026-03-02', userId: 'agent', email: 'agent@acme.test', displayName: 'Agent A', deleted: false, onlineSeconds: 3600, awaySeconds: 1800, workspaceId: WS },
      { date: '2026-03-02', userId: 'other', email: 'other@acme.test', displayName: 'Other O', deleted: false, onlineSeconds: 1800, awaySeconds: 0, workspaceId: WS },
      { date: '2026-03-03', userId: 'other', email: 'other@acme.test', displayName: 'Other O', deleted: false, onlineSeconds: 2640, awaySeconds: 0, workspaceId: WS },
    ]);
  });

  it('rule 13: an open interval younger than the timeout counts nothing yet, so no figure goes down when a timeout closes it at its last heartbeat', async () => {
    const justOpened = Date.parse('2026-03-02T23:30:12.000Z');
    const report = await presenceReport(read, WS, { from: '2026-03-02', to: '2026-03-02', nowMs: justOpened, timeoutMs: 60_000 });
    expect(report.items.find((r) => r.userId === 'other')).toBeUndefined();
  });

  it('rule 13: a user whose lease lapsed and whose timeout is not recorded yet is counted to their last heartbeat, where the timeout will close the interval (probe 29)', async () => {
    // other: last heard at 00:40; read at 00:45 with a 60 s timeout, the lapse not yet recorded by the sweeper
    const lastHeard = async (ids: string[]) => new Map(ids.filter((id) => id === 'other').map((id) => [id, Date.parse('2026-03-03T00:40:00.000Z')]));
    const report = await presenceReport(read, WS, { from: '2026-03-03', to: '2026-03-03', nowMs: NOW, timeoutMs: 60_000, lastHeard });
    expect(report.items.find((r) => r.userId === 'other')).toMatchObject({ onlineSeconds: 2400 });
    // heard within the timeout: up to now less the timeout, as before
    const recently = async (ids: string[]) => new Map(ids.map((id) => [id, NOW - 5_000]));
    expect((await presenceReport(read, WS, { from: '2026-03-03', to: '2026-03-03', nowMs: NOW, timeoutMs: 60_000, lastHeard: recently })).items.find((r) => r.userId === 'other')).toMatchObject({ onlineSeconds: 2640 });
  });

  it('covers only the days asked for (an open interval is cut at the range too)', async () => {
    const report = await presenceReport(read, WS, { from: '2026-03-02', to: '2026-03-02', nowMs: NOW, timeoutMs: 0 });
    expect(report.items.map((r) => [r.date, r.userId, r.onlineSeconds, r.awaySeconds])).toEqual([
      ['2026-03-02', 'agent', 3600, 1800],
      ['2026-03-02', 'other', 1800, 0],
    ]);
    expect((await presenceReport(read, 'ws-other', { from: '2026-03-01', to: '2026-03-03', nowMs: NOW, timeoutMs: 0 })).items).toEqual([]);
  });

  it('as CSV: personal fields of a deleted user are empty; each row names its workspace, last (probe 85 F1)', async () => {
    const csv = await text(presenceReportCsv((await presenceReport(read, WS, { from: '2026-03-01', to: '2026-03-01', nowMs: NOW, timeoutMs: 0 })).items));
    expect(csv).toBe(
      'date,user_id,email,display_name,deleted,online_seconds,away_seconds,workspace_id\n' +
        `2026-03-01,agent,agent@acme.test,Agent A,false,3600,0,${WS}\n` +
        `2026-03-01,gone,,,true,3590,0,${WS}\n`,
    );
  });

  it('rule 13: pages hold whole days: a page ends at the first day whose end reaches the limit, and the pages together are the report', async () => {
    const range = { from: '2026-03-01', to: '2026-03-03', nowMs: NOW, timeoutMs: 60_000 };
    const whole = await presenceReport(read, WS, range);
    expect(whole.nextCursor).toBeUndefined();
    // limit 1: the first day's two rows are one page (a day is never split), then a page a day
    const pages = [];
    for (let cursor: string | undefined, first = true; first || cursor !== undefined; first = false) {
      const page = await presenceReport(read, WS, range, { limit: 1, cursor });
      pages.push(page.items.map((r) => `${r.date} ${r.userId}`));
      cursor = page.nextCursor;
    }
    expect(pages).toEqual([['2026-03-01 agent', '2026-03-01 gone'], ['2026-03-02 agent', '2026-03-02 other'], ['2026-03-03 other']]);
    // limit 3: the second day's end reaches it; the last page has no cursor
    const first = await presenceReport(read, WS, range, { limit: 3 });
    expect(first.items).toEqual(whole.items.slice(0, 4));
    const last = await presenceReport(read, WS, range, { limit: 3, cursor: first.nextCursor });
    expect(last).toEqual({ from: '2026-03-01', to: '2026-03-03', items: whole.items.slice(4) });
  });

  it('rule 13 (probe 89 F7): a page that fills on today gives no cursor to the days still to come, which hold nothing yet', async () => {
    // today is 2026-03-03 (NOW): the range runs a week past it
    const range = { from: '2026-03-02', to: '2026-03-10', nowMs: NOW, timeoutMs: 60_000 };
    const today = await presenceReport(read, WS, range, { limit: 1, cursor: (await presenceReport(read, WS, range, { limit: 1 })).nextCursor });
    expect(today.items.map((r) => `${r.date} ${r.userId}`)).toEqual(['2026-03-03 other']);
    expect(today.nextCursor).toBeUndefined();
    // as the report to date is: the same rows
    expect((await presenceReport(read, WS, { ...range, to: '2026-03-03' })).items).toEqual((await presenceReport(read, WS, range)).items);
  });

  it('refuses a cursor that is not a nextCursor of the same workspace and range (another workspace, another range, a made-up day), and a limit out of bounds', async () => {
    const range = { from: '2026-03-01', to: '2026-03-03', nowMs: NOW, timeoutMs: 0 };
    const { nextCursor } = await presenceReport(read, WS, range, { limit: 1 });
    const made = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
    for (const cursor of ['nonsense', made({ day: '2026-04-01', from: range.from, to: range.to }), made({ day: '2026-03-02' }), made([])])
      await expect(presenceReport(read, WS, range, { cursor })).rejects.toMatchObject({ name: 'InvalidQueryError', field: 'cursor' });
    // the same cursor under another range, even one that holds its day (probe 42b F5)
    await expect(presenceReport(read, WS, { ...range, to: '2026-03-04' }, { cursor: nextCursor })).rejects.toMatchObject({ field: 'cursor' });
    // probe 50 F4: another workspace's cursor, over the same range, is refused as the lists' are; one made before
    // cursors named their workspace (session 48) is taken as it was
    await expect(presenceReport(read, 'ws-other', range, { cursor: nextCursor })).rejects.toMatchObject({ field: 'cursor' });
    const second = await presenceReport(read, WS, range, { limit: 1, cursor: nextCursor });
    expect(await presenceReport(read, WS, range, { limit: 1, cursor: made({ day: '2026-03-02', from: range.from, to: range.to }) })).toEqual(second);
    for (const limit of [0, 10_001, 1.5]) await expect(presenceReport(read, WS, range, { limit })).rejects.toMatchObject({ field: 'limit' });
  });

  it('without a limit, the whole range (as before paging: probe 42b F3), refused past 100,000 rows', async () => {
    const range = { from: '2026-03-01', to: '2026-03-03', nowMs: NOW, timeoutMs: 60_000 };
    const whole = await presenceReport(read, WS, range);
    expect(whole.items).toHaveLength(5);
    expect(whole.nextCursor).toBeUndefined();
    // a store whose days each hold 40,000 rows: the third day passes the bound
    const busy = (day: string) => Array.from({ length: 40_000 }, (_, i) => ({ _id: `${day}:${i}`, workspaceId: WS, organizationId: 'org', userId: `u${i}`, day, onlineMs: 1000, awayMs: 0 }));
    const crowded = { readTogether: async ([q]: { query: { where: { day: string[] } } }[]) => [q!.query.where.day.flatMap(busy), []], getMany: async () => new Map() } as unknown as SqliteReadStore;
    await expect(presenceReport(crowded, WS, range)).rejects.toMatchObject({ name: 'InvalidQueryError', field: 'limit', message: expect.stringContaining('more than 100000 rows') });
    expect((await presenceReport(crowded, WS, range, { limit: 10_000 })).items).toHaveLength(40_000);
  });

  it('a day at a time (the CSV streams them): the days of the range in order, each with its rows, the same rows as the report', async () => {
    const range = { from: '2026-03-01', to: '2026-03-04', nowMs: NOW, timeoutMs: 60_000 };
    const days = [];
    for await (const d of presenceReportDays(read, WS, range)) days.push(d);
    expect(days.map((d) => [d.day, d.items.length])).toEqual([['2026-03-01', 2], ['2026-03-02', 2], ['2026-03-03', 1], ['2026-03-04', 0]]);
    expect(days.flatMap((d) => d.items)).toEqual((await presenceReport(read, WS, range)).items);
  });

  it('rule 13: an interval that closes while the report reads is counted, not lost between open and closed intervals', async () => {
    // the commit that closes an interval moves it from presence_open to presence_daily; the report read the two
    // apart, and a commit landing between the reads hid the interval from both (a flaky e2e caught it)
    const ws = 'ws-closing';
    const who = { workspaceId: ws, organizationId: 'org-closing', userId: 'agent' };
    const open: PresenceOpenDoc = { _id: presenceOpenId(ws, 'agent'), ...who, status: 'online', since: '2026-03-02T23:00:00.000Z' };
    await read.commit('test', [{ kind: 'upsert', collection: PRESENCE_OPEN, doc: open, position: 1n }], undefined);
    const day = (date: string, onlineMs: number): PresenceDayDoc => ({ _id: presenceDayId(ws, date, 'agent'), ...who, day: date, onlineMs, awayMs: 0 });
    const closing = [
      { kind: 'delete' as const, collection: PRESENCE_OPEN, id: open._id, position: 2n },
      { kind: 'upsert' as const, collection: PRESENCE_DAILY, doc: day('2026-03-02', 3_600_000), position: 2n },
      { kind: 'upsert' as const, collection: PRESENCE_DAILY, doc: day('2026-03-03', 1_800_000), position: 2n },
    ];
    const reading = presenceReport(read, ws, { from: '2026-03-02', to: '2026-03-03', nowMs: NOW, timeoutMs: 0 });
    await read.commit('test', closing, undefined);
    const seconds = (await reading).items.map((r) => [r.date, r.onlineSeconds]);
    // read before the close: the open interval up to now (00:45); after it, what was closed at 00:30
    expect([JSON.stringify([['2026-03-02', 3600], ['2026-03-03', 2700]]), JSON.stringify([['2026-03-02', 3600], ['2026-03-03', 1800]])]).toContain(JSON.stringify(seconds));
    expect((await presenceReport(read, ws, { from: '2026-03-02', to: '2026-03-03', nowMs: NOW, timeoutMs: 0 })).items.map((r) => [r.date, r.onlineSeconds])).toEqual([
      ['2026-03-02', 3600],
      ['2026-03-03', 1800],
    ]);
  });

  it('refuses what is not a calendar date, a reversed range, and more than 366 days', async () => {
    for (const [from, to] of [
      ['2026-02-30', '2026-03-01'],
      ['2026-3-1', '2026-03-01'],
      ['2026-03-02', '2026-03-01'],
      ['2025-01-01', '2026-01-02'],
    ])
      await expect(presenceReport(read, WS, { from: from!, to: to!, nowMs: NOW, timeoutMs: 0 })).rejects.toThrow(InvalidQueryError);
    await expect(presenceReport(read, WS, { from: '2025-01-01', to: '2026-01-01', nowMs: NOW, timeoutMs: 0 })).resolves.toMatchObject({ items: [] });
    // the years 0-99 are calendar dates too (Date.UTC read them as 1900-1999, and refused them)
    await expect(presenceReport(read, WS, { from: '0001-01-01', to: '0001-12-31', nowMs: NOW, timeoutMs: 0 })).resolves.toMatchObject({ items: [] });
  });
});
