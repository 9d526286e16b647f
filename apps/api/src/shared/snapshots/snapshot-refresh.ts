import { type StreamStates, workspaceStream } from '../command-path/stream-states';

/** the refreshes running, per process's states and organization: a burst of deletions asks for one more at most */
const running = new WeakMap<StreamStates, Map<string, { again: boolean }>>();

/**
 * After an erasure shredded snapshots of its organization (a deletion or an address's erasure forgets the epochs' keys:
 * docs/adr/0013), loads the organization and those of its workspaces cached here again, twice (a workspace's first load
 * after an erasure writes no snapshot: StateSnapshots.folded), so that their snapshots are written now under the next
 * epoch, in the background, one stream at a time (a workspace the erasure did not reach kept its snapshot, and
 * its loads here write nothing). They waited for each stream's next two commands before: a restart in
 * between replayed a 100,000-member workspace from the log (13–22 s for its first command, and 19–45 s for the first
 * deletion after the restart, which loads every workspace of the organization: probe 42, session 42's measurements).
 */
export async function refreshSnapshotsAfterErasure(states: StreamStates, organizationId: string, log: { warn(message: string): void }): Promise<void> {
  const perOrganization = running.get(states) ?? new Map<string, { again: boolean }>();
  running.set(states, perOrganization);
  const current = perOrganization.get(organizationId);
  if (current) {
    current.again = true;
    return;
  }
  const refresh = { again: true };
  perOrganization.set(organizationId, refresh);
  try {
    while (refresh.again) {
      refresh.again = false;
      for (let pass = 0; pass < 2; pass++) {
        const org = (await states.organization(organizationId)).state;
        for (const workspaceId of org.workspaces.keys()) if (states.cached(workspaceStream(workspaceId))) await states.workspace(org, workspaceId);
      }
    }
  } catch (error) {
    // (a process closing meanwhile, a store that failed): the next loads write them, as before
    log.warn(`the snapshots of organization ${organizationId} could not be written again after an erasure (${error instanceof Error ? error.message : String(error)}); its next loads write them`);
  } finally {
    perOrganization.delete(organizationId);
  }
}
