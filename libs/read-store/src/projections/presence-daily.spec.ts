import { MEMBERS, type MemberDoc, membersProjection } from './members';
import { PRESENCE_DAILY, PRESENCE_OPEN, type PresenceDayDoc, presenceDailyProjection, splitByUtcDay } from './presence-daily';
import { MemoryModel } from './testing/memory-model';
import { PresenceLog } from './testing/presence-log';
import { type LogScenario, ORG, WS } from './testing/scenario';

const daily = async (s: LogScenario) => new MemoryModel(presenceDailyProjection).run(s.events);
const day = (m: MemoryModel, date: string, userId: string) => m.get<PresenceDayDoc>(PRESENCE_DAILY, `${WS}:${date}:${userId}`);

describe('rule 13: presence_daily', () => {
  it('splits an interval at each UTC midnight', () => {
    const t = (iso: string) => Date.parse(iso);
    expect(splitByUtcDay(t('2026-03-01T23:00:00Z'), t('2026-03-03T01:30:00Z'))).toEqual([
      { day: '2026-03-01', ms: 3_600_000 },
      { day: '2026-03-02', ms: 86_400_000 },
      { day: '2026-03-03', ms: 5_400_000 },
    ]);
    expect(splitByUtcDay(t('2026-03-01T10:00:00Z'), t('2026-03-01T10:00:00Z'))).toEqual([]);
  });

  it('counts online and away per day, an interval across midnight split at it, and keeps the open one apart', async () => {
    const s = new PresenceLog().member('agent');
    s.at('2026-03-01T23:30:00.000Z').heartbeat('agent', 'online');
    s.at('2026-03-02T00:15:00.000Z').heartbeat('agent', 'away');
    s.at('2026-03-02T00:45:00.000Z').heartbeat('agent', 'online');
    const m = await daily(s);
    expect(day(m, '2026-03-01', 'agent')).toMatchObject({ onlineMs: 30 * 60_000, awayMs: 0, organizationId: ORG });
    expect(day(m, '2026-03-02', 'agent')).toMatchObject({ onlineMs: 15 * 60_000, awayMs: 30 * 60_000 });
    expect(m.get(PRESENCE_OPEN, `${WS}:agent`)).toMatchObject({ status: 'online', since: '2026-03-02T00:45:00.000Z' });
  });

  it('a timeout ends the interval at the last heartbeat, not when the silence was noticed', async () => {
    const s = new PresenceLog().member('agent');
    s.at('2026-03-01T10:00:00.000Z').heartbeat('agent', 'online');
    // heartbeats every 20 s until 10:30, which append nothing; the sweep notices 70 s later
    s.at('2026-03-01T10:31:10.000Z').timeout('agent', '2026-03-01T10:30:00.000Z');
    const m = await daily(s);
    expect(day(m, '2026-03-01', 'agent')).toMatchObject({ onlineMs: 30 * 60_000, awayMs: 0 });
    expect(m.get(PRESENCE_OPEN, `${WS}:agent`)).toBeUndefined();
  });

  it('keeps a deleted user\'s statistics (rule 12): nothing about the deletion touches them', async () => {
    const s = new PresenceLog().member('agent');
    s.at('2026-03-01T10:00:00.000Z').heartbeat('agent', 'online');
    // deleted while online: the status said online until the deletion (the last heartbeat was 20 s before); the
    // reaction to the deletion follows it
    s.at('2026-03-01T11:00:00.000Z').deleteUser('agent');
    s.decide({ type: 'MemberLeft', workspaceId: WS, userId: 'agent', reason: 'deleted', now: s.log.now, lastSeenAt: '2026-03-01T10:59:40.000Z' });
    const m = await daily(s);
    // (online until the last heartbeat, as a timeout would have said: probe 38 F10)
    expect(day(m, '2026-03-01', 'agent')).toMatchObject({ onlineMs: 3_580_000, userId: 'agent' });
  });

  it('an interval ended by a revoke, a deletion or an admin ends at the last heartbeat, as a timeout does (probe 38 F10)', async () => {
    const s = new PresenceLog().member('a').member('b');
    s.at('2026-03-01T10:00:00.000Z').heartbeat('a', 'online');
    s.at('2026-03-01T10:00:00.000Z').heartbeat('b', 'away');
    // both silent since 10:10; the revoke of a and the deletion of b come 50 s into the silence (the reactions after them)
    s.at('2026-03-01T10:10:50.000Z').revoke('a').deleteUser('b');
    s.decide({ type: 'MemberLeft', workspaceId: WS, userId: 'a', reason: 'revoked', now: s.log.now, lastSeenAt: '2026-03-01T10:10:00.000Z' });
    s.decide({ type: 'MemberLeft', workspaceId: WS, userId: 'b', reason: 'deleted', now: s.log.now, lastSeenAt: '2026-03-01T10:10:00.000Z' });
    const m = await daily(s);
    expect(day(m, '2026-03-01', 'a')).toMatchObject({ onlineMs: 600_000, awayMs: 0 });
    expect(day(m, '2026-03-01', 'b')).toMatchObject({ onlineMs: 0, awayMs: 600_000 });
  });

  it('is the same built in one batch or event by event', async () => {
    const s = new PresenceLog().member('agent').member('other');
    s.at('2026-03-01T22:00:00.000Z').heartbeat('agent', 'online').heartbeat('other', 'away');
    s.at('2026-03-02T02:00:00.000Z').heartbeat('agent', 'away');
    s.at('2026-03-02T03:00:00.000Z').timeout('other', '2026-03-02T02:59:00.000Z');
    const once = await daily(s);
    const stepwise = new MemoryModel(presenceDailyProjection);
    for (const e of s.events) await stepwise.run([e]);
    expect(stepwise.all(PRESENCE_DAILY)).toEqual(once.all(PRESENCE_DAILY));
    expect(stepwise.all(PRESENCE_OPEN)).toEqual(once.all(PRESENCE_OPEN));
  });
});

describe('rule 13: presence and last seen on the user list (members)', () => {
  it('each transition sets presence and lastSeenAt; a timeout carries the true last heartbeat', async () => {
    const s = new PresenceLog().member('agent');
    s.at('2026-03-01T10:00:00.000Z').heartbeat('agent', 'online');
    let m = await new MemoryModel(membersProjection).run(s.events);
    expect(m.get<MemberDoc>(MEMBERS, `${WS}:agent`)).toMatchObject({ presence: 'online', lastSeenAt: '2026-03-01T10:00:00.000Z' });
    s.at('2026-03-01T10:05:00.000Z').heartbeat('agent', 'away');
    s.at('2026-03-01T10:09:30.000Z').timeout('agent', '2026-03-01T10:08:20.000Z');
    m = await new MemoryModel(membersProjection).run(s.events);
    expect(m.get<MemberDoc>(MEMBERS, `${WS}:agent`)).toMatchObject({ presence: 'offline', lastSeenAt: '2026-03-01T10:08:20.000Z' });
  });
});
