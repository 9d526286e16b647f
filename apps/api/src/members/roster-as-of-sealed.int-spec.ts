// Rule 17's access at a time T is replayed from the streams with their personal fields left sealed (access-as-of.ts:
// nothing personal is in the answers, and opening every field was most of a replay's time). These tests hold that the
// answers equal those of a replay that opens every field, over a history whose personal data changes and is erased.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EventStore, ReadStreamOptions } from '@rollcall/event-store';
import { EventLog } from '../../../../libs/read-store/src/projections/testing/event-log';
import { newCommandContext } from '../shared/command-path/command-context';
import { type Process, openProcess, replayAppends } from '../shared/testing/snapshot-harness';
import { DeleteUserCommand, DeleteUserHandler } from '../users/user-handlers';
import { AccessAsOfHandler, AccessAsOfQuery, RosterAsOfHandler, RosterAsOfQuery } from './access-as-of';
import { wholeRoster } from './roster-json';

let dir: string;
let p: Process;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rollcall-roster-sealed-'));
  p = await openProcess(dir, { snapshots: false });
});
afterEach(async () => {
  await p.close();
  rmSync(dir, { recursive: true, force: true });
});

const ORG = 'org-1';
const WS = 'ws-1';
const ADMIN = 'admin-1';

/** the same store, but every read opens the personal fields (the replay before session 43) */
function opening(store: EventStore, asked: ReadStreamOptions[]): EventStore {
  return new Proxy(store, {
    get(target, property, receiver) {
      if (property !== 'readStream') return Reflect.get(target, property, receiver) as unknown;
      return (stream: string, options?: ReadStreamOptions) => {
        asked.push({ ...options });
        return target.readStream(stream, { ...options, personalData: undefined });
      };
    },
  });
}

/** an answer without its `asOf` labels: asked about now, each replay is labelled with its own moment */
const withoutNow = (answer: unknown): unknown => JSON.parse(JSON.stringify(answer, (key, value: unknown) => (key === 'asOf' ? undefined : value)));

describe('rule 17: the access at T is replayed with personal fields sealed, and answers as a replay that opens them', () => {
  it('the roster and one member\'s access, before and after profile changes, an email change, an org admin grant, a team and a deletion', async () => {
    const log = new EventLog();
    log.createOrganization(ORG, { userId: ADMIN, email: 'admin@example.test', displayName: 'Ada Admin' });
    log.createWorkspace(ORG, WS, ADMIN, 'advanced', 'levels');
    for (let i = 0; i < 6; i++) {
      log.workspace({ type: 'InviteMember', workspaceId: WS, actorId: ADMIN, now: log.now, invitationId: `inv-${i}`, email: `member-${i}@example.test`, roles: [i % 2 ? 'agent' : 'manager'], ttlSeconds: 3600 });
      log.accept(WS, `inv-${i}`, `user-${i}`, `Member ${i}`);
      log.advance(1);
    }
    expect(log.organization({ type: 'UpdateProfile', organizationId: ORG, actorId: 'user-1', now: log.now, userId: 'user-1', changes: { displayName: 'Renamed', alias: 'One' } }).ok).toBe(true);
    expect(log.organization({ type: 'ChangeOrgAdmin', organizationId: ORG, actorId: ADMIN, now: log.now, userId: 'user-2', orgAdmin: true }).ok).toBe(true);
    expect(log.organization({ type: 'UpdateProfile', organizationId: ORG, actorId: ADMIN, now: log.now, userId: 'user-5', changes: { email: 'moved-5@example.test' } }).ok).toBe(true);
    expect(log.teams({ type: 'CreateTeam', workspaceId: WS, actorId: ADMIN, now: log.now, teamId: 'team-1', name: 'Night shift' }).ok).toBe(true);
    expect(log.teams({ type: 'AddTeamMember', workspaceId: WS, actorId: ADMIN, now: log.now, teamId: 'team-1', userId: 'user-3' }).ok).toBe(true);
    log.workspace({ type: 'InviteMember', workspaceId: WS, actorId: ADMIN, now: log.now, invitationId: 'inv-pending', email: 'pending@example.test', roles: ['agent'], ttlSeconds: 3600 });
    expect(log.workspace({ type: 'ChangeAccess', workspaceId: WS, actorId: ADMIN, now: log.now, userId: 'user-4', roles: ['manager'] }).ok).toBe(true);
    await replayAppends(p, log.takeAppends());
    const between = new Date(Date.parse(log.now) + 500);
    await new Promise((r) => setTimeout(r, 1_100));
    await new DeleteUserHandler(p.handler, p.personalData, p.store).execute(new DeleteUserCommand(ORG, newCommandContext({ actorId: ADMIN }), 'user-3'));

    const asked: ReadStreamOptions[] = [];
    const openedStore = opening(p.store, asked);
    for (const asOf of [undefined, between]) {
      const sealed = await wholeRoster(await new RosterAsOfHandler(p.store).execute(new RosterAsOfQuery(ORG, WS, asOf)));
      const opened = await wholeRoster(await new RosterAsOfHandler(openedStore).execute(new RosterAsOfQuery(ORG, WS, asOf)));
      expect(withoutNow(sealed)).toEqual(withoutNow(opened));
      for (const userId of [ADMIN, 'user-1', 'user-2', 'user-3', 'user-4', 'nobody']) {
        const one = await new AccessAsOfHandler(p.store).execute(new AccessAsOfQuery(ORG, WS, userId, asOf, true));
        expect(withoutNow(one)).toEqual(withoutNow(await new AccessAsOfHandler(openedStore).execute(new AccessAsOfQuery(ORG, WS, userId, asOf, true))));
      }
    }
    // the replays asked for sealed fields; the opening store was asked the same and opened them
    expect(asked.length).toBeGreaterThan(0);
    expect(asked.every((o) => o.personalData === 'sealed')).toBe(true);
    // what the history says, as a check that the answers are not both empty
    const now = await wholeRoster(await new RosterAsOfHandler(p.store).execute(new RosterAsOfQuery(ORG, WS, undefined)));
    expect(now.orgAdmins).toEqual([ADMIN, 'user-2']);
    expect(now.members.find((m) => m.userId === 'user-3')).toMatchObject({ status: 'deleted' });
    expect(now.members.find((m) => m.userId === 'user-4')).toMatchObject({ status: 'active', roles: ['manager'] });
    const before = await wholeRoster(await new RosterAsOfHandler(p.store).execute(new RosterAsOfQuery(ORG, WS, between)));
    expect(before.members.find((m) => m.userId === 'user-3')).toMatchObject({ status: 'active', teams: [{ teamId: 'team-1', name: 'Night shift' }] });
  });
});
