// A process's command side over a real data dir (embedded events, keys and snapshots), for the snapshot specs: open
// it, replay an EventLog's appends into it as the API would (forgetting a deleted user's keys as DeleteUser does),
// close it and open it again cold.
import { join } from 'node:path';
import { type DataSubject, addressSubject, addressSubjectsErased } from '@rollcall/domain';
import {
  type EventStore,
  type PersonalData,
  type ReadStreamOptions,
  type SnapshotSealing,
  type SnapshotStore,
  SqliteSnapshotStore,
  createRollcallEventStore,
} from '@rollcall/event-store';
import type { LoggedAppend } from '../../../../../libs/read-store/src/projections/testing/event-log';
import { StateSnapshots, snapshotSubject, workspaceSnapshotSubject } from '../snapshots/snapshots';
import { StreamHandler } from '../command-path/stream-handler';
import { StreamStates } from '../command-path/stream-states';

export interface Process {
  store: EventStore;
  personalData: PersonalData;
  sealing: SnapshotSealing;
  snapshotStore: SnapshotStore;
  snapshots: StateSnapshots;
  states: StreamStates;
  handler: StreamHandler;
  /** every readStream call's stream and fromRevision */
  reads: { stream: string; fromRevision: bigint }[];
  errors: unknown[];
  /** users deleted so far per organization (the epoch of its snapshots' key, as DeleteUser counts it) */
  deletedPerOrg: Map<string, number>;
  /** the erasures each workspace's events told of so far (its snapshots' epoch) */
  erasuresPerWorkspace: Map<string, number>;
  close(): Promise<void>;
}

/** `every`: snapshot after this many folded events (Infinity: never write one); `snapshots: false`: no snapshots at all. */
export async function openProcess(dir: string, options: { every?: number; snapshots?: boolean } = {}): Promise<Process> {
  const { store, personalData, sealing } = await createRollcallEventStore({ dataDir: dir, durability: 'normal' });
  const reads: Process['reads'] = [];
  const readStream = store.readStream.bind(store);
  store.readStream = (stream: string, opts?: ReadStreamOptions) => {
    reads.push({ stream, fromRevision: opts?.fromRevision ?? 0n });
    return readStream(stream, opts);
  };
  const errors: unknown[] = [];
  const snapshotStore = new SqliteSnapshotStore(join(dir, 'snapshots.sqlite'));
  const every = options.every ?? 1;
  const snapshots = new StateSnapshots(snapshotStore, sealing, {
    every: Number.isFinite(every) ? every : Number.MAX_SAFE_INTEGER,
    onError: (_stream, error) => errors.push(error),
  });
  const states = new StreamStates(store, {
    onUserDeleted: (user, organizationId) => personalData.forgetCached(personalData.subjectsOf(user, organizationId)),
    ...(options.snapshots !== false && { snapshots }),
  });
  return {
    store,
    personalData,
    sealing,
    snapshotStore,
    snapshots,
    states,
    handler: new StreamHandler(store, states),
    reads,
    errors,
    deletedPerOrg: new Map(),
    erasuresPerWorkspace: new Map(),
    close: async () => {
      await snapshots.settled();
      await snapshotStore.close();
      await store.close();
    },
  };
}

/**
 * Appends an EventLog's appends in order. A UserDeleted is followed by forgetting the user's keys (their subject and
 * every address they had) and the key of their organization's snapshots of that epoch, as the DeleteUser handler does
 * once the deletion is appended (docs/adr/0013-snapshots-sealed-per-snapshot.md).
 */
export async function replayAppends(p: Process, appends: LoggedAppend[], emailsOf = new Map<string, Set<string>>()): Promise<void> {
  /** invitation id → its address, and the addresses an AddressErased's append erased (its InvitationAddressErased) */
  const invited = new Map<string, string>();
  const erasing = new Set<string>();
  /** invitation id → its address's subject when sealed under the invitation's own key, and those an erasure's append names */
  const ownSubject = new Map<string, DataSubject>();
  const erasingOwn: DataSubject[] = [];
  for (const { stream, events } of appends) {
    await p.store.append(stream, events, 'any');
    for (const e of events) {
      const d = e.data as { userId?: string; email?: unknown; changes?: { email?: unknown }; invitationId?: string; invitationIds?: string[] };
      if (e.type === 'UserInvited' && typeof d.email === 'string') {
        invited.set(d.invitationId!, d.email);
        const { organizationId, addressKey } = e.data as { organizationId: string; addressKey?: string };
        if (addressKey === 'invitation') ownSubject.set(d.invitationId!, addressSubject(d.email, organizationId, addressKey, d.invitationId));
      }
      if (e.type === 'InvitationAddressErased') for (const id of d.invitationIds!) if (invited.has(id)) erasing.add(invited.get(id)!);
      // as the handlers: the own key of every invitation the erasure names (erasedInvitationSubjects), and the key of
      // the workspace's snapshots of its epoch (snapshotSubjectsErasedBy)
      if (e.type === 'InvitationAddressErased' || e.type === 'UserDeletedFromWorkspace') {
        for (const id of d.invitationIds!) if (ownSubject.has(id)) erasingOwn.push(ownSubject.get(id)!);
        const { organizationId, workspaceId } = e.data as { organizationId: string; workspaceId: string };
        const epoch = p.erasuresPerWorkspace.get(workspaceId) ?? 0;
        p.erasuresPerWorkspace.set(workspaceId, epoch + 1);
        await p.personalData.forget([workspaceSnapshotSubject(organizationId, workspaceId, epoch)]);
      }
      if (e.type === 'AddressErased') {
        // as EraseAddressHandler: the address's subjects and the epoch's snapshot key (invitations here are all of after session 24)
        const organizationId = (e.data as { organizationId: string }).organizationId;
        const epoch = p.deletedPerOrg.get(organizationId) ?? 0;
        p.deletedPerOrg.set(organizationId, epoch + 1);
        await p.personalData.forget([...p.personalData.subjectIdsOf([...addressSubjectsErased(organizationId, erasing, []), ...erasingOwn.splice(0)]), snapshotSubject(organizationId, epoch)]);
        erasing.clear();
      }
      const email = e.type === 'UserJoinedOrganization' || e.type === 'EmailChangeConfirmed' ? d.email : e.type === 'UserProfileUpdated' ? d.changes?.email : undefined;
      if (typeof email === 'string') emailsOf.set(d.userId!, new Set([...(emailsOf.get(d.userId!) ?? []), email]));
      if (e.type === 'UserDeleted') {
        const organizationId = (e.data as { organizationId: string }).organizationId;
        const epoch = p.deletedPerOrg.get(organizationId) ?? 0;
        p.deletedPerOrg.set(organizationId, epoch + 1);
        const subjects = p.personalData.subjectsOf({ userId: d.userId!, knownEmails: [...(emailsOf.get(d.userId!) ?? [])] }, organizationId);
        await p.personalData.forget([...subjects, ...p.personalData.subjectIdsOf(erasingOwn.splice(0)), snapshotSubject(organizationId, epoch)]);
      }
    }
  }
}
