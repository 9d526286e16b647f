import type { ExplainedAccessAsOf, ReplayedRoster } from './access-as-of';
import { rosterJson, wholeRoster } from './roster-json';

const member = (n: number): ExplainedAccessAsOf => ({
  userId: `user-${String(n).padStart(6, '0')}`,
  workspaceId: 'ws-1',
  asOf: '2026-03-01T12:00:00.000Z',
  status: n % 7 === 0 ? 'revoked' : 'active',
  orgAdmin: n === 0,
  roles: n % 7 === 0 ? [] : ['agent'],
  restrictions: n % 3 === 0 ? { contact_visibility: 'own' } : {},
  grants: [],
  permissions: ['conversations.reply'],
  scopes: { contact_visibility: n % 3 === 0 ? 'own' : 'all', mask_contact_info: false },
  teams: n % 5 === 0 ? [{ teamId: 'team-1', name: 'Night "shift" ü' }] : [],
  basedOn: { eventsReplayed: 12, lastPosition: '40' },
});

/** a replayed roster of `count` members, handed out in batches of `batch` (the handler's: 1,000); `pulled` counts them */
function rosterOf(count: number, batch: number) {
  const pulled = { batches: 0 };
  const roster: ReplayedRoster = {
    workspaceId: 'ws-1',
    asOf: '2026-03-01T12:00:00.000Z',
    plan: 'enterprise',
    async *members() {
      for (let i = 0; i < count; i += batch) {
        pulled.batches++;
        yield Array.from({ length: Math.min(batch, count - i) }, (_, k) => member(i + k));
      }
    },
    orgAdmins: ['user-000000'],
    partnerTeams: [{ workspaceId: 'ws-2', organizationId: 'org-2', teamId: 'team-9', name: 'Partner', members: ['p-1'] }],
    basedOn: { eventsReplayed: 12, lastPosition: '40' },
  };
  return { roster, pulled };
}

const text = async (parts: AsyncIterable<string>) => {
  let all = '';
  for await (const part of parts) all += part;
  return all;
};

describe('the roster written as a stream (probe 42 F1: ~45 MB of JSON for 100,000 members, once stringified whole)', () => {
  it.each([0, 1, 999, 1_000, 2_501])('with %i members, is the text JSON.stringify gives of the whole roster', async (count) => {
    const streamed = await text(rosterJson(rosterOf(count, 1_000).roster));
    expect(streamed).toBe(JSON.stringify(await wholeRoster(rosterOf(count, 1_000).roster)));
    expect((JSON.parse(streamed) as { members: unknown[] }).members).toHaveLength(count);
  });

  it('formats the members a batch at a time, as the reader pulls them', async () => {
    const { roster, pulled } = rosterOf(2_500, 1_000);
    const parts = rosterJson(roster);
    expect((await parts.next()).value).toBe('{"workspaceId":"ws-1","asOf":"2026-03-01T12:00:00.000Z","plan":"enterprise","members":[');
    expect(pulled.batches).toBe(0);
    await parts.next();
    expect(pulled.batches).toBe(1);
    await parts.next();
    expect(pulled.batches).toBe(2);
  });

  it('skips an empty batch without leaving a stray comma', async () => {
    const roster: ReplayedRoster = {
      ...rosterOf(0, 1).roster,
      async *members() {
        yield [member(1)];
        yield [];
        yield [member(2)];
      },
    };
    expect((JSON.parse(await text(rosterJson(roster))) as { members: { userId: string }[] }).members.map((m) => m.userId)).toEqual(['user-000001', 'user-000002']);
  });
});
