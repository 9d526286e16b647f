import {
  type DomainEvent,
  type OrganizationEvent,
  type OrganizationState,
  type UserProfile,
  type WorkspaceEvent,
  type WorkspaceState,
  evolveOrganization,
  evolveWorkspace,
  fromStored,
  initialOrganizationState,
  initialWorkspaceState,
} from '@rollcall/domain';
import type { EventStore, ExpectedRevision, RecordedEvent } from '@rollcall/event-store';
import { KeyedMutex } from './keyed-mutex';

export const organizationStream = (organizationId: string) => `organization-${organizationId}`;
export const workspaceStream = (workspaceId: string) => `workspace-${workspaceId}`;

/** Where one command's events sit in a stream: found by the idempotency key in their metadata. */
export interface AppliedCommand {
  fromRevision: bigint;
  count: number;
  /** the request's fingerprint, when a client sent the key (see CommandContext.requestHash) */
  requestHash?: string;
}

interface Entry<S> {
  state: S;
  /** revision of the last event folded; -1n: the stream has no events */
  revision: bigint;
  /** the idempotency keys of the stream's latest commands (bounded), to recognise a retry whose answer was lost */
  applied: Map<string, AppliedCommand>;
}

/** A decision state as loaded for a command: the state, the revision to expect, and the commands already applied. */
export interface Loaded<S> {
  stream: string;
  state: S;
  expected: ExpectedRevision;
  applied(idempotencyKey: string): AppliedCommand | undefined;
}

/**
 * How many commands per stream are remembered by idempotency key. A retry whose first answer was lost (the process
 * died between the append and storing the answer) is recognised while its events are among the stream's last
 * APPLIED_KEYS_PER_STREAM commands; older retries are decided again (docs/adr/0004).
 */
export const APPLIED_KEYS_PER_STREAM = 2_000;

const expectedOf = (revision: bigint): ExpectedRevision => (revision < 0n ? 'no_stream' : revision);

/**
 * The deciders' states, loaded from their streams and cached by stream revision: a load reads only the events
 * appended since the cached revision (by this or any other replica), so a command in a workspace of 100,000 members
 * does not replay it. States are folded in place, one load at a time per stream.
 *
 * `onUserDeleted` runs when a UserDeleted is folded, before the state forgets the user: what this process cached
 * of their personal data (decryption keys) is dropped too, whichever replica deleted them (docs/rules.md#rule-12).
 */
export class StreamStates {
  private readonly orgs = new Map<string, Entry<OrganizationState>>();
  private readonly workspaces = new Map<string, Entry<WorkspaceState>>();
  private readonly mutex = new KeyedMutex();

  constructor(
    private readonly store: EventStore,
    private readonly options: { maxCached?: number; onUserDeleted?: (user: UserProfile) => void } = {},
  ) {}

  organization(organizationId: string): Promise<Loaded<OrganizationState>> {
    const stream = organizationStream(organizationId);
    return this.mutex.run(stream, async () => {
      const entry = this.orgs.get(organizationId) ?? { state: initialOrganizationState(), revision: -1n, applied: new Map() };
      await this.fold(stream, entry, (e) => this.evolveOrganization(entry.state, e as OrganizationEvent));
      this.remember(this.orgs, organizationId, entry);
      return loaded(stream, entry);
    });
  }

  /**
   * The organization's state as last loaded in this process, loading it only when it is not cached. For checks
   * that a later load cannot invalidate (a workspace, once created, exists for good).
   */
  async organizationCached(organizationId: string): Promise<OrganizationState> {
    return this.orgs.get(organizationId)?.state ?? (await this.organization(organizationId)).state;
  }

