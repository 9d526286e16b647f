/**
 * The checkpoint of a transport whose sends are confirmed apart from the send (NATS: a flush, the server's answer to a
 * ping sent after the messages). One confirmation is asked at a time and covers every event handed over before it was
 * asked; when it answers, the checkpoint moves past the last of them, and the next one covers what was handed over
 * meanwhile. So the checkpoint never passes an event the transport has not confirmed (probe 55 F4: a stalled server's
 * client buffered 20 events the checkpoint moved past, lost), and publishing is not held to a round trip per event
 * (probe 58 F2: a flush per event put the push 660 events behind under an ordinary load).
 */
export class ConfirmedCheckpoint {
  /** the last position handed to the transport (or passed over: not published) */
  private handedOver: bigint | undefined;
  private confirmedThrough: bigint | undefined;
  private inFlight: Promise<void> | undefined;
  private failure: Error | undefined;
  private abandoned = false;

  constructor(
    /** asks the transport to confirm what it was handed so far */
    private readonly confirm: () => Promise<void>,
    /** moves the checkpoint past `position` (confirmed) */
    private readonly move: (position: bigint) => Promise<void>,
    private readonly timeoutMs: number,
    private readonly transport: string,
    /** told of a failed confirmation at once (the publisher ends its subscription: it may wait on no next event) */
    private readonly onFailure: (error: Error) => void = () => undefined,
  ) {}

  /** `position` was handed to the transport, or passed over (an event that is not published) */
  handed(position: bigint): void {
    this.handedOver = position;
    this.inFlight ??= this.rounds();
  }

  /** the failure of a confirmation (a timeout: the server stalled or went away), thrown to re-subscribe from the checkpoint */
  check(): void {
    if (this.failure) throw this.failure;
  }

  /** every event handed over confirmed and the checkpoint past it, or the failure thrown */
  async settled(): Promise<void> {
    await this.inFlight;
    this.check();
  }

  /**
   * No more checkpoint moves (the lease passed to another process, or publishing stops); resolves once a move under
   * way is done, so that the next subscription's checkpoint writes never overlap this one's.
   */
  async abandon(): Promise<void> {
    this.abandoned = true;
    await this.inFlight;
  }

  private async rounds(): Promise<void> {
    try {
      while (!this.abandoned && this.failure === undefined && this.handedOver !== undefined && this.handedOver !== this.confirmedThrough) {
        const through = this.handedOver;
        await withTimeout(this.confirm(), this.timeoutMs, `the ${this.transport} server did not confirm what it was sent within ${this.timeoutMs} ms`);
        if (this.abandoned) return;
        await this.move(through);
        this.confirmedThrough = through;
      }
    } catch (error) {
      this.failure = error instanceof Error ? error : new Error(String(error));
      this.onFailure(this.failure);
    } finally {
      this.inFlight = undefined;
    }
  }
}

async function withTimeout(promise: Promise<void>, ms: number, message: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  try {
    await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
