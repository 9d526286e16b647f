import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Prometheus metrics (prom-client): HTTP latency, commands decided again, integration events; the projector adds its own gauges. */
export class Metrics {
  readonly registry = new Registry();
  readonly requests = new Histogram({
    name: 'rollcall_http_request_duration_seconds',
    help: 'HTTP request duration',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [this.registry],
  });
  readonly integrationEvents = new Counter({
    name: 'rollcall_integration_events_published_total',
    help: 'Integration events published, by type and transport (nats, tcp)',
    labelNames: ['type', 'transport'],
    registers: [this.registry],
  });

  /** the integration-event publisher, read at each scrape (it registers itself: infrastructure/integration-events.ts) */
  publisher?: {
    status(): { transports?: Partial<Record<string, { failedSends: number }>> };
    behindByTransport(): Promise<Partial<Record<string, number>>>;
  };
  /** probe 38 F4: a publisher held by a consumer that is down showed nowhere; F3: each transport has its own */
  readonly integrationEventsBehind = this.publisherGauge(
    'rollcall_integration_events_behind',
    "How far the log's head is past the last event this process published on a transport, in log positions (events with the embedded store; transaction-log offsets with EventStoreDB); absent while it does not publish on it (not configured, or another process holds its lease)",
    (p) => p.behindByTransport(),
  );
  readonly integrationEventsFailedSends = this.publisherGauge(
    'rollcall_integration_events_failed_sends',
    'Sends of the event at hand that a transport refused, in a row (0 once it is taken): a consumer or transport down, or publishes the NATS server refused (its permissions) until the checkpoint moves',
    async (p) => Object.fromEntries(Object.entries(p.status().transports ?? {}).map(([transport, s]) => [transport, s!.failedSends])),
  );

  /** commands decided again (bench:onboarding, session 28: a third of one organization's burst ran out of attempts) */
  readonly decidedAgain = new Counter({
    name: 'rollcall_command_attempts_again_total',
    help: "A command's attempts after its first (sent back by a conflict, or waiting on another command's events), by its lock's stream kind; the server's own commands count too (presence timeouts)",
    labelNames: ['stream'],
    registers: [this.registry],
  });
  readonly exhausted = new Counter({
    name: 'rollcall_command_conflicts_total',
    help: 'Commands that ran out of attempts (409 CONCURRENCY_CONFLICT), by their lock\'s stream kind',
    labelNames: ['stream'],
    registers: [this.registry],
  });

  /** links the mail dispatcher found unrecorded (mail/mail-dispatcher.ts), by what it did with them */
  readonly mailsDispatched = new Counter({
    name: 'rollcall_mails_dispatched_total',
    help: "Links whose mail had not been handed over, found by the mail dispatcher: outcome sent, stale (no longer the current link: not sent), failed (tried again later, until mailed or no longer current) or refused (a 5xx from the relay: not tried again)",
    labelNames: ['kind', 'outcome'],
    registers: [this.registry],
  });

  /**
   * the mails commands handed to the relay before their answer (mail/mailer.ts), by outcome: a refusal for good there
   * is recorded and never reaches the dispatcher, whose counter alone did not show it (probe 46 F4)
   */
  readonly mailsWaiting = new Gauge({
    name: 'rollcall_mails_waiting',
    help: 'Links the mail dispatcher holds unmailed past their retry time (the relay failed, refused for a while, or the process died before the hand-off): tried again until mailed or no longer current; 0 on a process that does not dispatch',
    labelNames: ['kind'],
    registers: [this.registry],
  });

  readonly mailsHandedOver = new Counter({
    name: 'rollcall_mails_handed_over_total',
    help: 'Mails a command handed to the relay before answering: outcome sent, failed (the mail dispatcher tries again), refused (a 5xx from the relay: not tried again) or erased (its address erased meanwhile: not sent)',
    labelNames: ['kind', 'outcome'],
    registers: [this.registry],
  });

  /** probe 95 F7: a mail dispatcher failing its passes (a full or read-only data dir) showed in the log only */
  readonly mailDispatchFailing = new Gauge({
    name: 'rollcall_mail_dispatch_failing',
    help: "1 while this process's mail dispatcher fails its passes or its lease renewals (the data dir's disk full, read-only, failing): the links stay due and are mailed once a pass succeeds; 0 otherwise",
    registers: [this.registry],
  });

