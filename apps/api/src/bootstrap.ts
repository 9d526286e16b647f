import 'reflect-metadata';
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import type { INestApplication } from '@nestjs/common';
import type { MicroserviceOptions } from '@nestjs/microservices';
import { type Config, outboxWarning, publicUrlWarning } from './config';
import { ConfigError } from './settings';
import { natsConnectionOptions } from './infrastructure/nats-options';
import { EVENT_STORE } from './shared/tokens';
import { type LocalSecrets, loadLocalSecrets } from './shared/secrets';
import { eraseDeletedUsers } from './infrastructure/erasure';
import { type EventStore, PERSONAL_DATA } from '@rollcall/event-store';
import { Metrics } from './infrastructure/metrics';
import { StreamStates } from './shared/command-path/stream-states';
import { IDEMPOTENCY_STORE, type IdempotencyStore } from './shared/command-path/idempotency';
import { READ_SIDE, type ReadSide } from './infrastructure/read-side';
import { preloadProjectorThread } from './infrastructure/read-side.factory';
import { preloadNotaryThread } from './audit/audit-log';
import { IntegrationEvents } from './infrastructure/integration-events';
import { MailDispatcher } from './mail/mail-dispatcher';
import { PresenceStreams } from './presence/presence-streams';
import { httpConnectionsLimit, openFilesLimit, streamLimitWarning } from './presence/open-files';
import { Stopping } from './health/stopping';
import { NatsTransport, NatsClosedBeforeConnected, ProblemNatsServer } from './infrastructure/problem-nats-server';
import { ProblemTcpServer } from './infrastructure/problem-tcp-server';
import { withoutCredentials } from './infrastructure/unreachable-store';
import type { DestinationStream } from 'pino';
import { createLogger } from './logging';
import { createHttpApp } from './http-app';
import { DeleteUserHandler } from './users/user-handlers';
import { RevokeApiKeyHandler } from './organizations/api-keys';
import { OrganizationClosings } from './organizations/close-organization';
import { EraseAddressHandler } from './address-erasures/erase-address';
import { ERASURE_JOURNAL, type ErasureJournal } from './backup/erasure-journal';
import { reapplyJournal } from './backup/reapply-journal';
import { journalWhatTheLogHolds } from './backup/journal-catch-up';

const SHUTDOWN_SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const;
/** how long a stop waits for the requests in flight before it goes on regardless */
const DRAIN_MS = 10_000;

/**
 * Stops taking connections and waits for the requests in flight to be answered: closed by Nest's hooks first, they
 * were cut off (ECONNRESET) while the stores they wrote to were closing.
 */
async function drain(server: Server, streams: PresenceStreams, silent: ReadonlySet<Socket>): Promise<void> {
  streams.closeAll();
  let timer: NodeJS.Timeout | undefined;
  const drained = Promise.race([
    // idle keep-alive connections are closed by close() itself; busy ones once answered
    new Promise<boolean>((resolve) => server.close(() => resolve(true))),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), DRAIN_MS))),
  ]);
  // and connections that never sent a byte (a client's pre-connection, a pool's spare socket), which close() leaves
  // open: no request of theirs is in flight, and each held the stop until its client dropped it (4 s for undici's
  // pool, up to DRAIN_MS for others: the test suite's helper, session 51)
  for (const socket of silent) if (socket.bytesRead === 0) socket.destroy();
  await drained;
  clearTimeout(timer);
  // what is still open after the drain is cut: a request that never ends (a body that never comes) held the stop
  // for good, the app's close waiting for it (probe 59: a SIGTERM'd process still running minutes later)
  if (!(await drained)) server.closeAllConnections();
}

/**
 * The server's open connections, for drain to close those that have not sent a byte (`bytesRead`, counted natively).
 * No 'data' listener: one makes Node's HTTP server take the socket back from its native parser (its listener
 * wrappers `unconsume` the handle: node's _http_server.js); not measurable in bench:http, but needless.
 */
function silentConnections(server: Server): Set<Socket> {
  const open = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    open.add(socket);
    socket.once('close', () => open.delete(socket));
  });
  return open;
}

