import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LEASE_TTL_MS, Lease, type LeaseJob, LeaseLeader } from './lease';

/**
 * Where the integration-event publisher (and, as the `mail` job, the mail dispatcher) keeps what the processes that may publish share: which one publishes (a
 * lease: one at a time) and how far it got (the checkpoint it resumes from, whoever takes over).
 * - embedded data dir (one or several processes over it): the `publisher` lease file and a checkpoint file there;
 * - EventStoreDB with MongoDB: a document in MongoDB (mongo-job-lease.ts), shared by every replica whatever its host;
 * - EventStoreDB alone: each process's own data dir, no lease: every replica with a transport publishes every event
 *   (at least once all the same; consumers dedupe by `eventId`).
 */
export interface PublisherCoordination {
  /** whether this process publishes now: answers from what it last learned; renewals run at most every LEASE_RENEW_MS */
  leads(): boolean;
  /** where to resume: the last position published by whoever published; undefined before the first */
  readCheckpoint(): Promise<bigint | undefined>;
  /** moves the checkpoint (may be written later, in one go with the next ones: a takeover publishes those again) */
  writeCheckpoint(position: bigint): Promise<void>;
  /** writes what is pending and lets the lease go (a standby takes it at its next try) */
  release(): Promise<void>;
  /** lets the lease go and asks for it again only after LEASE_TTL_MS (another process, an upgraded one, takes it) */
  standDown(): Promise<void>;
  close(): Promise<void>;
}

/** The checkpoint in a file of the data dir (`integration-events.checkpoint`), with the data dir's lease when it is shared. */
export class DataDirPublisherCoordination implements PublisherCoordination {
  private readonly lease?: Lease;
  private readonly leader?: LeaseLeader;
  private readonly file: string;
  private readonly earlierFile?: string;

  /**
   * shared: other processes publish over the same data dir (the embedded store); otherwise no lease. earlierCheckpointFile:
   * read while this job has no checkpoint of its own (the job it was split from: ADR 0022)
   */
  constructor(dataDir: string, shared: boolean, job: LeaseJob = 'publisher', checkpointFile = 'integration-events.checkpoint', earlierCheckpointFile?: string) {
    this.file = join(dataDir, checkpointFile);
    if (earlierCheckpointFile) this.earlierFile = join(dataDir, earlierCheckpointFile);
    if (shared) {
      this.lease = new Lease(dataDir, job);
      this.leader = new LeaseLeader(this.lease, { taken: () => undefined, lost: () => undefined });
    }
  }

  leads(): boolean {
    return this.leader ? this.leader.leads() : true;
  }

  async readCheckpoint(): Promise<bigint | undefined> {
    for (const file of [this.file, this.earlierFile]) if (file && existsSync(file)) return BigInt(readFileSync(file, 'utf8').trim());
    return undefined;
  }

  async writeCheckpoint(position: bigint): Promise<void> {
    writeFileSync(`${this.file}.tmp`, position.toString());
    renameSync(`${this.file}.tmp`, this.file);
  }

  async release(): Promise<void> {
    this.leader?.release();
  }

  async standDown(): Promise<void> {
    this.leader?.standDown(LEASE_TTL_MS);
  }

  async close(): Promise<void> {
    this.lease?.close();
  }
}
