import { createHash } from 'node:crypto';
import {
  ORGANIZATION_EVENT_TYPES,
  WORKSPACE_EVENT_TYPES,
  type OrganizationState,
  caseFold,
  UPCASTERS,
  type WorkspaceState,
  evolveOrganization,
  evolveProfile,
  evolveTeams,
  evolveWorkspace,
  fromStored,
  releaseTeamName,
  teamNameKey,
  upcast,
} from '@rollcall/domain';
import type { SnapshotSealing, SnapshotStore } from '@rollcall/event-store';
import { DEFAULT_SNAPSHOT_EVERY } from '../../config';
import {
  type ClearHead,
  INVITATION_FIELDS,
  MEMBER_FIELDS,
  type Restored,
  ErasureNotHeardYetError,
  type SnapshotCopy,
  USER_FIELDS,
  copyOrganization,
  copyWorkspace,
  newSnapshotId,
  openSnapshot,
  sealCopy,
} from './snapshot-codec';
import { ROW_READERS, rowsChunk } from './snapshot-rows';

export type { Restored } from './snapshot-codec';

/**
 * Snapshots of the deciders' states (docs/adr/0008-snapshots.md, docs/adr/0013-snapshots-sealed-per-snapshot.md): a
 * cold load of a 100,000-member workspace reads its snapshot and folds only the events after it, instead of replaying
 * and decrypting ~200,000 events.
 *
 * Bump STATE_SHAPE_VERSION when the shape of OrganizationState / WorkspaceState (or of what they hold) changes.
 * The version also hashes the code of the upcasters and folds and the snapshot's row layout, so a new upcaster, a
 * changed evolve or a new row field invalidates every snapshot by itself: a snapshot of another version is ignored and
 * the stream replayed.
 */
export const STATE_SHAPE_VERSION = 13; // 13: Invitation.invitedBy, closedAt, cancelledBy (the invitation read: probe 82 F7), Member.revokedAt, revokedBy (probe 80 F14); 12: Team.sharedWith, sharedWithEveryPartner (sharing per partner: docs/adr/0040); 11: UserProfile.deletedAt, deletedBy (probe 80 F7); 10: OrganizationState.deletedUsers (the epoch without reading every user: docs/adr/0013 "Session 59"); 9: OrganizationState.revokedApiKeys, ApiKeyOnFile.issuedBy (probe 75 F4); 8: UserProfile.confirmedEmailChangeVersion (probe 65 F6); 7: WorkspaceState.erasures (its snapshots' epoch, docs/adr/0013 "Session 43"); 6: Invitation.addressKey may be 'invitation' (docs/adr/0024); 5: OrganizationState.apiKeys holds each key's issue time and label; 4: byEmailShared, pendingByEmailShared (ADR 0017); 3: WorkspaceInfo.organizationId, Invitation.addressKey; 2: WorkspaceState.teams
/** 5: rows as columns, access values listed once per chunk (snapshot-rows.ts); 4: the addresses of invitations not accepted sealed under their own key too; 3: sealed under one data key per organization epoch, rows as arrays (ADR 0013); 2: personal values sealed per subject */
export const SNAPSHOT_FORMAT = 5;

const FOLD_CODE = createHash('sha256')
  .update([upcast, fromStored, ...UPCASTERS, evolveOrganization, evolveWorkspace, evolveProfile, evolveTeams].map(String).join('\n'))
  // the keys the states' name and address indexes are built with (session 35: teamNameKey changed in session 34 without
  // moving the hash, and a workspace restored from an older snapshot kept its team names lower-cased, not folded), and
  // the Unicode version of the runtime whose mappings caseFold uses
  .update([teamNameKey, releaseTeamName, caseFold].map(String).join('\n'))
  .update(process.versions.unicode ?? '')
  // the types a state's stream may hold (a mail ledger's are on streams of their own: they change no state).
  // `PresenceChanged` was hashed with them from the start and stays, so that the hash does not move; MembershipEnded
  // (session 31), on presence streams only, is left out: it is in no snapshot's stream, and adding it threw every
  // snapshot away at the upgrade (every workspace loaded from the log once: review of session 31)
  .update([...ORGANIZATION_EVENT_TYPES, ...WORKSPACE_EVENT_TYPES, 'PresenceChanged'].join(','))
  // the rows' layout: their fields, and how a chunk writes and reads them (columns, access values listed once)
  .update(JSON.stringify([USER_FIELDS, MEMBER_FIELDS, INVITATION_FIELDS]))
  .update([rowsChunk, ...ROW_READERS].map(String).join('\n'))
  .digest('base64url')
  .slice(0, 16);

