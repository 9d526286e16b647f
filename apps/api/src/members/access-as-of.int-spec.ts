// Rule 17's "access now" over a log holding changes dated ahead of this server's clock: another replica's clock runs
// ahead (and rule 17 dates a change no earlier than the one before it), or this server's clock was set back (probe 29).
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRollcallEventStore } from '@rollcall/event-store';
import { CreateOrganizationCommand, CreateOrganizationHandler } from '../organizations/create-organization';
import { newCommandContext } from '../shared/command-path/command-context';
import { DerivedSecrets } from '../shared/secrets';
import { StreamHandler } from '../shared/command-path/stream-handler';
import { StreamStates } from '../shared/command-path/stream-states';
import { CreateWorkspaceCommand, CreateWorkspaceHandler } from '../workspaces/create-workspace';
import { AccessAsOfHandler, AccessAsOfQuery, RosterAsOfHandler, RosterAsOfQuery, asOfInstant } from './access-as-of';
import { wholeRoster } from './roster-json';
import { countLoopTurns } from '../shared/testing/loop-turns';

type Stores = Awaited<ReturnType<typeof createRollcallEventStore>>;
let dir: string;
let stores: Stores;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rollcall-as-of-'));
  stores = await createRollcallEventStore({ dataDir: dir, durability: 'normal' });
});
afterEach(async () => {
  await stores.store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('rule 17: access now is every change the log holds, whatever this server\'s clock reads (probe 29)', () => {
  it('a workspace created by a replica whose clock is an hour ahead is found, and its admin active, now', async () => {
    const streams = new StreamHandler(stores.store, new StreamStates(stores.store));
    const ahead = new Date(Date.now() + 3_600_000).toISOString();
    const at = (actorId: string) => newCommandContext({ actorId, now: ahead });
    const org = await new CreateOrganizationHandler(streams, new DerivedSecrets('as-of-test-secret-0123456789abcdef0123456')).execute(
      new CreateOrganizationCommand(at('system'), 'Acme', { email: 'admin@acme.test', displayName: 'Admin' }),
    );
    const { workspaceId } = await new CreateWorkspaceHandler(streams).execute(new CreateWorkspaceCommand(at(org.adminUserId), org.organizationId, { name: 'Support' }));

    const access = await new AccessAsOfHandler(stores.store).execute(new AccessAsOfQuery(org.organizationId, workspaceId, org.adminUserId, asOfInstant(undefined)));
    expect(access).toMatchObject({ status: 'active', roles: ['owner'], asOf: ahead });
    const roster = await wholeRoster(await new RosterAsOfHandler(stores.store).execute(new RosterAsOfQuery(org.organizationId, workspaceId, asOfInstant(undefined))));
    expect(roster.members.map((m) => m.userId)).toEqual([org.adminUserId]);
    // asked about a time of this server's clock, it is what had happened by then: nothing
    await expect(new AccessAsOfHandler(stores.store).execute(new AccessAsOfQuery(org.organizationId, workspaceId, org.adminUserId, asOfInstant(new Date(Date.now() - 1000).toISOString())))).rejects.toMatchObject({
      error: { code: 'WORKSPACE_NOT_FOUND' },
    });
  });

  it('asOf absent, or at most a minute ahead of this clock, means now; a time further is asked of the log (up to a day: past that, refused at once)', () => {
    const now = Date.parse('2026-03-01T12:00:00Z');
    expect(asOfInstant(undefined, now)).toBeUndefined();
    expect(asOfInstant('2026-03-01T12:00:30Z', now)).toBeUndefined();
    expect(asOfInstant('2026-03-01T11:00:00Z', now)).toEqual(new Date('2026-03-01T11:00:00Z'));
    expect(asOfInstant('2026-03-01T12:02:00Z', now)).toEqual(new Date('2026-03-01T12:02:00Z'));
    expect(() => asOfInstant('2026-03-02T12:00:01Z', now)).toThrow();
  });

  it('rule 17 (probe 89 F11): with the log dated an hour ahead of this clock, "now" is labelled with its latest change, and that label (or an earlier time the log reached) asked as asOf is answered; a time past the log and the clock is refused', async () => {
    const streams = new StreamHandler(stores.store, new StreamStates(stores.store));
    const ahead = Date.now() + 3_600_000;
    const at = (actorId: string, offset = 0) => newCommandContext({ actorId, now: new Date(ahead + offset).toISOString() });
    const org = await new CreateOrganizationHandler(streams, new DerivedSecrets('as-of-test-secret-0123456789abcdef0123456')).execute(
      new CreateOrganizationCommand(at('system'), 'Acme', { email: 'admin@acme.test', displayName: 'Admin' }),
    );
    const { workspaceId } = await new CreateWorkspaceHandler(streams).execute(new CreateWorkspaceCommand(at(org.adminUserId, 1000), org.organizationId, { name: 'Support' }));
    const accessAt = (asOf: string | undefined) => new AccessAsOfHandler(stores.store).execute(new AccessAsOfQuery(org.organizationId, workspaceId, org.adminUserId, asOfInstant(asOf)));
    const now = await accessAt(undefined);
    expect(now).toMatchObject({ status: 'active', asOf: new Date(ahead + 1000).toISOString() });
    // the label of "now", and a time between the organization's creation and the workspace's: both in the log
    expect(await accessAt(now.asOf)).toMatchObject({ status: 'active', asOf: now.asOf });
    await expect(accessAt(new Date(ahead + 500).toISOString())).rejects.toMatchObject({ error: { code: 'WORKSPACE_NOT_FOUND' } });
    // past every change the log holds and more than a minute past this clock: not reached yet
    await expect(accessAt(new Date(ahead + 120_000).toISOString())).rejects.toMatchObject({ error: { code: 'VALIDATION_FAILED', fields: [{ field: 'asOf', message: expect.stringMatching(/^must not be in the future/) }] } });
    const roster = await wholeRoster(await new RosterAsOfHandler(stores.store).execute(new RosterAsOfQuery(org.organizationId, workspaceId, asOfInstant(now.asOf))));
    expect(roster.members.map((m) => m.userId)).toEqual([org.adminUserId]);
  });
});

describe("the roster's replay leaves the event loop to other requests (probe 42 F1)", () => {
  it('it yields every thousand events: other work runs while a long stream is replayed', async () => {
    const streams = new StreamHandler(stores.store, new StreamStates(stores.store));
    const at = (actorId: string) => newCommandContext({ actorId });
    const org = await new CreateOrganizationHandler(streams, new DerivedSecrets('as-of-test-secret-0123456789abcdef0123456')).execute(
      new CreateOrganizationCommand(at('system'), 'Acme', { email: 'admin@acme.test', displayName: 'Admin' }),
    );
    const { workspaceId } = await new CreateWorkspaceHandler(streams).execute(new CreateWorkspaceCommand(at(org.adminUserId), org.organizationId, { name: 'Support' }));
    // a long workspace stream: 4,000 plan changes back and forth
    const changes = Array.from({ length: 4_000 }, (_, i) => ({
      id: randomUUID(),
      type: 'WorkspacePlanChanged',
      data: { workspaceId, organizationId: org.organizationId, before: i % 2 ? 'enterprise' : 'business', plan: i % 2 ? 'business' : 'enterprise', changedAt: new Date(Date.now() - 1000).toISOString() },
      metadata: {},
    }));
    for (let i = 0; i < changes.length; i += 500) await stores.store.append(`workspace-${workspaceId}`, changes.slice(i, i + 500), 'any');

    // what other requests get meanwhile: turns of the event loop
    const turns = countLoopTurns();
    const roster = await wholeRoster(await new RosterAsOfHandler(stores.store).execute(new RosterAsOfQuery(org.organizationId, workspaceId, asOfInstant(undefined))));
    expect(roster.basedOn.eventsReplayed).toBeGreaterThanOrEqual(4_000);
    expect(turns.stop()).toBeGreaterThanOrEqual(4);
  });
});

