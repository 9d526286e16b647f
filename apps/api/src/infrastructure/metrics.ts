import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Prometheus metrics (prom-client): commands, latency, projection lag. */
export class Metrics {
  readonly registry = new Registry();
  readonly requests = new Histogram({
    name: 'rollcall_http_request_duration_seconds',
    help: 'HTTP request duration',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [this.registry],
  });
  readonly projectionLag = new Gauge({
    name: 'rollcall_projection_lag_events',
    help: 'Events between the head of the log and a projection checkpoint',
    labelNames: ['projection'],
    registers: [this.registry],
  });
  readonly projectionFailed = new Gauge({
    name: 'rollcall_projection_failed',
    help: '1 when a projection stopped on an error',
    labelNames: ['projection'],
    registers: [this.registry],
  });
  readonly integrationEvents = new Counter({
    name: 'rollcall_integration_events_published_total',
    help: 'Integration events published to the transport',
    labelNames: ['type'],
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }
}
