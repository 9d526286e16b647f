import type { DataSubject } from '@rollcall/domain';
import type { PersonalData, SnapshotSealing } from '@rollcall/event-store';
import type { StateSnapshots } from '../snapshots/snapshots';
import type { StreamStates } from '../command-path/stream-states';

/**
 * Rule 12 for what a process holds in memory (docs/rules.md#crypto-shredding, docs/adr/0013-snapshots-sealed-per-snapshot.md
 * point 4). A deletion forgets the subjects of the addresses erased with the user: a replay then reads those addresses
 * as null in the invitations sealed under them — the user's organization's (cancelled by the deletion's own events,
 * their address still in memory), and, for invitations sent before session 24, other organizations' too (their
 * address subject was shared by every organization: no event in those workspaces' streams; docs/adr/0003, "Session
 * 24"). This makes memory read the same: the cached workspace states holding an invitation under an erased subject
 * are dropped, to be loaded from the log again (StreamStates.dropHoldingErasedAddresses: the log tells an invitation
 * appended before the deletion from one appended after it, under a new key), and their stored snapshots are written
 * again at the next load (a snapshot never read here is checked when a cold load reads it).
 *
 * Called with the subjects a deletion forgot: by this process right after forgetting them (before the deletion is
 * answered), and by every process when its log subscription sees the UserDeleted of any replica (its metadata's
 * `erasedSubjects`).
 */
export class AddressErasure {
  constructor(
    private readonly states: StreamStates,
    private readonly snapshots: StateSnapshots | undefined,
    /** the key subject id of a data subject (of an address, an HMAC of it: the same function that seals it) */
    private readonly subjectId: (subject: DataSubject) => string,
    /**
     * drops the subjects' keys from this process's caches (the API's and the projector thread's) first: a state loaded
     * again would otherwise open the erased values with a cached key (review, session 17)
     */
    private readonly forgetCachedKeys: (subjectIds: string[]) => void = () => undefined,
    /**
     * Of these subjects, those a deletion forgot that this process has not heard of yet, with its position (the key
     * store's tombstones after PresenceFeed.heardThrough; every key store keeps them: docs/adr/0003, point 11)
     */
    private readonly notHeard: (subjectIds: string[]) => Promise<Map<string, bigint>> = async () => new Map(),
    /** of these subjects, those a deletion forgot after `position`, with its position (the key store's tombstones) */
    private readonly forgottenAfter: (subjectIds: string[], position: bigint) => Promise<Map<string, bigint>> = async () => new Map(),
  ) {}

  /**
   * Whether a deletion erased this address after `position` (the last event of an invitation whose email is about to
   * go out): the email is not sent then. Decided before the deletion, the invitation reads erased since (its link
   * answers 410), yet its email, written when the handler resumed after the commit, could go out 1–7 ms after the
   * deletion had committed (3 of 16 such rounds in the race of the session-19 probe; ADR 0003 point 10). Asked right before the email is handed to the transport; a deletion committing
   * after that lookup, while the transport writes or talks SMTP, is not seen (the mail is outside the log's
   * transaction). A tombstone at `position` itself counts: keys forgotten outside a deletion's transaction (the pass at
   * start, a retry) are stamped with the log's head, which may be this invitation.
   */
  async erasedAfter(address: DataSubject, position: bigint): Promise<boolean> {
    return (await this.forgottenAfter([this.subjectId(address)], position - 1n)).size > 0;
  }

  /**
   * Whether a deletion erased this user after `position` (the EmailChangeRequested whose confirmation is about to go
   * out: its new address is sealed under the user's key): as `erasedAfter`, for the user's subject.
   */
  async userErasedAfter(userId: string, position: bigint): Promise<boolean> {
    return (await this.forgottenAfter([this.subjectId({ kind: 'user', userId })], position - 1n)).size > 0;
  }

  /** the deletions heard ahead of the log subscription (hearNow), by subject: not handled twice */
  private readonly heardAhead = new Map<string, bigint>();

  /**
   * Before an answer that shows or refuses on an address this process holds (copy link; "already invited"): a deletion
   * of another process that erased it, which the log subscription has not delivered yet (it polls every 100 ms), is
   * heard now, so the answer follows the rule at once on every replica (docs/rules.md#rule-12; probe 16). One indexed
   * lookup. `addresses`: the address subjects the answer depends on. Returns whether it heard one (the states holding
   * the address were dropped: decide again).
   */
  async hearNow(addresses: readonly DataSubject[]): Promise<boolean> {
    const subjects = addresses.map((address) => this.subjectId(address));
    const unheard = [...(await this.notHeard(subjects))].filter(([id, position]) => (this.heardAhead.get(id) ?? -1n) < position);
    if (unheard.length === 0) return false;
    for (const [id, position] of unheard) {
      this.heardAhead.set(id, position);
      if (this.heardAhead.size > 10_000) this.heardAhead.delete(this.heardAhead.keys().next().value!);
    }
    await this.erased(unheard.map(([id]) => id));
    return true;
  }

  /**
   * The subjects a deletion forgot (this process's own deletion, another's heard through the log, or keys found gone
   * at an append): their keys leave the caches, and the workspace streams whose cached state was dropped are returned.
   */
  async erased(subjectIds: readonly string[]): Promise<string[]> {
    if (subjectIds.length === 0) return [];
    this.forgetCachedKeys([...subjectIds]);
    const erased = new Set(subjectIds);
    const streams = await this.states.dropHoldingErasedAddresses((address) => erased.has(this.subjectId(address)));
    for (const stream of streams) this.snapshots?.addressesErased(stream);
    return streams;
  }
}

/**
 * AddressErasure over the app's stores, as app.module.ts composes it (and the specs that stand for a process): an
 * address's subject and the tombstones from `sealing`, its cached keys dropped from `personalData` (and from
 * `alsoForget`'s caches: the projector thread's); a deletion counts as not heard yet when its tombstone is past
 * `heardThrough` (without it, none does).
 */
export function addressErasureOver(
  stores: { sealing: SnapshotSealing; personalData: Pick<PersonalData, 'forgetCached'> },
  states: StreamStates,
  snapshots: StateSnapshots | undefined,
  options: { heardThrough?: () => bigint; alsoForget?: (subjectIds: string[]) => void } = {},
): AddressErasure {
  const { sealing, personalData } = stores;
  const { heardThrough, alsoForget } = options;
  const forgottenAfter = async (ids: string[], position: bigint) => (await sealing.forgottenAfter(ids, position)) ?? new Map<string, bigint>();
  return new AddressErasure(
    states,
    snapshots,
    (subject) => sealing.subjectId(subject),
    (ids) => {
      personalData.forgetCached(ids);
      alsoForget?.(ids);
    },
    async (ids) => (heardThrough ? forgottenAfter(ids, heardThrough()) : new Map()),
    forgottenAfter,
  );
}

export { erasedSubjectsOf } from '@rollcall/event-store';