export type SnapshotKind = 'organization' | 'workspace';
export const snapshotVersion = (kind: SnapshotKind): string => `${kind}/${STATE_SHAPE_VERSION}/f${SNAPSHOT_FORMAT}/${FOLD_CODE}`;

/**
 * The organization's epoch: how many of its users are deleted. Every snapshot of the organization's stream is sealed
 * under the key of its epoch; deleting a user forgets that key (with the user's own), so every snapshot that may hold
 * them is crypto-shredded at once (docs/rules.md#rule-12), and later ones use the next epoch's.
 */
export function organizationEpoch(org: OrganizationState): number {
  // (and the addresses erased alone: AddressErased forgets this epoch's key as a deletion does, ADR 0024)
  return (org.addressErasures ?? 0) + (org.deletedUsers ?? 0);
}
export const snapshotSubject = (organizationId: string, epoch: number) => `snapshot:${organizationId}:${epoch}`;
/** The key subject of the organization's snapshots now: DeleteUser forgets it with the deleted user's subjects. */
export const snapshotKeySubject = (org: OrganizationState) => snapshotSubject(org.organizationId, organizationEpoch(org));

/**
 * A workspace's snapshots have an epoch of their own: the erasures that reached it (WorkspaceState.erasures; since
 * session 43, docs/adr/0013). What a workspace snapshot holds of a user — their membership, their accepted
 * invitation's address — is in a workspace their deletion reaches (it sends it UserDeletedFromWorkspace), so the
 * deletion forgets the keys of those workspaces' epochs and no other: a 100,000-member workspace's snapshot outlives
 * the deletion of a user who was never there (probe 42: each deletion shredded it, and a restart replayed it).
 */
export const workspaceSnapshotSubject = (organizationId: string, workspaceId: string, epoch: number) => `snapshot:${organizationId}:${workspaceId}:${epoch}`;
/** The key subject of the workspace's snapshots now: an erasure that reaches it forgets it. */
export const workspaceSnapshotKeySubject = (ws: WorkspaceState) => workspaceSnapshotSubject(ws.info.organizationId, ws.info.workspaceId, ws.erasures);

/**
 * The snapshot keys an erasure (a user's deletion, an address's erasure) forgets, decided on these states: its
 * organization's epoch's, and the epoch's of each workspace it reaches (its events name them: UserDeletedFromWorkspace,
 * InvitationAddressErased, each folded into the workspace's `erasures`).
 */
export function snapshotSubjectsErasedBy(org: OrganizationState, workspaces: readonly WorkspaceState[], events: readonly { type: string; data: unknown }[]): string[] {
  const reached = new Set(
    events.filter((e) => e.type === 'UserDeletedFromWorkspace' || e.type === 'InvitationAddressErased').map((e) => (e.data as { workspaceId: string }).workspaceId),
  );
  return [snapshotKeySubject(org), ...workspaces.filter((ws) => reached.has(ws.info.workspaceId)).map(workspaceSnapshotKeySubject)];
}

export interface SnapshotOptions {
  /** a snapshot is written once a load has folded this many events since the last one (default 10,000) */
  every?: number;
  /** a snapshot that could not be read or written: the stream is replayed, the command goes on */
  onError?: (stream: string, error: unknown) => void;
  /** a snapshot was written (metrics, tests) */
  onWritten?: (stream: string, revision: bigint, ms: number) => void;
  /**
   * The log position through which this process has heard of every deletion and let go of what it erased
   * (PresenceFeed.heardThrough: it hands each deletion to AddressErasure). Without it, nothing counts as heard: a
   * snapshot holding an address whose key any deletion ever forgot waits (docs/adr/0003, "Erasure and sealing race",
   * point 7).
   */
  erasuresHeardThrough?: () => bigint;
}

/** the latest snapshot read or written of a stream */
interface Latest {
  revision: bigint;
  subjectId: string;
  epoch: number;
  /** erasures() when its epoch was last compared with the organization's (-1: not yet) */
  checkedAt: number;
  /** of an older epoch than its organization's: shredded, to be written again at the next load that can */
  stale?: boolean;
  /** holds an address erased since by a deletion in another organization (its key is not shredded): write it again */
  holdsErased?: boolean;
}

