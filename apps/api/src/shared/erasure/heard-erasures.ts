import { type DataSubject, type WorkspaceState, hasAddress, invitationSubject } from '@rollcall/domain';

/** how many erasures are kept to check a load against; a load that ran across more is read again whole */
const KEPT = 64;

/**
 * The address erasures this process has heard (AddressErasure → StreamStates.dropHoldingErasedAddresses), numbered. A
 * workspace load notes the number when it starts; if an erasure was heard before it caches or snapshots what it read,
 * it checks that state against it (docs/adr/0003, "Erasure and sealing race", point 7). So the erasure need not wait
 * for loads in flight (review, session 18: a deletion's answer waited for every cold load in the process).
 */
export class HeardErasures {
  private count = 0;
  private readonly recent: { number: number; isErased: (subject: DataSubject) => boolean }[] = [];

  /** how many erasures were heard so far */
  get heard(): number {
    return this.count;
  }

  add(isErased: (subject: DataSubject) => boolean): void {
    this.recent.push({ number: ++this.count, isErased });
    if (this.recent.length > KEPT) this.recent.shift();
  }

  /**
   * Whether the state holds an invitation (not accepted) to an address erased by an erasure heard after `since` (a
   * `heard` count); true when more were heard since than are kept.
   */
  holdsErasedSince(state: WorkspaceState, since: number): boolean {
    if (since === this.count) return false;
    if (this.recent[0]!.number > since + 1) return true;
    const erasures = this.recent.filter((e) => e.number > since);
    return holdsErased(state, (subject) => erasures.some((e) => e.isErased(subject)));
  }
}

/** Whether the state holds an invitation (not accepted) whose address's subject `isErased` says is erased. */
export function holdsErased(state: WorkspaceState, isErased: (subject: DataSubject) => boolean): boolean {
  for (const inv of state.invitations.values()) if (inv.status !== 'accepted' && hasAddress(inv) && isErased(invitationSubject(state, inv))) return true;
  return false;
}