export interface RunningApp {
  app: INestApplication;
  url: string;
  tcpPort: number;
  generatedSystemKey?: string;
  close(): Promise<void>;
}

/**
 * The message patterns over NATS, taken once NATS answers: at once when it is up, else in the background (logged when
 * it is not there within 2 s, and when it is), while HTTP and TCP serve. Integration events wait for it alike (their
 * publisher retries: `/health` `info.integrationEvents`). NATS up but refusing this process (credentials, TLS) within
 * the first second is a configuration error: the start stops (exit 78; probe 41b F5: it served on without them).
 */
async function listenWhenNatsAnswers(server: { listen(): Promise<unknown> }, url: string, log: ReturnType<typeof createLogger>): Promise<void> {
  const where = withoutCredentials(url);
  const slow = setTimeout(() => log.warn(`NATS (NATS_URL ${where}) does not answer yet: the message patterns over NATS are taken once it does; HTTP and TCP serve meanwhile`), 2_000);
  slow.unref();
  const listening = server.listen().then(
    () => {
      clearTimeout(slow);
      log.info(`message patterns over NATS taken (NATS_URL ${where})`);
      return undefined;
    },
    (error: unknown) => {
      clearTimeout(slow);
      return error instanceof Error ? error : new Error(String(error));
    },
  );
  const first = await Promise.race([listening, new Promise<'waiting'>((resolve) => setTimeout(() => resolve('waiting'), 1_000).unref())]);
  if (first instanceof Error) throw new ConfigError([`NATS_URL ${where}: NATS refused this process (${first.message}): check the credentials and the TLS settings`]);
  void listening.then((error) => {
    // (closed before NATS ever answered: the process is stopping, nothing to say)
    if (error && !(error instanceof NatsClosedBeforeConnected)) log.error({ err: error }, `NATS (NATS_URL ${where}) refused this process: no message patterns over NATS until a restart`);
  });
}

/**
 * Builds and starts the API: HTTP on config.port, the TCP microservice (and NATS when configured), the read side.
 * `logDestination` replaces stdout for the log lines (tests read them). `secrets`: the data dir's, when the caller
 * loaded them first (main.ts, which prints a generated system key even if this start fails).
 */
