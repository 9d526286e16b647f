import { Controller, Get, Header, Inject } from '@nestjs/common';
import { HealthCheck, HealthCheckService, HealthIndicatorService } from '@nestjs/terminus';
import { ApiExcludeEndpoint, ApiTags } from '@nestjs/swagger';
import type { EventStore } from '@rollcall/event-store';
import { Public } from './auth';
import { EVENT_STORE } from '../shared/tokens';
import { Metrics } from '../infrastructure/metrics';
import { READ_SIDE, type ReadSide } from '../infrastructure/read-side';

@ApiTags('operations')
@Controller()
export class HealthController {
  constructor(
    @Inject(HealthCheckService) private readonly health: HealthCheckService,
    @Inject(HealthIndicatorService) private readonly indicators: HealthIndicatorService,
    @Inject(EVENT_STORE) private readonly events: EventStore,
    @Inject(READ_SIDE) private readonly readSide: ReadSide,
    @Inject(Metrics) private readonly metrics: Metrics,
  ) {}

  /** Liveness and readiness: the event store and the read store answer. */
  @Get('health')
  @Public()
  @HealthCheck()
  check() {
    return this.health.check([
      () => this.probe('eventStore', () => this.events.ping()),
      () => this.probe('readStore', () => this.readSide.ping()),
      () =>
        this.probe('projections', async () => {
          const failed = this.readSide.projections().filter((p) => p.state === 'failed');
          if (failed.length > 0) throw new Error(failed.map((p) => `${p.name}: ${p.error}`).join('; '));
        }),
    ]);
  }

  @Get('metrics')
  @Public()
  @ApiExcludeEndpoint()
  @Header('Content-Type', 'text/plain; version=0.0.4')
  async prometheus() {
    return this.metrics.registry.metrics();
  }

  private async probe(key: string, ping: () => Promise<void>) {
    const indicator = this.indicators.check(key);
    try {
      await ping();
      return indicator.up();
    } catch (error) {
      return indicator.down({ message: error instanceof Error ? error.message : String(error) });
    }
  }
}
