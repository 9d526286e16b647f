import type { NatsConnection } from '@nats-io/transport-node';

/** A confirmation failed because the NATS server refused publishes: the transport refusing events, counted in `failedSends`. */
export class NatsPublishRefused extends Error {
  override readonly name = 'NatsPublishRefused';
}

/**
 * The NATS server's refusals of this process's publishes of integration events (a permissions violation: its NATS user
 * may not publish on that subject). Core NATS says so asynchronously (an `-ERR` the client hands to its status
 * listeners), and a flush sent after the refused publish still answers: without this, the publisher confirmed and moved
 * its checkpoint past events no consumer got, and `/health` said nothing (probe 113 F1: with the permissions
 * docs/security.md named before session 66, every event on `rollcall.org.…` was dropped). `throwIfRefused` turns such a
 * refusal into a failed confirmation: the events are sent again from the checkpoint, and the publisher shows `retrying`
 * with the refused subject until the permission is granted.
 */
export class NatsPublishRefusals {
  private readonly watched = new WeakSet<NatsConnection>();
  private count = 0;
  private seen = 0;
  private last?: string;

  /** listens to `nc`'s status once (a reconnect keeps the connection object; a new client brings a new one) */
  watch(nc: NatsConnection): void {
    if (this.watched.has(nc)) return;
    this.watched.add(nc);
    void (async () => {
      for await (const status of nc.status()) {
        if (status.type !== 'error') continue;
        const error = status.error as { name?: string; operation?: string; subject?: string; message?: string };
        if (error?.name === 'PermissionViolationError' && error.operation === 'publish' && error.subject?.startsWith('rollcall.')) {
          this.count++;
          this.last = error.subject;
        }
      }
    })().catch(() => undefined);
  }

  /**
   * forgets the refusals counted so far: a subscription starts again from the checkpoint (after a backoff), and the
   * refusals of the sends before it — a failed confirmation throws at the first; the rest come in after — are not its
   * own (probe 114 F2: they failed its first confirmation after the permission was granted, one more backoff and re-send)
   */
  forget(): void {
    this.seen = this.count;
  }

  /** throws when the server refused a publish of an integration event since the last call */
  throwIfRefused(): void {
    if (this.count === this.seen) return;
    const refused = this.count - this.seen;
    this.seen = this.count;
    throw new NatsPublishRefused(
      `the NATS server refused ${refused} publish(es) of integration events (permissions violation, e.g. on "${this.last}"): allow Rollcall's NATS user to publish to rollcall.events.> and rollcall.org.*.events.> (docs/security.md)`,
    );
  }
}

/**
 * A NATS confirmation of what was published: the server's answer to a ping sent after it, and no refusal of any of it
 * meanwhile (the server answers a refused publish's `-ERR` before that ping's PONG, on the same connection; one turn of
 * the event loop lets the status listener see it)
 */
export async function confirmNatsPublishes(nc: NatsConnection, refusals: NatsPublishRefusals): Promise<void> {
  refusals.watch(nc);
  await nc.flush();
  await new Promise((resolve) => setImmediate(resolve));
  refusals.throwIfRefused();
}