const MAX_STREAMS = 100_000;
const setBounded = <K, V>(map: Map<K, V>, key: K, value: V, max = MAX_STREAMS) => {
  map.delete(key);
  map.set(key, value);
  if (map.size > max) map.delete(map.keys().next().value!);
};

/**
 * Reads a stream's snapshot on a cold load (StreamStates.restore) and writes a new one in the background after a
 * load that folded `every` events since the last, or whose snapshot an erasure made stale (StreamStates.folded):
 * never on a command's path, one at a time per stream. The state is copied in the turn of the load (a few ms for
 * 100,000 members); sealing and storing happen afterwards in slices, yielding to the event loop.
 */
export class StateSnapshots {
  private readonly every: number;
  private readonly latest = new Map<string, Latest>();
  private readonly writing = new Map<string, Promise<void>>();
  /** erasures() at each stream's previous load (or at the start of its cold load) */
  private readonly erasuresAtLoad = new Map<string, number>();

  private heardThrough: (() => bigint) | undefined;
  /** streams whose write waited for deletions not heard yet, with the latest one's position: not copied again before it is heard */
  private readonly unheard = new Map<string, bigint>();

  constructor(
    private readonly store: SnapshotStore,
    private readonly sealing: SnapshotSealing,
    private readonly options: SnapshotOptions = {},
  ) {
    this.every = options.every ?? DEFAULT_SNAPSHOT_EVERY;
    this.heardThrough = options.erasuresHeardThrough;
  }

  /** SnapshotOptions.erasuresHeardThrough, given once the log subscription exists (it is built after this) */
  followErasures(heardThrough: () => bigint): void {
    this.heardThrough = heardThrough;
  }

  async restore(kind: 'organization', stream: string): Promise<Restored<OrganizationState> | undefined>;
  async restore(kind: 'workspace', stream: string): Promise<Restored<WorkspaceState> | undefined>;
  async restore(kind: SnapshotKind, stream: string): Promise<Restored<OrganizationState | WorkspaceState> | undefined> {
    setBounded(this.erasuresAtLoad, stream, this.sealing.erasures());
    try {
      const snapshot = await this.store.read(stream);
      // another state shape, another upcaster or fold: the snapshot means nothing any more
      if (!snapshot || snapshot.version !== snapshotVersion(kind)) return undefined;
      const head = JSON.parse(snapshot.head) as ClearHead;
      const cipher = await this.sealing.cipher(head.subjectId, { create: false });
      // shredded: a user of its organization was deleted since; the stream is replayed and a new snapshot written
      if (!cipher) return undefined;
      // addresses erased since it was written, by a deletion in another organization, open as null (as a replay reads
      // them); the snapshot is written again without them
      const { restored, erasedAddresses: erased } = await openSnapshot(kind, snapshot, head, cipher, this.sealing);
      setBounded(this.latest, stream, { revision: snapshot.revision, subjectId: head.subjectId, epoch: head.epoch, checkedAt: -1, ...(erased > 0 && { holdsErased: true }) });
      return restored;
    } catch (error) {
      this.options.onError?.(stream, error);
      return undefined;
    }
  }

  /** After a load: writes a snapshot in the background when enough events were folded since the last one. */
  folded(kind: 'organization', stream: string, entry: Restored<OrganizationState>): void;
  folded(kind: 'workspace', stream: string, entry: Restored<WorkspaceState>): void;
  folded(kind: SnapshotKind, stream: string, entry: Restored<OrganizationState | WorkspaceState>): void {
    const erasures = this.sealing.erasures();
    const erasuresAtPreviousLoad = this.erasuresAtLoad.get(stream);
    // written only when it changed (nearly never): a delete and set per load churned the map on every command. The
    // bound then drops the entry changed longest ago, whose stream only misses one workspace snapshot write (below)
    if (erasuresAtPreviousLoad !== erasures) setBounded(this.erasuresAtLoad, stream, erasures);
    if (this.every <= 0 || this.writing.has(stream)) return;
    const last = this.latest.get(stream);
    if (last && last.checkedAt !== erasures) {
      // an erasure since the snapshot was read or written: one of an older epoch may hold a deleted user's data. The
      // deletion forgot its key; this covers a deletion that raced with its sealing (another replica's), or a crash
      last.checkedAt = erasures;
      const now = this.epochOf(kind, entry);
      if (now.epoch > last.epoch && !last.stale) {
        last.stale = true;
        void this.shred(stream, last.subjectId);
      }
    }
    if (!last?.stale && !last?.holdsErased && entry.revision - (last?.revision ?? -1n) < BigInt(this.every)) return;
    // A workspace loaded across an erasure waits for its next load: the erasure's part in it may be still to come in
    // this process's view (another store's append of its streams, one by one), and a copy at the epoch before it would
    // be sealed under the key the erasure forgot, made again (the next load writes it instead).
    if (kind === 'workspace' && erasuresAtPreviousLoad !== erasures) return;
    const at = this.epochOf(kind, entry);
    const heard = this.heardThrough?.() ?? -1n;
    if (heard < (this.unheard.get(stream) ?? -1n)) return;
    // copied in this turn, under the load's turn on the stream: what is folded later cannot change what is sealed
    const copy =
      kind === 'organization'
        ? copyOrganization(entry.state as OrganizationState, entry.applied, entry.lastAt)
        : copyWorkspace(entry.state as WorkspaceState, entry.applied, entry.lastAt);
    // what this process had heard (and handled) when the state was copied: a later hearing cannot vouch for this copy
    const write = this.write(stream, entry.revision, kind, copy, at, erasures, heard);
    this.writing.set(stream, write);
    void write.finally(() => this.writing.delete(stream));
  }

