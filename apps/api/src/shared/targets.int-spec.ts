// The decision context of a workspace command across replicas (docs/adr/0001: the organization state may be fresher
// than the decision, never older), on the real embedded store shared by two processes.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventLog } from '../../../../libs/read-store/src/projections/testing/event-log';
import { StreamStates } from './stream-states';
import { commitNow } from './testing/commit-now';
import { loadWorkspace } from './targets';
import { type Process, openProcess, replayAppends } from './testing/snapshot-harness';

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
