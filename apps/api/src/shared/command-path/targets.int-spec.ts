// The decision context of a workspace command across replicas (docs/adr/0001: the organization state may be fresher
// than the decision, never older), on the real embedded store shared by two processes.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventLog } from '../../../../../libs/read-store/src/projections/testing/event-log';
import { StreamStates } from './stream-states';
import { commitNow } from '../testing/commit-now';
import { loadWorkspace, organizationWide } from './targets';
import { type Process, openProcess, replayAppends } from '../testing/snapshot-harness';

let dir: string;
const open: Process[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'rollcall-targets-'));
});
afterEach(async () => {
  for (const p of open.splice(0)) await p.close();
  rmSync(dir, { recursive: true, force: true });
});

/** org-1 with ws-1, new@example.test invited there (inv-1), written by `here`; `otherReplica` on the same data dir */
async function invitedOnTwoReplicas() {
  const log = new EventLog();
  log.createOrganization('org-1', { userId: 'admin-1', email: 'admin@example.test', displayName: 'Ada' });
  log.createWorkspace('org-1', 'ws-1', 'admin-1', 'advanced', 'levels');
  log.workspace({ type: 'InviteMember', workspaceId: 'ws-1', actorId: 'admin-1', now: log.now, invitationId: 'inv-1', email: 'new@example.test', roles: ['agent'], ttlSeconds: 3600 });
  const here = await openProcess(dir, { snapshots: false });
  const otherReplica = await openProcess(dir, { snapshots: false });
  open.push(here, otherReplica);
  await replayAppends(here, log.takeAppends());
  return { log, here, otherReplica };
}

describe('loadWorkspace', () => {
  it("rule 6 across replicas: a workspace that holds another replica's accept comes with an organization that knows the new member's address (so inviting that address again is refused)", async () => {
    const { log, here, otherReplica } = await invitedOnTwoReplicas();
    const ref = { organizationId: 'org-1', workspaceId: 'ws-1' };
    expect((await loadWorkspace(here.states, ref)).context.ws.pendingByEmail.get('new@example.test')).toBe('inv-1');

    // the other replica's accept (the organization's and the workspace's events) commits between the two loads
    log.accept('ws-1', 'inv-1', 'user-1', 'Nia New');
    const accept = log.takeAppends();
    const racing = {
      organization: (organizationId: string) => here.states.organization(organizationId),
      workspace: async (...args: Parameters<StreamStates['workspace']>) => {
        await replayAppends(otherReplica, accept);
        return here.states.workspace(...args);
      },
    } as unknown as StreamStates;
    const { context } = await loadWorkspace(racing, ref);
    expect(context.ws.members.get('user-1')?.status).toBe('active');
    expect(context.org.byEmail.get('new@example.test')).toBe('user-1');
  });

  it("rule 6 across replicas: another replica's accept committed within the turn of the loads, after the organization's first load (answered from the head the store remembers): the organization loaded after the workspace shows it too (replicas e2e seed 56: an invitation to a member)", async () => {
    const { log, here } = await invitedOnTwoReplicas();
    const states = new StreamStates(here.store);
    const ref = { organizationId: 'org-1', workspaceId: 'ws-1' };
    // the organization's state cached at its head, which the store remembers; the workspace's not loaded yet
    await states.organization('org-1');
    await new Promise<void>((resolve) => setImmediate(resolve));
    log.accept('ws-1', 'inv-1', 'user-1', 'Nia New');
    const accept = log.takeAppends();
    const racing = {
      organization: (...args: Parameters<StreamStates['organization']>) => states.organization(...args),
      workspace: (...args: Parameters<StreamStates['workspace']>) => {
        // after the turn's first read (the organization's, from memory), before the workspace's (from the file)
        commitNow(join(dir, 'events.sqlite'), accept);
        return states.workspace(...args);
      },
    } as unknown as StreamStates;
    const { context } = await loadWorkspace(racing, ref);
    expect(context.ws.members.get('user-1')?.status).toBe('active');
    expect(context.org.byEmail.get('new@example.test')).toBe('user-1');
  });
});

describe('organizationWide (a deletion, an email change)', () => {
  it('loads the workspaces 16 at a time (one after the other, an organization of 1,000 took ~1 s per attempt on KurrentDB), every one of them, in the order the organization lists them', async () => {
    const log = new EventLog();
    log.createOrganization('org-1', { userId: 'admin-1', email: 'admin@example.test', displayName: 'Ada' });
    const ids = Array.from({ length: 40 }, (_, i) => `ws-${i}`);
    for (const id of ids) log.createWorkspace('org-1', id, 'admin-1', 'advanced', 'levels');
    const here = await openProcess(dir, { snapshots: false });
    open.push(here);
    await replayAppends(here, log.takeAppends());
    // every read of a workspace stream waits a tick before it answers: how many are open at once
    let [reading, most] = [0, 0];
    const counting = new Proxy(here.store, {
      get(target, name, receiver) {
        const value = Reflect.get(target, name, receiver) as unknown;
        if (name !== 'readStream' || typeof value !== 'function') return typeof value === 'function' ? value.bind(target) : value;
        return (stream: string, options: unknown) => {
          const inner = (value as (s: string, o: unknown) => AsyncIterable<unknown>).call(target, stream, options);
          if (!stream.startsWith('workspace-')) return inner;
          return (async function* () {
            most = Math.max(most, ++reading);
            await new Promise((r) => setTimeout(r, 5));
            try {
              yield* inner;
            } finally {
              reading--;
            }
          })();
        };
      },
    });
    const { context, streams } = await organizationWide('org-1').load(new StreamStates(counting));
    expect(most).toBe(16);
    expect(context.workspaces.map((w) => w.info.workspaceId)).toEqual(ids);
    expect(streams.map((s) => s.stream)).toEqual(['organization-org-1', ...ids.map((id) => `workspace-${id}`)]);
  });
});
