/**
 * What each event published on an organization's own subject follows (`previousPosition`; event-subjects.ts): that
 * organization's event this process handed over before it since it took the lease, or — for an organization without
 * one — the checkpoint its subscription started from. Another organization's event between them is not one its
 * consumer missed: with the publisher's previous event it would read its feed at nearly every event.
 *
 * A position given must never be below the organization's true previous event: a consumer that missed that event, its
 * cursor below it, would see no gap and lose it for good. So a subscription that starts again from the checkpoint
 * (after a failed confirmation, another replica's append, an idle poll) follows, per organization, its last event
 * the transport confirmed — at or before the checkpoint, as the events past it are sent again — and never the events
 * handed over past the checkpoint and not confirmed (probe 113 F2: every re-subscription looked like a gap when the
 * positions were kept per subscription; probe 114 F3: a failed confirmation still did, when the unconfirmed ones were
 * dropped whole). A takeover clears them: another process may have published meanwhile.
 */
export class OrganizationChains {
  /** per organization, its last event the transport confirmed (at or before the checkpoint) */
  private readonly confirmed = new Map<string, bigint>();
  /** per organization, its last event handed over on this subscription (or confirmed before it) */
  private last = new Map<string, bigint>();
  /** handed over and not confirmed yet, in the order handed */
  private unconfirmed: [organizationId: string, position: bigint][] = [];
  private started = -1n;

  /** a subscription starts from `checkpoint`: what was handed over past it was not confirmed and is sent again */
  restart(checkpoint: bigint): void {
    this.started = checkpoint;
    this.last = new Map(this.confirmed);
    this.unconfirmed = [];
  }

  /** a takeover (or the first start): nothing is known of what was published before */
  clear(): void {
    this.confirmed.clear();
    this.last.clear();
    this.unconfirmed = [];
  }

  /** what an event of `organizationId` follows on its subject */
  previous(organizationId: string): bigint {
    return this.last.get(organizationId) ?? this.started;
  }

  /** the transport was handed `organizationId`'s event at `position` */
  handed(organizationId: string, position: bigint): void {
    this.last.set(organizationId, position);
    this.unconfirmed.push([organizationId, position]);
  }

  /** the checkpoint moved past `position`: what was handed over up to it is confirmed */
  confirmedThrough(position: bigint): void {
    let n = 0;
    for (; n < this.unconfirmed.length && this.unconfirmed[n]![1] <= position; n++) this.confirmed.set(this.unconfirmed[n]![0], this.unconfirmed[n]![1]);
    if (n > 0) this.unconfirmed.splice(0, n);
  }
}
