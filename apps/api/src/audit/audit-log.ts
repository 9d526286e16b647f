import type { Worker } from 'node:worker_threads';
import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import {
  type InclusionAnswer,
  type NoteSigner,
  SqliteTreeStore,
  entryBytes,
  proveConsistency,
  proveInclusion,
  signerFromSeed,
} from '@rollcall/audit';
import { type EventStore, type RecordedEvent, createEventStore, preloadWorker, startWorker } from '@rollcall/event-store';
import type { Config } from '../config';
import { APP_CONFIG, AUDIT_IDENTITY } from '../shared/tokens';
import { Metrics } from '../infrastructure/metrics';
import type { AuditIdentity } from './audit-identity';
import { type FromNotary, type NotaryWorkerData, type ToNotary, auditFile } from './notary-worker';


/** how many altered positions `/health` names (verify names them all); past it they are counted */
const ALTERED_NAMED = 20;
/** how many a process remembers, to log each once (a log altered wholesale is said by the first of them) */
const ALTERED_REMEMBERED = 10_000;

/** Spawns the notary's thread ahead of the app's bootstrap, to load its modules while the process starts (preloaded-workers.ts). */
export function preloadNotaryThread(): void {
  preloadWorker(__dirname, 'notary-worker', __filename, 'notary');
}

/**
 * The notary as the API sees it (docs/rules.md#verifiable-history): starts its thread with the app and stops it
 * with the app, and answers the audit endpoints from audit.sqlite (opened read-only) and the event store as
 * stored (the inner store: an inclusion proof hands out the entry's exact bytes, personal fields encrypted).
 */
@Injectable()
export class AuditLog implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Notary');
  readonly signer: NoteSigner;
  private readonly seed: Buffer;
  /** the log's name: the data dir's, checked against ROLLCALL_AUDIT_ORIGIN (audit-identity.ts) */
  private readonly origin: string;
  private worker: Worker | undefined;
  private stopped: Promise<void> | undefined;
  private tree: SqliteTreeStore | undefined;
  private events: EventStore | undefined;
  private status: { size: number; checkpointSize: number | null; notarizing: boolean; error?: string } = { size: 0, checkpointSize: null, notarizing: false };
  /** positions whose entry a proof found lost or unlike the leaf notarized (the first few: enough to say where to look) */
  private readonly altered = new Set<string>();

  constructor(@Inject(APP_CONFIG) private readonly config: Config, @Inject(AUDIT_IDENTITY) identity: AuditIdentity, @Inject(Metrics) metrics: Metrics) {
    metrics.notary = this;
    this.seed = identity.seed;
    this.origin = identity.origin;
    this.signer = signerFromSeed(this.origin, this.seed);
  }

  /** `<name>+<hex key id>+<base64 key>` */
  get verifierKey(): string {
    return this.signer.verifier.text;
  }

  progress() {
    return { ...this.status };
  }

  async onApplicationBootstrap(): Promise<void> {
    const data: NotaryWorkerData = {
      eventstoreUrl: this.config.eventstoreUrl,
      dataDir: this.config.dataDir,
      seed: this.seed.toString('base64'),
      origin: this.origin,
      checkpointMs: this.config.audit.checkpointMs,
      keepEveryCheckpointMs: this.config.audit.keepEveryCheckpointHours * 3_600_000,
      pollMs: 20,
    };
    const worker = startWorker(__dirname, 'notary-worker', __filename, 'notary', data);
    this.worker = worker;
    let onStopped: () => void = () => undefined;
    this.stopped = new Promise<void>((resolve) => (onStopped = resolve));
    await new Promise<void>((resolve, reject) => {
      worker.on('message', (m: FromNotary) => {
        if (m.type === 'status') this.status = { size: m.size, checkpointSize: m.checkpointSize, notarizing: m.notarizing, ...(m.error !== undefined && { error: m.error }) };
        else if (m.type === 'log') {
          if (m.level === 'error') this.logger.error(m.message);
          else if (m.level === 'warn') this.logger.warn(m.message);
          else this.logger.log(m.message);
        }
        else if (m.type === 'started') resolve();
        else if (m.type === 'stopped') onStopped();
      });
      worker.on('error', (error) => {
        this.logger.error(`notary thread: ${error.message}`);
        reject(error);
      });
      worker.on('exit', () => onStopped());
    });
    this.tree = new SqliteTreeStore(auditFile(this.config.dataDir), { readOnly: true });
  }

  async onApplicationShutdown(): Promise<void> {
    // this read-only connection first: the last connection to close folds the WAL back into audit.sqlite, which a
    // read-only one cannot do (the HTTP server is closed by now: nothing reads the tree any more)
    this.tree?.close();
    if (this.worker) {
      this.worker.postMessage({ type: 'stop' } satisfies ToNotary);
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([this.stopped, new Promise((r) => (timer = setTimeout(r, 5000)))]);
      clearTimeout(timer);
      await this.worker.terminate();
      this.worker = undefined;
    }
    await this.events?.close();
  }

  private store(): SqliteTreeStore {
    if (!this.tree) throw new Error('The notary has not started');
    return this.tree;
  }

  latestCheckpoint() {
    return this.store().latestCheckpoint();
  }

  checkpointOfSize(size: number) {
    return this.store().checkpoint(size);
  }

  /** the leaf of the event at a position, once the notary has reached it */
  leafAt(position: bigint) {
    return this.store().leafAtPosition(position);
  }

  treeSize(): number {
    return this.store().size();
  }

  inclusion(position: bigint, treeSize: number): InclusionAnswer {
    return proveInclusion(this.store(), position, treeSize);
  }

  consistency(from: number, to: number) {
    return proveConsistency(this.store(), from, to);
  }

  /** The stored record at a position, exactly as stored (read through the inner store). */
  async recordAt(position: bigint): Promise<RecordedEvent | undefined> {
    this.events ??= createEventStore({ eventstoreUrl: this.config.eventstoreUrl, dataDir: this.config.dataDir });
    for await (const event of this.events.readAll({ fromPosition: position - 1n, maxCount: 1 })) return event.position === position ? event : undefined;
    return undefined;
  }

  entryOf(record: RecordedEvent): Buffer {
    return entryBytes(record);
  }

  /**
   * A proof found the log's entry at `position` lost, or unlike the leaf the notary recorded (probe 115 F1: served with
   * 200 and nothing said): logged once per position, and `/health` names the positions from then on (health.controller.ts).
   */
  noteAltered(position: string, how: 'lost' | 'changed'): void {
    // (probe 118 F3: past the 20th, positions were neither logged nor counted)
    if (this.altered.has(position) || this.altered.size >= ALTERED_REMEMBERED) return;
    this.altered.add(position);
    this.logger.error(
      `The event log's entry at position ${position} ${how === 'lost' ? 'is gone' : 'does not hash to the leaf the notary recorded'}: the log was altered after it was notarized. Run \`rollcall-audit verify\` on the data dir (it names every altered entry) and restore it from a backup.`,
    );
  }

  /** the first positions noteAltered was told of since this process started, and how many it was told of */
  alteredPositions(): { named: string[]; count: number } {
    return { named: [...this.altered].slice(0, ALTERED_NAMED), count: this.altered.size };
  }
}