  /** probe 41 F1: a full or failing disk refused every write, and nothing here counted it (health/storage-faults.ts) */
  readonly storageFaults = new Counter({
    name: 'rollcall_storage_faults_total',
    help: 'Requests answered 503 EVENT_STORE_UNAVAILABLE because an embedded store could not be used, by cause (disk full, read-only, I/O error, busy, locked, …)',
    labelNames: ['cause'],
    registers: [this.registry],
  });

  /** where the read models and the log stand as this process reads them (bootstrap.ts sets it), read at each scrape */
  readPositions?: () => Promise<{ readModels: bigint | undefined; head: bigint }>;
  /**
   * probe 95 F4: with the projector in another process (`ROLLCALL_PROJECTOR=external`, or this process standing by), the
   * API exported nothing of the read models, and a stopped projector left it at /health 200, silent. Every API process
   * exports what it reads: the log's head less the lowest projection checkpoint.
   */
  readonly readModelsBehind = (() => {
    const positions = () => this.readPositions?.();
    return new Gauge({
      name: 'rollcall_read_models_behind',
      help: "Positions of the log the read models have not reached, as this process reads them (the log's head less the lowest projection checkpoint), whichever process projects: alert when it grows; the whole log while a read model has no checkpoint (never built, or being rebuilt)",
      registers: [this.registry],
      async collect() {
        const at = await positions();
        if (at) this.set(Number(at.head - (at.readModels ?? -1n)));
      },
    });
  })();

  /** the notary of this process, read at each scrape (it registers itself: audit/audit-log.ts) */
  notary?: { progress(): { size: number; notarizing: boolean; error?: string } };
  /** probe 51 F1: a notary whose steps failed (a full disk) stopped for good, and nothing here showed it */
  readonly notaryFailing = this.notaryGauge(
    'rollcall_audit_notary_failing',
    "1 while this process's notary fails to renew its lease, fold the log or sign a checkpoint (the data dir's disk full, read-only, failing): it tries again every second; 0 otherwise",
    (p) => (p.error === undefined ? 0 : 1),
  );
  readonly notaryTreeSize = this.notaryGauge(
    'rollcall_audit_tree_size',
    "Leaves of the notary's Merkle tree (events notarized), as this process's notary last saw it: behind the log's event count while it catches up or fails",
    (p) => p.size,
  );

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    // the mail series whose labels are known before anything is counted start at 0 (probe 116 F8: absent until the
    // first count, a dashboard showed "no data" and an `absent()` alert fired); the command and storage-fault series
    // are labelled by what happened (stream kinds, causes) and appear with their first count
    for (const kind of ['invitation', 'email-confirmation']) {
      this.mailsWaiting.set({ kind }, 0);
      for (const outcome of ['sent', 'stale', 'failed', 'refused']) this.mailsDispatched.inc({ kind, outcome }, 0);
      for (const outcome of ['sent', 'failed', 'refused', 'erased']) this.mailsHandedOver.inc({ kind, outcome }, 0);
    }
  }

  /** a gauge read from this process's notary at each scrape; none before the notary started */
  private notaryGauge(name: string, help: string, read: (p: ReturnType<NonNullable<Metrics['notary']>['progress']>) => number): Gauge {
    const current = (): number | undefined => {
      const progress = this.notary?.progress();
      return progress && read(progress);
    };
    return new Gauge({
      name,
      help,
      registers: [this.registry],
      collect() {
        const value = current();
        this.reset();
        if (value !== undefined) this.set(value);
      },
    });
  }

  /** a gauge per transport, read from the publisher at each scrape; a transport that does not publish here has none */
  private publisherGauge(name: string, help: string, read: (p: NonNullable<Metrics['publisher']>) => Promise<Partial<Record<string, number>>>): Gauge<'transport'> {
    const current = async (): Promise<Partial<Record<string, number>>> => (this.publisher ? await read(this.publisher).catch(() => ({})) : {});
    return new Gauge({
      name,
      help,
      labelNames: ['transport'],
      registers: [this.registry],
      // prom-client calls it with the gauge as `this`, at each scrape
      async collect() {
        const values = await current();
        this.reset();
        for (const [transport, value] of Object.entries(values)) if (typeof value === 'number') this.set({ transport }, value);
      },
    });
  }
}
