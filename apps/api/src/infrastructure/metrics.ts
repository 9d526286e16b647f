import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

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
    help: 'Integration events published to the transport',
    labelNames: ['type'],
    registers: [this.registry],
  });

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
    help: "Links whose mail had not been handed over, found by the mail dispatcher: outcome sent, stale (no longer the current link: not sent) or failed (tried again later)",
    labelNames: ['kind', 'outcome'],
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }
}
