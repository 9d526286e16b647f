import { Gauge, type Registry } from 'prom-client';
import type { Projector } from './projector';

/**
 * Prometheus gauges of a projector, read from `status()` at scrape time:
 * rollcall_projection_checkpoint, rollcall_projection_lag (positions behind the log's head),
 * rollcall_projection_failed (1 when the projection stopped on an error), rollcall_projection_degraded (1 while
 * its commits keep failing), rollcall_projection_commit_failures (consecutive failed commits).
 */
export function registerProjectorMetrics(projector: Pick<Projector, 'status'>, registry: Registry): void {
  const labelNames = ['projection'] as const;
  new Gauge({
    name: 'rollcall_projection_checkpoint',
    help: 'Global log position up to which the projection is committed',
    labelNames,
    registers: [registry],
    collect() {
      for (const s of projector.status()) this.set({ projection: s.name }, Number(s.checkpoint ?? -1n));
    },
  });
  new Gauge({
    name: 'rollcall_projection_lag',
    help: 'How far the projection is behind the head of the log (positions; events in the embedded store)',
    labelNames,
    registers: [registry],
    collect() {
      for (const s of projector.status()) this.set({ projection: s.name }, Number(s.lag));
    },
  });
  new Gauge({
    name: 'rollcall_projection_failed',
    help: '1 when the projection stopped on an error (see the logs; a restart retries the event)',
    labelNames,
    registers: [registry],
    collect() {
      for (const s of projector.status()) this.set({ projection: s.name }, s.state === 'failed' ? 1 : 0);
    },
  });
  new Gauge({
    name: 'rollcall_projection_degraded',
    help: '1 while the projection runs but its commits keep failing (the checkpoint stays; see the logs)',
    labelNames,
    registers: [registry],
    collect() {
      for (const s of projector.status()) this.set({ projection: s.name }, s.state === 'degraded' ? 1 : 0);
    },
  });
  new Gauge({
    name: 'rollcall_projection_commit_failures',
    help: 'Consecutive failed commits of the projection (0 after a successful one)',
    labelNames,
    registers: [registry],
    collect() {
      for (const s of projector.status()) this.set({ projection: s.name }, s.commitFailures ?? 0);
    },
  });
}
