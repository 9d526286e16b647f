import {
  type DomainEvent,
  type OrganizationEvent,
  type OrganizationState,
  type WorkspaceEvent,
  type WorkspaceState,
  evolveOrganization,
  evolveWorkspace,
  fromStored,
  initialOrganizationState,
  initialWorkspaceState,
} from '@rollcall/domain';
import type { EventStore, ExpectedRevision } from '@rollcall/event-store';
import { KeyedMutex } from './keyed-mutex';

export const organizationStream = (organizationId: string) => `organization-${organizationId}`;
export const workspaceStream = (workspaceId: string) => `workspace-${workspaceId}`;

interface Entry<S> {
  state: S;
  /** revision of the last event folded; -1n: the stream has no events */
  revision: bigint;
}

export interface Loaded<S> {
  state: S;
  expected: ExpectedRevision;
}

const expectedOf = (revision: bigint): ExpectedRevision => (revision < 0n ? 'no_stream' : revision);

/**
 * Loads deciders' states from their streams, cached by stream revision: a load reads only the events
 * appended since the cached revision (by this or any other replica), so a command in a workspace of
 * 100,000 members does not replay it. States are folded in place, one load at a time per stream.
 */
export class StreamRepository {
  private readonly orgs = new Map<string, Entry<OrganizationState>>();
  private readonly workspaces = new Map<string, Entry<WorkspaceState>>();
  private readonly mutex = new KeyedMutex();

  constructor(
    private readonly store: EventStore,
    private readonly maxCached = 10_000,
  ) {}

  organization(organizationId: string): Promise<Loaded<OrganizationState>> {
    const stream = organizationStream(organizationId);
    return this.mutex.run(stream, async () => {
      const entry = this.orgs.get(organizationId) ?? { state: initialOrganizationState(), revision: -1n };
      entry.revision = await this.fold(stream, entry.revision, (e) => evolveOrganization(entry.state, e as OrganizationEvent));
      this.remember(this.orgs, organizationId, entry);
      return { state: entry.state, expected: expectedOf(entry.revision) };
    });
  }

  /**
   * The organization's state as last loaded in this process, loading it only when it is not cached. For checks
   * that a later load cannot invalidate (a workspace, once created, exists for good).
   */
  async organizationCached(organizationId: string): Promise<OrganizationState> {
    return this.orgs.get(organizationId)?.state ?? (await this.organization(organizationId)).state;
  }

  /**
   * Folds events this process just appended into the cached state, so the next command does not read (and
   * decrypt) them back. Only when the cache is exactly at the revision the append expected; otherwise the
   * next load reads what it misses, as usual.
   */
  appended(stream: string, expected: ExpectedRevision, events: DomainEvent[], nextRevision: bigint): Promise<void> {
    const isOrg = stream.startsWith('organization-');
    const id = stream.slice(isOrg ? 'organization-'.length : 'workspace-'.length);
    const cache = isOrg ? this.orgs : this.workspaces;
    return this.mutex.run(stream, async () => {
      const entry = cache.get(id) as Entry<OrganizationState | WorkspaceState> | undefined;
      const base = expected === 'no_stream' ? -1n : expected;
      if (!entry || typeof base !== 'bigint' || entry.revision !== base) return;
      for (const e of events)
        if (isOrg) evolveOrganization(entry.state as OrganizationState, e as OrganizationEvent);
        else evolveWorkspace(entry.state as WorkspaceState, e as WorkspaceEvent);
      entry.revision = nextRevision;
    });
  }

  /** The workspace's state, or undefined when the organization has no such workspace. */
  async workspace(org: OrganizationState, workspaceId: string): Promise<Loaded<WorkspaceState> | undefined> {
    const info = org.workspaces.get(workspaceId);
    if (!info) return undefined;
    const stream = workspaceStream(workspaceId);
    return this.mutex.run(stream, async () => {
      const entry = this.workspaces.get(workspaceId) ?? { state: initialWorkspaceState(info), revision: -1n };
      entry.revision = await this.fold(stream, entry.revision, (e) => evolveWorkspace(entry.state, e as WorkspaceEvent));
      this.remember(this.workspaces, workspaceId, entry);
      return { state: entry.state, expected: expectedOf(entry.revision) };
    });
  }

  private async fold(stream: string, from: bigint, evolve: (e: DomainEvent) => void): Promise<bigint> {
    let revision = from;
    let folded = 0;
    for await (const recorded of this.store.readStream(stream, { fromRevision: from + 1n })) {
      const event = fromStored(recorded);
      if (event) evolve(event);
      revision = recorded.revision;
      // a long replay (a cold 100,000-member workspace) must not starve every other request
      if (++folded % 5000 === 0) await new Promise((r) => setImmediate(r));
    }
    return revision;
  }

  private remember<S>(cache: Map<string, Entry<S>>, key: string, entry: Entry<S>): void {
    cache.delete(key);
    cache.set(key, entry);
    if (cache.size > this.maxCached) cache.delete(cache.keys().next().value!);
  }
}
