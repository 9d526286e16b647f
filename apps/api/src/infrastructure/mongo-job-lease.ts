import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Collection, Long, MongoClient } from 'mongodb';
import { mongoDriver } from '@rollcall/event-store';
import { LEASE_RENEW_MS, LEASE_TTL_MS } from './lease';
import type { PublisherCoordination } from './publisher-coordination';

/** one job's lease, and where it got to: `{ _id: job, holder, expires, position }` in the collection `job_leases` */
interface JobLeaseDocument {
  _id: string;
  holder: string;
  expires: Date;
  position?: Long;
}

/** a holder stops acting this long before its lease runs out (its clock, the server's, the other replicas' drift) */
const SAFETY_MS = 1_000;
/** the checkpoint is written at most this often while events are published (a takeover publishes those again) */
const CHECKPOINT_EVERY_MS = 250;

/**
 * A job that one process at a time does, among replicas that share no data dir but a MongoDB: the projector of a
 * MongoDB read store, the integration-event publisher (EventStoreDB + MongoDB). The lease is one document; taking or
 * renewing it is one conditional upsert — it matches when this process holds it or when it ran out, and otherwise
 * the upsert's insert is refused by the `_id` index (E11000): another holder's lease runs. Its expiry is this
 * process's clock plus LEASE_TTL_MS; a holder acts only until SAFETY_MS before it, so clocks within a second of each
 * other (NTP) never see two holders act at once. `start()` renews it every LEASE_RENEW_MS in the background (or the
 * caller calls `renew()` on its own beat): `leads()` never waits on MongoDB.
 */
export class MongoJobLease {
  readonly holder = `${hostname()}|${process.pid}|${randomUUID()}`;
  private client!: MongoClient;
  protected collection!: Collection<JobLeaseDocument>;
  /** this process's clock until which it may act (0: not the holder) */
  private actUntil = 0;
  private renewing?: Promise<void>;
  private timer?: NodeJS.Timeout;
  private closed = false;
  /** after standing down, no renewal before this time (another replica may take the lease meanwhile) */
  private quietUntil = 0;

  constructor(
    private readonly mongoUrl: string,
    protected readonly job: string,
    protected readonly onError: (error: unknown) => void = () => undefined,
  ) {
    this.connect();
  }

  private connect(): void {
    // a MongoDB that does not answer fails a renewal (or the stop's last writes) in seconds, not the driver's 30
    this.client = new (mongoDriver().MongoClient)(this.mongoUrl, { serverSelectionTimeoutMS: 3_000 });
    this.collection = this.client.db().collection<JobLeaseDocument>('job_leases');
  }

  /** asks for the lease now, then every LEASE_RENEW_MS */
  start(): Promise<void> {
    this.timer = setInterval(() => void this.renew(), LEASE_RENEW_MS);
    this.timer.unref();
    return this.renew();
  }

  leads(now = Date.now()): boolean {
    return now < this.actUntil;
  }

  /** takes or renews the lease (one at a time); a failure to reach MongoDB leaves it to run out */
  renew(): Promise<void> {
    if (Date.now() < this.quietUntil) return Promise.resolve();
    this.renewing ??= this.tryAcquire()
      .then((held) => {
        if (!held) this.actUntil = 0;
      })
      .catch((error: unknown) => {
        this.onError(error);
        // the driver closes a client whose first connection failed, for good: a new one for the next renewal
        if (error instanceof mongoDriver().MongoTopologyClosedError && !this.closed) this.connect();
      })
      .finally(() => (this.renewing = undefined));
    return this.renewing;
  }

  /** lets the lease go now, and asks for it again only after LEASE_TTL_MS (another replica may take it meanwhile) */
  standDown(now = Date.now()): Promise<void> {
    this.quietUntil = now + LEASE_TTL_MS;
    return this.letGo();
  }

