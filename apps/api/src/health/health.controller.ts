import { Controller, Get, Header, Headers, Inject, Logger, Optional, Res, ServiceUnavailableException } from '@nestjs/common';
import { ERASURE_JOURNAL, type ErasureJournal } from '../backup/erasure-journal';
import type { FastifyReply } from 'fastify';
import { HealthCheck, HealthCheckService, HealthIndicatorService } from '@nestjs/terminus';
import { ApiExcludeEndpoint, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { EventStore } from '@rollcall/event-store';
import { Public } from '../shared/auth';
import { NO_BODY_PROBLEMS, ApiProblems, PublicOperation } from '../shared/http/openapi';
import { Health } from './resources';
import type { Config } from '../config';
import { APP_CONFIG, EVENT_STORE } from '../shared/tokens';
import { Metrics } from '../infrastructure/metrics';
import { READ_SIDE, type ReadSide } from '../infrastructure/read-side';
import { ProblemException, problem } from '../shared/http/problem';
import { scrapeRefusal } from './metrics-scrape';
import { markExpectedAnswer } from '../logging';
import { Stopping } from './stopping';
import { StorageFaults } from './storage-faults';
import { AuditLog } from '../audit/audit-log';
import { MailDispatcher } from '../mail/mail-dispatcher';
import { IntegrationEvents, type IntegrationEventsStatus } from '../infrastructure/integration-events';


/** a projection this far behind the log's head is replaying (after a reset, a lost read.sqlite), not trailing by a moment */
export const REPLAYING_LAG = 1_000n;

/**
 * Projections replaying a long stretch of the log (probe 41 F7: read.sqlite deleted, 35 s of replay with `up` and lists
 * answering a third of the members, nothing said): still up (writes are served, every replica shares the read store),
 * named with how far behind they are. Only the process running the projector knows its lag.
 */
export function replaying(projections: readonly { name: string; lag: bigint; purging?: true }[]): Record<string, unknown> | undefined {
  // a deletion's purge left undone by a stop, redone first as the projector starts (probe 42b F6: reads with
  // X-Min-Position answered 503 READ_MODEL_BEHIND for ~23 s, nothing said why)
  if (projections.some((p) => p.purging))
    return {
      purging: true,
      message: 'Rewriting the read store after a deletion (rule 12 at rest), before projecting: reads answer what was projected before, and reads with X-Min-Position wait (503 READ_MODEL_BEHIND past their wait) until it ends.',
    };
  const behind = projections.filter((p) => p.lag >= REPLAYING_LAG);
  if (behind.length === 0) return undefined;
  return {
    replaying: Object.fromEntries(behind.map((p) => [p.name, Number(p.lag)])),
    message: `Replaying the log: ${behind.map((p) => `${p.name} ${p.lag} events behind`).join(', ')}. Their reads answer part of what the log holds until they catch up (reads with X-Min-Position wait).`,
  };
}

@ApiTags('operations')
@Controller()
export class HealthController {
  constructor(
    @Inject(HealthCheckService) private readonly health: HealthCheckService,
    @Inject(HealthIndicatorService) private readonly indicators: HealthIndicatorService,
    @Inject(EVENT_STORE) private readonly events: EventStore,
    @Inject(READ_SIDE) private readonly readSide: ReadSide,
    @Inject(Metrics) private readonly metrics: Metrics,
    @Inject(APP_CONFIG) private readonly config: Config,
    @Inject(Stopping) private readonly stopping: Stopping,
    @Inject(IntegrationEvents) private readonly publisher: IntegrationEvents,
    @Inject(StorageFaults) private readonly storageFaults: StorageFaults,
    @Inject(AuditLog) private readonly audit: AuditLog,
    @Optional() @Inject(ERASURE_JOURNAL) private readonly journal?: ErasureJournal,
    @Optional() @Inject(MailDispatcher) private readonly mail?: MailDispatcher,
  ) {}

  /** Liveness and readiness: the event store and the read store answer. */
  @Get('health')
  @PublicOperation()
  // documented here (a 503 is a problem), not by terminus
  @HealthCheck({ noCache: true, swaggerDocumentation: false })
  @ApiOperation({
    summary: 'Liveness and readiness: the event store, the read store and the projections (no API key).',
    description: 'While the process stops (`ROLLCALL_SHUTDOWN_GRACE_MS` after a stop signal) it answers 503 SHUTTING_DOWN and still serves every other request.',
  })
  @ApiResponse({ status: 200, type: Health, description: 'Health: every indicator up' })
  // a body is parsed on every route: one that is not JSON is refused before the check runs
  @ApiProblems('UNHEALTHY', 'SHUTTING_DOWN', ...NO_BODY_PROBLEMS)
  async check(@Res({ passthrough: true }) res: FastifyReply) {
    if (this.stopping.stopping) {
      // what a stop is for: logged as info, not as an error
      markExpectedAnswer(res);
      throw new ProblemException(problem(503, 'SHUTTING_DOWN', 'This process is stopping: send requests to another replica.'));
    }
    return this.health.check([
      () =>
        this.probe('eventStore', async () => {
          // what the public answer says of a down store: no driver's error text (paths, hosts) on a public route
          await this.pinged('eventStore', this.events.ping());
          // answering its ping is not taking writes: one refused for its disk, the log taking no commit since (probe 41 F1)
          const fault = await this.storageFaults.current();
          if (fault) throw new Error(`writes refused (${fault.cause}) since ${new Date(fault.at).toISOString()}`);
        }),
      () => this.probe('readStore', () => this.pinged('readStore', this.readSide.ping())),
      () =>
        this.probe('projections', async () => {
          // a projection whose commits keep failing is degraded: its read model stops moving (checkpoint kept)
          const projections = this.readSide.projections();
          const failed = projections.filter((p) => p.state === 'failed' || p.state === 'degraded');
          // named with their state, not their error (which may quote a document: the projector's log has it)
          if (failed.length > 0) throw new Error(failed.map((p) => `${p.name} ${p.state}`).join(', '));
          const unbuilt = await this.unbuilt();
          return unbuilt ?? replaying(projections);
        }),
      // always up (a consumer down must not take every replica out of a balancer): where the publisher stands
      () => this.probe('integrationEvents', () => this.publishing()),
      // always up too (commands are served without it): where the notary stands, and whether its steps fail (probe 51 F1)
      () => this.probe('audit', async () => this.notarizing()),
      // always up as well (reads and other writes are served): whether the erasure journal takes its lines (probe 63 F6)
      ...(this.journal ? [() => this.probe('erasureJournal', async () => this.journaling())] : []),
      // and again (commands are answered, their mails handed to the relay): whether the mail dispatcher's passes fail (probe 95 F7)
      ...(this.mail ? [() => this.probe('mailDispatch', async () => this.dispatching())] : []),
    ]).catch((error: unknown) => {
      if (!(error instanceof ServiceUnavailableException)) throw error;
      // every indicator, as the 200 answer names them, and why each one down is (the probes' own sentences: no
      // driver's error text on a public route): what an operator paged at night needs first (probe 95 F2: only names)
      const { error: downs = {}, details } = error.getResponse() as { error?: Record<string, { message?: string }>; details?: Record<string, { status: string; message?: string }> };
      const down = Object.entries(downs).map(([name, d]) => (d.message ? `${name} down: ${d.message}` : `${name} down`));
      throw new ProblemException({ ...problem(503, 'UNHEALTHY', `Not ready: ${down.length > 0 ? down.join('; ') : 'a check down'}.`), ...(details && { checks: details }) });
    });
  }

  /** the stores whose last ping failed: their driver's error is logged once as they go down, and their return */
  private readonly down = new Set<string>();
  private readonly logger = new Logger('Health');

  /**
   * A store's ping, as the public answer says it: `does not answer`, no driver's error text (paths, hosts) on a public
   * route. The error itself goes to the log, once as the store goes down (not at every poll of a balancer), and the
   * store's return once too (session 60 left the operator without it: only the refused requests' lines named it).
   */
  private async pinged(store: string, ping: Promise<unknown>): Promise<void> {
    try {
      await ping;
    } catch (error) {
      if (!this.down.has(store)) this.logger.error(`${store} does not answer its ping: ${error instanceof Error ? error.message : String(error)}`);
      this.down.add(store);
      throw new Error('does not answer');
    }
    if (this.down.delete(store)) this.logger.log(`${store} answers its ping again`);
  }

  /**
   * Prometheus text, on the public port: only with `Authorization: Bearer <ROLLCALL_METRICS_TOKEN>` (not an API
   * key: a scraper gets no authority over data); off when no token is configured.
   */
  @Get('metrics')
  @Public()
  @ApiExcludeEndpoint()
  @Header('Content-Type', 'text/plain; version=0.0.4')
  async prometheus(@Headers('authorization') authorization?: string) {
    this.authorizeScrape(authorization);
    return this.metrics.registry.metrics();
  }

  private authorizeScrape(authorization: string | undefined): void {
    const refused = scrapeRefusal(this.config.metricsToken, authorization);
    if (refused) throw new ProblemException(refused);
  }

  /**
   * Read models reset and not built since, over a log with events: a rebuild running or stopped part-way (killed:
   * its checkpoints move only with its last write), or no projector running since a reset. Their lists answer what
   * was written so far, an empty list after a rebuild died at its start (probe 32 F8). Still up: writes are served,
   * and every replica shares the read store (a 503 would take them all out of a balancer); said in the body instead.
   */
  private async unbuilt(): Promise<Record<string, unknown> | undefined> {
    const names = await this.readSide.withoutCheckpoint();
    if (names.length === 0 || (await this.events.headPosition()) <= 0n) return undefined;
    return {
      withoutCheckpoint: names,
      message: `Not built since a reset: ${names.join(', ')}. Their reads answer what a rebuild wrote so far (or nothing): let a projector run (npm run start:projector, or the API's own), or run npm run rebuild.`,
    };
  }

  /**
   * the publisher's state, its checkpoint and how far the log is ahead of it, its refused sends (probe 38 F4), as a whole
   * and per transport (each has its own checkpoint: F3); no error text (a public route)
   */
  private async publishing(): Promise<Record<string, unknown>> {
    const status = this.publisher.status();
    const behind = await this.publisher.behindByTransport();
    const values = Object.values(behind);
    const shown = ({ state, consecutiveFailures, checkpoint, failedSends }: Omit<IntegrationEventsStatus, 'transports'>, behind: number | undefined) => ({
      state,
      consecutiveFailures,
      failedSends,
      ...(checkpoint !== undefined && { checkpoint }),
      ...(behind !== undefined && { behind }),
    });
    const transports = Object.entries(status.transports ?? {}).map(([transport, s]) => [transport, shown(s!, behind[transport as keyof typeof behind])]);
    return {
      ...shown(status, values.length === 0 ? undefined : Math.max(...values)),
      ...(transports.length > 0 && { transports: Object.fromEntries(transports) }),
    };
  }

  /** `failing` while the erasure journal refuses its lines: deletions, address erasures and key revocations answer 503 */
  private journaling(): Record<string, unknown> {
    return this.journal?.failing === undefined
      ? { failing: false }
      : { failing: true, message: "The erasure journal cannot be written: deletions, address erasures and key revocations are made but answered 503, and this server records them as soon as it can (tried every second); see the process's log." };
  }

  private dispatching(): Record<string, unknown> {
    return this.mail?.standing().failing
      ? { failing: true, message: "The mail dispatcher cannot use the data dir (its checkpoint or its lease): links whose mail failed stay due and are mailed once it can (tried every pass); see the process's log." }
      : { failing: false };
  }

  /** this process's notary: notarizing or standing by, its tree's size, and `failing` while its steps fail */
  private notarizing(): Record<string, unknown> {
    const { size, checkpointSize, notarizing, error } = this.audit.progress();
    const { named: altered, count: alteredCount } = this.audit.alteredPositions();
    return {
      notarizing,
      treeSize: size,
      checkpointSize,
      ...(error !== undefined && {
        failing: true,
        message: "The notary cannot write to the data dir (its lease or its tree): it tries again every second, and inclusion proofs past its tree answer 503 AUDIT_BEHIND until it does; see the process's log.",
      }),
      // probe 115 F1: a proof found the log altered after it was notarized; said here until the process restarts
      ...(altered.length > 0 && {
        alteredPositions: altered,
        alteredCount,
        alteredMessage: "The event log was altered after it was notarized at these positions (found by inclusion proofs, answered 500 AUDIT_LOG_ALTERED): run `rollcall-audit verify` on the data dir, which names every altered entry, and restore it from a backup.",
      }),
    };
  }

  private async probe(key: string, ping: () => Promise<Record<string, unknown> | undefined | void>) {
    const indicator = this.indicators.check(key);
    try {
      const details = await ping();
      return details ? indicator.up(details) : indicator.up();
    } catch (error) {
      return indicator.down({ message: error instanceof Error ? error.message : String(error) });
    }
  }
}