  /** The workspace's state, or undefined when the organization has no such workspace. */
  async workspace(org: OrganizationState, workspaceId: string): Promise<Loaded<WorkspaceState> | undefined> {
    const info = org.workspaces.get(workspaceId);
    if (!info) return undefined;
    const stream = workspaceStream(workspaceId);
    return this.mutex.run(stream, async () => {
      const entry = this.workspaces.get(workspaceId) ?? { state: initialWorkspaceState(info), revision: -1n, applied: new Map() };
      await this.fold(stream, entry, (e) => evolveWorkspace(entry.state, e as WorkspaceEvent));
      this.remember(this.workspaces, workspaceId, entry);
      return loaded(stream, entry);
    });
  }

  /**
   * Folds events this process just appended into the cached state, so the next command does not read (and decrypt)
   * them back. Only when the cache is exactly at the revision the append expected; otherwise the next load reads
   * what it misses, as usual.
   */
  appended(
    stream: string,
    expected: ExpectedRevision,
    events: DomainEvent[],
    nextRevision: bigint,
    command: { idempotencyKey: string; requestHash?: string },
  ): Promise<void> {
    const isOrg = stream.startsWith('organization-');
    const id = stream.slice(isOrg ? 'organization-'.length : 'workspace-'.length);
    const cache = isOrg ? this.orgs : this.workspaces;
    return this.mutex.run(stream, async () => {
      const entry = cache.get(id) as Entry<OrganizationState | WorkspaceState> | undefined;
      const base = expected === 'no_stream' ? -1n : expected;
      if (!entry || typeof base !== 'bigint' || entry.revision !== base) return;
      for (const e of events)
        if (isOrg) this.evolveOrganization(entry.state as OrganizationState, e as OrganizationEvent);
        else evolveWorkspace(entry.state as WorkspaceState, e as WorkspaceEvent);
      remember(entry.applied, command.idempotencyKey, {
        fromRevision: base + 1n,
        count: events.length,
        ...(command.requestHash !== undefined && { requestHash: command.requestHash }),
      });
      entry.revision = nextRevision;
    });
  }

  private evolveOrganization(state: OrganizationState, event: OrganizationEvent): void {
    if (event.type === 'UserDeleted') {
      const user = state.users.get(event.data.userId);
      if (user && !user.deleted) this.options.onUserDeleted?.(user);
    }
    evolveOrganization(state, event);
  }

  private async fold<S>(stream: string, entry: Entry<S>, evolve: (e: DomainEvent) => void): Promise<void> {
    let folded = 0;
    for await (const recorded of this.store.readStream(stream, { fromRevision: entry.revision + 1n })) {
      const event = fromStored(recorded);
      if (event) evolve(event);
      noteApplied(entry, recorded);
      entry.revision = recorded.revision;
      // a long replay (a cold 100,000-member workspace) must not starve every other request
      if (++folded % 5000 === 0) await new Promise((r) => setImmediate(r));
    }
  }

  private remember<S>(cache: Map<string, Entry<S>>, key: string, entry: Entry<S>): void {
    cache.delete(key);
    cache.set(key, entry);
    if (cache.size > (this.options.maxCached ?? 10_000)) cache.delete(cache.keys().next().value!);
  }
}

const loaded = <S>(stream: string, entry: Entry<S>): Loaded<S> => ({
  stream,
  state: entry.state,
  expected: expectedOf(entry.revision),
  applied: (key) => entry.applied.get(key),
});

/** Records the command an event came from (consecutive events of one command share its key). */
function noteApplied<S>(entry: Entry<S>, recorded: RecordedEvent): void {
  const key = recorded.metadata.idempotencyKey;
  if (typeof key !== 'string') return;
  const known = entry.applied.get(key);
  if (known && known.fromRevision + BigInt(known.count) === recorded.revision) known.count++;
  else {
    const requestHash = recorded.metadata.requestHash;
    remember(entry.applied, key, { fromRevision: recorded.revision, count: 1, ...(typeof requestHash === 'string' && { requestHash }) });
  }
}

function remember(applied: Map<string, AppliedCommand>, key: string, at: AppliedCommand): void {
  applied.delete(key);
  applied.set(key, at);
  if (applied.size > APPLIED_KEYS_PER_STREAM) applied.delete(applied.keys().next().value!);
}