/** `stopped`: run once a stop by a signal has closed the app, before the signal is raised again (main.ts: the data dir's registration) */
export async function startApp(config: Config, logDestination?: DestinationStream, secrets: LocalSecrets = loadLocalSecrets(config.dataDir, config), stopped = (): void => undefined): Promise<RunningApp> {
  const log = createLogger('api', { level: config.logLevel, format: config.logFormat }, logDestination);
  // the projector's and the notary's threads load their modules on the other core while this one builds the app;
  // they get their data and begin when the app starts them, as before (readSide.start, AuditLog's bootstrap)
  if (config.projectorInProcess) preloadProjectorThread();
  preloadNotaryThread();
  const app = await createHttpApp(config, log, secrets);

  const tcp = app.connectMicroservice<MicroserviceOptions>({ strategy: new ProblemTcpServer({ host: '127.0.0.1', port: config.tcpPort, bodyLimit: config.bodyLimit }) }, { inheritAppConfig: true });
  let natsServer: typeof tcp | undefined;
  if (config.natsUrl) {
    // NATS down at start must not keep the API down (probe 41 F5: exit 1 with a stack): the first connection is tried
    // until NATS answers (ProblemNatsServer.createNatsClient), and again after any outage (maxReconnectAttempts -1: by
    // default it gave up after 10 tries, ~20 s, and the message patterns over NATS were gone until a restart)
    const nats = new ProblemNatsServer({ ...natsConnectionOptions(config.natsUrl), queue: 'rollcall-commands', bodyLimit: config.bodyLimit, maxReconnectAttempts: -1 });
    // for the message patterns' answer limit (NatsAnswerLimit, shared/http/message-route.ts)
    app.get(NatsTransport).server = nats;
    natsServer = app.connectMicroservice<MicroserviceOptions>({ strategy: nats }, { inheritAppConfig: true });
  }
  // where the mail dispatcher's first start begins: before any transport takes a command
  await app.get(MailDispatcher).noteStart();
  // a restore must not bring back what was deleted or revoked since its backup: decided again before any request
  const journal = app.get<ErasureJournal | undefined>(ERASURE_JOURNAL);
  if (journal) {
    await reapplyJournal(journal, app.get(StreamStates), { deleteUser: app.get(DeleteUserHandler), revokeApiKey: app.get(RevokeApiKeyHandler), eraseAddress: app.get(EraseAddressHandler), closeOrganization: app.get(OrganizationClosings) }, log, config.dataDir);
    // and the other way: what the log holds that a stop kept from the journal (probe 122 F4)
    await journalWhatTheLogHolds(journal, app.get<EventStore>(EVENT_STORE), config.dataDir, log);
  }
  await tcp.listen();
  if (natsServer) await listenWhenNatsAnswers(natsServer, config.natsUrl!, log);

  await eraseDeletedUsers(app.get(EVENT_STORE), app.get(StreamStates), app.get(PERSONAL_DATA));
  const readSide = app.get<ReadSide>(READ_SIDE);
  await readSide.start();
  app.get(Metrics).readPositions = async () => ({ readModels: await readSide.position(), head: await app.get<EventStore>(EVENT_STORE).headPosition() });
  await app.get(IntegrationEvents).start();
  const silent = silentConnections(app.getHttpServer() as Server);
  await app.listen(config.port, '0.0.0.0');
  const filesLimit = openFilesLimit();
  const fewFiles = streamLimitWarning(config, filesLimit);
  if (fewFiles) log.warn(fewFiles);
  const linksNowhere = publicUrlWarning(config);
  if (linksNowhere) log.warn(linksNowhere);
  const mailsNowhere = outboxWarning(config);
  if (mailsNowhere) log.warn(mailsNowhere);
  const connections = httpConnectionsLimit(filesLimit);
  if (connections !== undefined) (app.getHttpServer() as Server).maxConnections = connections;

  // Stopping, in order: `/health` says SHUTTING_DOWN for the grace period (everything else still answered), then the
  // HTTP server stops taking connections and answers the requests it took (everything they
  // need still runs; the presence streams, which never end by themselves, are ended first), then Nest's hooks (snapshots being written, the notary, presence, integration events), the
  // projector thread, then the event store (what its commit thread has queued is committed, its files closed: the
  // hooks before it may still append and seal) and the idempotency records (answers queued are stored). Nest's own
  // signal hooks (enableShutdownHooks) would not close the store, and a provider's onApplicationShutdown runs
  // alongside the others of its module, not after them.
  const eventStore = app.get<EventStore>(EVENT_STORE);
  const idempotency = app.get<IdempotencyStore>(IDEMPOTENCY_STORE);
  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      for (const [signal, handler] of onSignal) process.off(signal, handler);
      app.get(Stopping).begin();
      if (config.shutdownGraceMs > 0) await new Promise((resolve) => setTimeout(resolve, config.shutdownGraceMs));
      await drain(app.getHttpServer() as Server, app.get(PresenceStreams), silent);
      await app.close();
      await readSide.close();
      await eventStore.close();
      await idempotency.close();
      await journal?.close();
    })());
  // a signal closes the app, then takes its default course (the process ends with it, as under Nest's hooks)
  // said in the log, as the projector's worker says it (probe 95 F6: the API's stop left no line)
  const onSignal = SHUTDOWN_SIGNALS.map(
    (signal) =>
      [
        signal,
        () => {
          log.info({ event: 'stopping', signal, graceMs: config.shutdownGraceMs }, `${signal}: stopping (answering for ${config.shutdownGraceMs} ms, then draining)`);
          void close().finally(() => (stopped(), process.kill(process.pid, signal)));
        },
      ] as const,
  );
  for (const [signal, handler] of onSignal) process.once(signal, handler);

  const address = app.getHttpServer().address() as { port: number };
  const tcpAddress = tcp.unwrap<{ address(): { port: number } }>().address();
  return {
    app,
    url: `http://127.0.0.1:${address.port}`,
    tcpPort: tcpAddress.port,
    generatedSystemKey: secrets.generatedSystemKey,
    close,
  };
}