  /**
   * The cached state of `stream` lost addresses a deletion in another organization erased (StreamStates
   * .forgetErasedAddresses): its stored snapshot may hold them, so the next load writes it again.
   */
  addressesErased(stream: string): void {
    const last = this.latest.get(stream);
    // never read nor written by this process: a stored one is checked when a cold load reads it (restore)
    if (last) last.holdsErased = true;
  }

  /** Nest's shutdown: the snapshots being written are finished, then the store is closed. */
  async onApplicationShutdown(): Promise<void> {
    await this.settled();
    await this.store.close();
  }

  /** Resolves when the snapshots being written now are stored (or given up). */
  async settled(): Promise<void> {
    while (this.writing.size > 0) await Promise.all(this.writing.values());
  }

  /** the key subject and epoch of the stream's snapshots now: the organization's, or the workspace's own */
  private epochOf(kind: SnapshotKind, entry: Restored<OrganizationState | WorkspaceState>): { subjectId: string; organizationId: string; epoch: number } {
    if (kind === 'organization') {
      const org = entry.state as OrganizationState;
      const epoch = organizationEpoch(org);
      return { subjectId: snapshotSubject(org.organizationId, epoch), organizationId: org.organizationId, epoch };
    }
    const ws = entry.state as WorkspaceState;
    return { subjectId: workspaceSnapshotKeySubject(ws), organizationId: ws.info.organizationId, epoch: ws.erasures };
  }

  private async write(stream: string, revision: bigint, kind: SnapshotKind, copy: SnapshotCopy, at: { subjectId: string; organizationId: string; epoch: number }, erasures: number, erasuresHeard: bigint): Promise<void> {
    const started = performance.now();
    try {
      const version = snapshotVersion(kind);
      const { subjectId } = at;
      const cipher = await this.sealing.cipher(subjectId, { create: true });
      if (!cipher) throw new Error(`no key for ${subjectId}`);
      const head: ClearHead = { subjectId, organizationId: at.organizationId, epoch: at.epoch, id: newSnapshotId() };
      const chunks = await sealCopy(copy, { stream, version, revision, id: head.id, erasuresHeard }, cipher, this.sealing, this.store);
      // An erasure seen while this was sealed: the epoch's key may be one its deletion forgot and this write created
      // again, over data copied before the deletion. Dropped; the next load writes another.
      if (this.sealing.erasures() !== erasures) return;
      await this.store.write({ stream, revision, version, head: JSON.stringify(head), chunks });
      setBounded(this.latest, stream, { revision, subjectId, epoch: at.epoch, checkedAt: erasures });
      this.unheard.delete(stream);
      this.options.onWritten?.(stream, revision, performance.now() - started);
    } catch (error) {
      // a deletion this process has not heard of yet: not an error, the next load (after it is heard) writes one
      if (error instanceof ErasureNotHeardYetError) return void setBounded(this.unheard, stream, error.until);
      this.options.onError?.(stream, error);
    }
  }

  private async shred(stream: string, subjectId: string): Promise<void> {
    try {
      await this.sealing.shred([subjectId]);
    } catch (error) {
      this.options.onError?.(stream, error);
    }
  }
}