  /** true: this process holds the lease until LEASE_TTL_MS from now */
  async tryAcquire(now = Date.now()): Promise<boolean> {
    if (this.closed) return false;
    const acting = this.leads(now);
    try {
      await this.collection.updateOne(
        { _id: this.job, $or: [{ holder: this.holder }, { expires: { $lte: new Date(now) } }] },
        { $set: { holder: this.holder, expires: new Date(now + LEASE_TTL_MS) } },
        { upsert: true },
      );
    } catch (error) {
      if (error instanceof mongoDriver().MongoServerError && error.code === 11000) return false;
      throw error;
    }
    await this.renewed(acting, now);
    this.actUntil = now + LEASE_TTL_MS - SAFETY_MS;
    return true;
  }

  /** lets the lease go (a standby takes it at its next try): its expiry in the past, whatever the job keeps stays */
  release(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    return this.letGo();
  }

  /** the job's last write, then the lease's expiry in the past; nothing when this process does not hold it */
  private async letGo(): Promise<void> {
    await this.renewing;
    if (this.actUntil === 0) return;
    this.actUntil = 0;
    await this.releasing().catch((error: unknown) => this.onError(error));
    await this.collection.updateOne({ _id: this.job, holder: this.holder }, { $set: { expires: new Date(0) } }).catch((error: unknown) => this.onError(error));
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    await this.renewing;
    await this.client.close();
  }

  /** the lease was taken or renewed; `wasActing`: this process acted on it until now */
  protected async renewed(_wasActing: boolean, _now: number): Promise<void> {}

  /** the lease is about to be let go: a last write of the job's own */
  protected async releasing(): Promise<void> {}

  /** a fenced write found another holder: stop acting at once */
  protected lost(): void {
    this.actUntil = 0;
  }
}

/**
 * The integration-event publisher's lease and checkpoint (EventStoreDB + MongoDB). The checkpoint lives in the lease's
 * document and is written only by the holder (`holder` in the filter): a process that lost the lease without knowing
 * it yet cannot move it; finding that its write matched nothing, it stops. It is written at most every
 * CHECKPOINT_EVERY_MS, at renewals and when the lease is let go, so a takeover after a crash publishes up to that
 * much again (at least once: consumers dedupe by `eventId`).
 */
export class MongoPublisherCoordination extends MongoJobLease implements PublisherCoordination {
  private pending?: bigint;
  private writtenAt = 0;

  constructor(
    mongoUrl: string,
    job = 'publisher',
    onError: (error: unknown) => void = () => undefined,
    /** where to resume when MongoDB holds no checkpoint yet: this replica's own, from before (an upgrade) */
    private readonly earlierCheckpoint: () => Promise<bigint | undefined> = async () => undefined,
    /** the job it was split from: its checkpoint, when this one has none yet (ADR 0022) */
    private readonly earlierJob?: string,
  ) {
    super(mongoUrl, job, onError);
  }

  protected override async renewed(wasActing: boolean, now: number): Promise<void> {
    // what it published before it stopped acting is not written: another holder may have gone past it since
    if (!wasActing) this.pending = undefined;
    else if (this.pending !== undefined) await this.flush(now);
  }

  protected override releasing(): Promise<void> {
    return this.flush();
  }

  async readCheckpoint(): Promise<bigint | undefined> {
    for (const job of [this.job, this.earlierJob]) {
      const doc = job === undefined ? null : await this.collection.findOne({ _id: job });
      if (doc?.position !== undefined) return BigInt(doc.position.toString());
    }
    return this.earlierCheckpoint();
  }

  async writeCheckpoint(position: bigint, now = Date.now()): Promise<void> {
    this.pending = position;
    if (now - this.writtenAt >= CHECKPOINT_EVERY_MS) await this.flush(now);
  }

  /** writes the pending checkpoint if this process still holds the lease; if it does not, it stops acting */
  private async flush(now = Date.now()): Promise<void> {
    const position = this.pending;
    if (position === undefined) return;
    this.writtenAt = now;
    // $set, not $max: only the holder writes it, and it publishes in log order
    const result = await this.collection.updateOne({ _id: this.job, holder: this.holder }, { $set: { position: mongoDriver().Long.fromBigInt(position) } });
    if (this.pending === position || result.matchedCount === 0) this.pending = undefined;
    if (result.matchedCount === 0) this.lost();
  }
}
