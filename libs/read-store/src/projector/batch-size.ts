/**
 * How many events the projector applies before a commit: `limit`, halved after a commit the store refused for its size
 * (CommitTooLargeError), down to one event, and doubled back after every GROW_AFTER full batches in a row that went
(at once, the next batch would be refused again: half the commits would fail). A batch the store
 * cannot take whole fails the same way at every retry from the same checkpoint — MongoDB aborts a transaction too
 * large for its cache (TransactionTooLargeForCache) or older than its lifetime (60 s by default) — so the projector
 * would retry that batch for ever. Smaller batches commit the same events, each with its checkpoint; one event refused
 * stays refused (reported degraded, with what to do). Other failures (the store down, a document refused) leave the size alone: a
 * degraded projection must not slow the others to one event per retry.
 */
const GROW_AFTER = 16;

export class BatchSize {
  private current: number;
  /** commits that went since the size last changed */
  private streak = 0;

  constructor(private readonly limit: number) {
    this.current = limit;
  }

  get value(): number {
    return this.current;
  }

  /** a commit of `events` events was refused: half of what was refused (an idle commit may hold fewer than the size) */
  failed(events: number): void {
    this.current = Math.max(1, Math.floor(Math.min(this.current, events) / 2));
    this.streak = 0;
  }

  /** a commit of `events` events went: only a full batch tells that the size holds (an idle commit of a few does not) */
  committed(events: number): void {
    if (this.current >= this.limit || events < this.current || ++this.streak < GROW_AFTER) return;
    this.current = Math.min(this.limit, this.current * 2);
    this.streak = 0;
  }
}
