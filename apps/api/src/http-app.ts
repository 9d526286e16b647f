// The API's HTTP server: Nest on Fastify (@nestjs/platform-fastify), with the edges of the HTTP contract the tests pin
// (request ids and lines, JSON bodies and their refusals, routing, /docs) as Express served them until session 33
// (ADR 0010, fifteenth and sixteenth passes).
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { type OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { Logger } from 'nestjs-pino';
import type { Config } from './config';
import { AppModule } from './app.module';
import type { LocalSecrets } from './shared/secrets';
import { Metrics } from './infrastructure/metrics';
import { Stopping } from './health/stopping';
import { checkJsonBody, parseJsonBody, requireUtf8Json } from './shared/http/json-body';
import { inflatedBody } from './shared/http/body-encoding';
import { answerClientErrors } from './shared/http/client-errors';
import { oneRequestAtATime } from './shared/command-path/pipelined-requests';
import { instanceOf, problem } from './shared/http/problem';
import { noteAnsweredCode } from './shared/http/problem-body';
import { createOpenApiDocument } from './shared/http/openapi-document';
import { createAsyncApiDocument } from './shared/http/asyncapi-document';
import { type createLogger, requestLogging, routeOf } from './logging';
import { ActivityRecorder, markHttpActivity } from './activity/activity-recorder';
import { answeredReadPosition } from './shared/reads/read-position';
import type { AuthedRequest } from './shared/auth';

/**
 * Node's own timeouts, which the API had on Express (Node's server as it comes) and Fastify replaces with its own
 * (keep-alive 72 s, no request timeout): an idle keep-alive connection is closed after 5 s (a stop's drain waits for
 * no longer), a request whose headers and body take over 300 s is refused and its connection closed (Node's
 * clientError, answered by answerClientErrors). Node's headersTimeout (60 s) Fastify leaves as it is. A connection on
 * which nothing was read or written for 120 s is closed (`connectionTimeout`, Node's server.timeout): an answer its
 * client stopped reading (a CSV download left unread held its organization's heavy-read slots and a read snapshot that
 * kept every deletion's purge waiting, for as long as the client liked: probe 61 F5); a presence stream writes its
 * keep-alive comments more often than that, and a request still being worked on has read its body.
 */
export const HTTP_TIMEOUTS = { keepAliveTimeout: 5_000, requestTimeout: 300_000, connectionTimeout: 120_000 } as const;

/** a middleware timing every request for /metrics (mounted through middie: Node's req and res) */
const requestMetrics = (metrics: Metrics) => (req: { method: string; route?: { path?: string } }, res: { statusCode: number; on: (e: string, f: () => void) => void }, next: () => void) => {
  const end = metrics.requests.startTimer();
  res.on('finish', () => end({ method: req.method, route: routeOf(req) ?? 'unmatched', status: String(res.statusCode) }));
  next();
};

/** what the router refuses before any hook (a path of invalid percent-encoding, an over-long segment): a problem too */
function frameworkErrors(error: FastifyError, req: FastifyRequest, reply: FastifyReply): void {
  const body =
    error.code === 'FST_ERR_BAD_URL'
      ? problem(400, 'VALIDATION_FAILED', 'The path holds a segment that is not valid percent-encoding (UTF-8).', [{ field: 'path', message: 'is not valid percent-encoding' }])
      : problem(error.statusCode ?? 400, `HTTP_${error.statusCode ?? 400}`, error.message);
  noteAnsweredCode(reply.raw, body.code);
  void reply
    .code(body.status)
    .type('application/problem+json')
    .send(JSON.stringify({ ...body, instance: instanceOf(req.url) }));
}

/** `/docs`, its assets and its documents (matched as the router does: case-insensitively) */
const isDocs = (path: string): boolean => /^\/docs(?:\/|$)/i.test(path);

/** a named path parameter matched by an empty segment (`/v1/workspaces//invitations`): no route of the API has one */
const emptyParam = (params: unknown): boolean => {
  for (const [name, value] of Object.entries(params as Record<string, unknown>)) if (value === '' && name !== '*') return true;
  return false;
};

/**
 * Builds the app on Fastify. Middleware (app.use) runs in middie, on Node's req and res, in Fastify's first
 * `onRequest` hook: the request line and the metrics are middleware; the JSON checks are Fastify hooks around
 * Fastify's body parsing. Not listening yet (startApp listens once everything else has started).
 */
export async function createHttpApp(config: Config, log: ReturnType<typeof createLogger>, secrets: LocalSecrets): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter({
    bodyLimit: config.bodyLimit,
    // a `__proto__` or `constructor` key is named by checkJsonBody (400 VALIDATION_FAILED), not refused by the parser
    onProtoPoisoning: 'ignore',
    onConstructorPoisoning: 'ignore',
    // as Express's router: `/v1/x/` is `/v1/x`, `/V1/X` is `/v1/x` (the path parameters keep their case: ids are
    // case-sensitive), and a path segment of any length reaches the route, whose IdPipe names an over-long id (400
    // VALIDATION_FAILED; Node's 16 KiB limit on the request line and headers bounds it). A segment over find-my-way's
    // maxParamLength was a 414 of Fastify's own.
    routerOptions: { ignoreTrailingSlash: true, caseSensitive: false, maxParamLength: 16_384 },
    ...HTTP_TIMEOUTS,
    // Node's HTTP server as Fastify makes it (its timeouts set here: a server factory's are the factory's to set),
    // handing pipelined requests on one at a time (shared/command-path/pipelined-requests.ts, docs/adr/0019)
    serverFactory: (handler: (req: IncomingMessage, res: ServerResponse) => void) => {
      // Node looks for requests past their timeouts every connectionsCheckingInterval (30 s by default: a 60 s
      // headers timeout refused at up to ~90 s, probe 36b); every 5 s it is 60–65 s
      const server = createServer({ connectionsCheckingInterval: 5_000 }, oneRequestAtATime(handler));
      server.keepAliveTimeout = HTTP_TIMEOUTS.keepAliveTimeout;
      server.requestTimeout = HTTP_TIMEOUTS.requestTimeout;
      server.timeout = HTTP_TIMEOUTS.connectionTimeout;
      return server;
    },
    logger: false,
    frameworkErrors,
  });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forConfig(config, log, secrets), adapter, { bodyParser: false, rawBody: true, bufferLogs: true });
  // Nest's own lines (startup, routes) and every Logger of the app go through pino from here on
  app.useLogger(app.get(Logger));
  // first of all: every request gets its id (X-Request-Id, req.id on Node's request) and its log line, even one
  // refused before routing
  app.use(requestLogging(log));
  app.use(requestMetrics(app.get(Metrics)));
  const instance = app.getHttpAdapter().getInstance();
  const stopping = app.get(Stopping);
  instance.addHook('onRequest', (req, reply, done) => {
    // once a stop has begun, every answer closes its connection: a client's next request opens a new one (to another
    // replica, behind a balancer) instead of being written on a kept-alive connection the drain is about to close,
    // where it met ECONNRESET (probe 32: 3 POSTs sent at the end of the grace, lost unless the client retried)
    if (stopping.stopping) void reply.header('connection', 'close');
    // the page's assets are relative to /docs: served at /docs/ they resolved to /docs/docs/… and failed (probe 9)
    const at = req.url.indexOf('?');
    const path = at < 0 ? req.url : req.url.slice(0, at);
    if (path === '/docs/') return void reply.redirect(`/docs${at < 0 ? '' : req.url.slice(at)}`, 301);
    // answers hold addresses, names, invite links, CSV exports and keys: no cache (a browser's, a proxy's) keeps one,
    // and none is read as another type than it says (a CSV or JSON with a name like `<script>` sniffed as HTML); the
    // public documentation may be cached (probe 36)
    if (!isDocs(path)) void reply.header('cache-control', 'no-store');
    void reply.header('x-content-type-options', 'nosniff');
    // an empty id is no resource: 404 as for a path no route matches, before the key or the body is looked at (on
    // Express no route matched it; Fastify's router matches a parameter with an empty segment)
    if (emptyParam(req.params)) return void reply.callNotFound();
    // JSON bodies: UTF-8 only (415 otherwise)
    requireUtf8Json(req, reply, done);
  });
  // a GET's body is read and checked as Express's body parser did (Fastify ignores it: `/health` with a body that is
  // not JSON answered 200, where the API answers 400 MALFORMED_JSON)
  instance.addHttpMethod('GET', { hasBody: true, overrideExisting: true });
  // Content-Encoding gzip / deflate is inflated, as Express's body reading did
  instance.addHook('preParsing', (req, _reply, payload, done) => inflatedBody(req.headers['content-encoding'], payload, done));
  app.useBodyParser('application/json', { bodyLimit: config.bodyLimit }, parseJsonBody);
  // then refused when not UTF-8, too deep or with keys the validation pipe would drop
  instance.addHook('preValidation', (req, reply, done) => checkJsonBody(req, reply, done));
  // the matched route's pattern for the request line and the metrics (routeOf), once the body was taken: a request
  // the JSON checks refuse has route null, as on Express (where req.route was set when the router reached the endpoint)
  instance.addHook('preHandler', (req, _reply, done) => {
    if (req.routeOptions.url) (req.raw as { route?: { path: string } }).route = { path: req.routeOptions.url };
    done();
  });
  // what follows a handler's answer, as it is about to be written: a read's X-Position, the acting user's activity once
  // it succeeded. Hooks, not Nest interceptors: a global interceptor put every request through Nest's RxJS chain
  // (~30–40 % of the main thread per heartbeat at saturation: docs/adr/0010, nineteenth pass)
  const activity = app.get(ActivityRecorder);
  instance.addHook('onSend', (req, reply, payload, done) => {
    answeredReadPosition(req, reply);
    markHttpActivity(activity, req as AuthedRequest, reply.statusCode);
    done(null, payload);
  });

  // servers, license, security schemes and tags: shared/http/openapi-document.ts (also used by `npm run openapi`). Built at
  // the first request for it, not at every start: 0.27–0.45 s of CPU a start (Swagger's explorer; the test suite starts
  // apps hundreds of times), which the first /docs request pays once instead, holding the event loop that long
  let openapi: OpenAPIObject | undefined;
  const openapiDocument = (): OpenAPIObject => (openapi ??= createOpenApiDocument(app));
  SwaggerModule.setup('docs', app, openapiDocument, { jsonDocumentUrl: 'docs/openapi.json' });
  // the message patterns and integration events, derived from the same document (shared/http/asyncapi-document.ts)
  let asyncapi: string | undefined;
  instance.get('/docs/asyncapi.json', (_req, reply) => void reply.type('application/json').send((asyncapi ??= JSON.stringify(createAsyncApiDocument(openapiDocument())))));

  // Node's client errors (a malformed request line, headers too large) are answered by answerClientErrors alone:
  // Fastify's own listener answers a JSON body of its own
  const server = app.getHttpServer() as Server;
  server.removeAllListeners('clientError');
  answerClientErrors(server);
  return app;
}
