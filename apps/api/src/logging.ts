// Structured logs (pino) for the API and the projector: one JSON object per line by default, human-readable
// lines with LOG_FORMAT=pretty. The API adds one line per HTTP request (requestLogging, the shape pino-http gave it)
// whose request id is also the correlation id of the events the request appended (write-pipeline.ts reads it off
// Node's request).
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type DestinationStream, type Logger, type LoggerOptions, pino, stdSerializers, stdTimeFunctions, symbols } from 'pino';
import { isSaneRequestId } from './shared/http/request-id';
import { ANSWERED_CODE } from './shared/http/problem-body';
import type { Principal } from './shared/auth';
import { CALLER_OF_REQUEST, callerFields } from './shared/caller';
import { RefusalLogSampler } from './logging-refusals';

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;
export const LOG_FORMATS = ['json', 'pretty'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export type LogFormat = (typeof LOG_FORMATS)[number];
export interface LogSettings {
  level: LogLevel;
  format: LogFormat;
}

/** LOG_LEVEL (default info) and LOG_FORMAT (default json), the same for the API and the projector; problems are pushed, not thrown. */
export function readLogSettings(env: NodeJS.ProcessEnv, problems: string[]): LogSettings {
  const level = env.LOG_LEVEL?.trim() || 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(level)) problems.push(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got "${level}"`);
  const format = env.LOG_FORMAT?.trim() || 'json';
  if (!(LOG_FORMATS as readonly string[]).includes(format)) problems.push(`LOG_FORMAT must be one of ${LOG_FORMATS.join(', ')}, got "${format}"`);
  return { level: level as LogLevel, format: format as LogFormat };
}

/**
 * Fields that hold a secret wherever a logged object carries them (headers of a logged request or error, an
 * organization's answer, a message envelope, an accept body). The request line itself logs no headers nor bodies.
 */
const REDACTED_PATHS = [
  'authorization',
  'cookie',
  'headers.authorization',
  'headers.cookie',
  '*.headers.authorization',
  '*.headers.cookie',
  'apiKey',
  '*.apiKey',
  '*.*.apiKey',
  'systemApiKey',
  '*.systemApiKey',
  'token',
  '*.token',
  'metricsToken',
  '*.metricsToken',
  'invitationSecret',
  '*.invitationSecret',
];

const CENSOR = '[Redacted]';
/**
 * In query strings: link tokens (invitation and email-confirmation links, tickets), and what may hold personal data: a
 * search (`q`: an address or a name, as typed) and a page's cursor (it carries the sort value: an address or a
 * name); and bearer credentials in free text.
 */
const URL_SECRET = /([?&](?:token|ticket|q|cursor)=)[^&#\s"']*/gi;
const BEARER = /(\bBearer\s+)[^\s"',]+/gi;

/** The text with link tokens, searches, cursors and bearer credentials replaced by [Redacted]. */
export const redactSecrets = (text: string): string => text.replace(URL_SECRET, `$1${CENSOR}`).replace(BEARER, `$1${CENSOR}`);

/**
 * Query parameters whose values a request line shows: the documented ones that name no secret and no personal data
 * (ids, times, sorts, filters). Any other value — `q`, `cursor`, `token`, `ticket`, and whatever a client adds, such
 * as an API key in `?api_key=` (black-box probe 8) — is [Redacted].
 */
const LOGGED_QUERY = new Set(['actorId', 'asOf', 'direction', 'explain', 'format', 'from', 'lastEventId', 'limit', 'position', 'presence', 'role', 'sort', 'status', 'team', 'to', 'treeSize', 'userId']);
/** a path segment shown as it is: what ids and the routes' words look like (an address has an @, a key is longer) */
const PLAIN_SEGMENT = /^[A-Za-z0-9._~-]{1,64}$/;
/** the whole path plain, no query: most requests (checked in one pass) */
const PLAIN_PATH = /^(?:\/[A-Za-z0-9._~-]{1,64})*\/?$/;
const plainSegment = (segment: string) => segment === '' || (PLAIN_SEGMENT.test(segment) && !segment.startsWith('rk_'));
const plainKey = (key: string) => key.length <= 32 && PLAIN_SEGMENT.test(key);
/** a value of a LOGGED_QUERY parameter shown as it is: not an address typed where an id goes, nothing long */
const plainValue = (value: string) => value.length <= 64 && !/@|%40/i.test(value);

/**
 * A request's URL as a log line shows it, deny by default: path segments that do not look like ids or words (an
 * address typed where an id goes, a key) and the values of query parameters not in LOGGED_QUERY are [Redacted].
 */
export function redactUrl(url: string): string {
  if (PLAIN_PATH.test(url) && !url.includes('/rk_')) return url;
  const at = url.indexOf('?');
  const path = (at < 0 ? url : url.slice(0, at))
    .split('/')
    .map((segment) => (plainSegment(segment) ? segment : CENSOR))
    .join('/');
  if (at < 0) return path;
  const query = url
    .slice(at + 1)
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      const key = eq < 0 ? pair : pair.slice(0, eq);
      if (!plainKey(key)) return CENSOR;
      return eq < 0 || (LOGGED_QUERY.has(key) && plainValue(pair.slice(eq + 1))) ? pair : `${key}=${CENSOR}`;
    })
    .join('&');
  return `${path}?${query}`;
}

/**
 * The root logger of a process. `destination` replaces stdout (tests capture the lines with it). Pretty lines are
 * formatted in-process (pino-pretty as a stream, no transport thread): they are for a human at a terminal.
 */
export function createLogger(name: string, settings: LogSettings, destination?: DestinationStream): Logger {
  const options: LoggerOptions = {
    name,
    level: settings.level,
    redact: { paths: REDACTED_PATHS, censor: CENSOR },
    timestamp: stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    hooks: {
      // string arguments (the message and its interpolation values) are scrubbed too: paths only reach fields
      logMethod(args, method) {
        method.apply(this, args.map((a: unknown) => (typeof a === 'string' ? redactSecrets(a) : a)) as Parameters<typeof method>);
      },
    },
  };
  if (settings.format === 'pretty') {
    // loaded only for this format: its ~30 modules were in every process's start (and every jest file's), which logs JSON
    const { build: prettyStream } = require('pino-pretty') as typeof import('pino-pretty');
    return pino(
      options,
      prettyStream({
        destination: destination ?? 1,
        colorize: destination === undefined && process.stdout.isTTY,
        sync: true,
        // a request is one line: its fields are in the message; anything else (err, thread...) follows indented
        ignore: `pid,hostname,context,${REQUEST_LINE_FIELDS.join(',')}`,
        messageFormat: prettyMessage,
      }),
    );
  }
  return destination ? pino(options, destination) : pino(options);
}

const REQUEST_LINE_FIELDS = ['requestId', 'method', 'route', 'url', 'status', 'durationMs', 'aborted', 'organizationId', 'keyId', 'actorId'];

/**
 * What the request logging sees: Node's request and response, as Fastify's middleware (middie) hands them over. `route`
 * is set by the app's preHandler hook (http-app.ts) once a route matched and the body passed the JSON checks; `locals`
 * by markExpectedAnswer.
 */
type Request = IncomingMessage & { originalUrl?: string; route?: { path?: string }; principal?: Principal };
type Response = ServerResponse & { locals?: Record<string, unknown> };

/** `[context] message`, a request line as `GET /v1/... 200 3 ms (route)`, and the request id of any line logged in a request. */
const prettyMessage = (log: Record<string, unknown>, messageKey: string): string => {
  const context = log.context ? `[${String(log.context)}] ` : '';
  const id = log.requestId ? ` #${String(log.requestId)}` : '';
  if (log.durationMs === undefined) return `${context}${String(log[messageKey] ?? '')}${id}`;
  const route = log.route ? ` (${String(log.route)})` : '';
  return `${String(log.method)} ${String(log.url)} ${String(log.status)} ${String(log.durationMs)} ms${log.aborted ? ' aborted' : ''}${route}${id}`;
};

/** The client's X-Request-Id when sane, else a new UUID; echoed in the response's X-Request-Id. */
export const requestIdOf = (req: Request, res: Response): string => {
  const given = req.headers['x-request-id'];
  const id = isSaneRequestId(given) ? given : randomUUID();
  res.setHeader('X-Request-Id', id);
  return id;
};

/**
 * The matched endpoint's path pattern (`req.route`, set by http-app.ts's preHandler hook as Express's router set it),
 * or null when no endpoint matched. A pattern holding `*` (a wildcard, such as /docs' static files) is no endpoint.
 */
export const routeOf = (req: { route?: { path?: unknown } }): string | null => {
  const path = req.route?.path;
  return typeof path === 'string' && !path.includes('*') ? path : null;
};

/** What the request line says. */
const requestLine = (req: Request, res: Response) => ({
  method: req.method,
  route: routeOf(req),
  url: redactUrl(req.originalUrl ?? req.url ?? ''),
  status: res.statusCode,
  // a refusal's problem code (probe 95 F5: a 503 READ_MODEL_BEHIND logged as "GET … 503" alone)
  ...(typeof (res as unknown as Record<symbol, unknown>)[ANSWERED_CODE] === 'string' && { code: (res as unknown as Record<symbol, string>)[ANSWERED_CODE] }),
  ...(res.writableEnded ? {} : { aborted: true }),
  // who, as the API key check found it (the guard leaves the principal on Node's request: shared/auth.ts), or as a
  // public route that identifies its caller itself noted it (the presence stream: probe 96 F5, its line named nobody)
  ...callerOfLine(req),
});
const callerOfLine = (req: Request) => {
  const noted = (req as unknown as Record<symbol, { principal: Principal; actorId: string } | undefined>)[CALLER_OF_REQUEST];
  return noted ? callerFields(noted.principal, noted.actorId) : callerFields(req.principal, req.headers['x-actor-id']);
};
const summary = (req: Request, res: Response) => {
  const line = requestLine(req, res);
  return `${line.method} ${line.route ?? line.url} ${line.status}${line.code ? ` ${line.code}` : ''}${line.aborted ? ' (aborted)' : ''}`;
};

/**
 * A child of `base` carrying the request id, made without pino's child(): that serializes its bindings through the
 * redaction on every call, a tenth of a command's time measured by bench:http. The id is a plain token
 * (isSaneRequestId, shared/http/request-id.ts, or a UUID): there is nothing in it to redact. The line is the same as a child's (pino's own
 * `chindings` symbol: the bindings as JSON text, appended to every line).
 */
const withRequestId = (base: Logger, id: string): Logger => {
  const child = Object.create(base) as Logger & Record<symbol, string>;
  child[symbols.chindingsSym] = `${(base as Logger & Record<symbol, string>)[symbols.chindingsSym]},"requestId":${JSON.stringify(id)}`;
  return child;
};

/** what a handler may set on the Node response's `locals` for an answer it expects (503 SHUTTING_DOWN during a stop: no error) */
export const EXPECTED_ANSWER = 'expectedAnswer';

/** Marks the answer being made as expected (see EXPECTED_ANSWER), on the Node response of Fastify's reply (`raw`). */
export const markExpectedAnswer = (reply: { raw: ServerResponse }): void => {
  const res = reply.raw as Response;
  (res.locals ??= {})[EXPECTED_ANSWER] = true;
};

/**
 * `res.locals` key: a success that tells nothing new — a heartbeat that changed nothing, most of a console's requests
 * (markRoutineAnswer): its line is logged at debug, not info (probe 108 F3: ~520 bytes of log per heartbeat, ~22 GB a
 * day at 500 heartbeats/s, and `LOG_LEVEL=warn` the only way out, which drops every other success's line too).
 */
export const ROUTINE_ANSWER = 'routineAnswer';

/** Marks the answer being made as routine (see ROUTINE_ANSWER), on the Node response of Fastify's reply (`raw`). */
export const markRoutineAnswer = (reply: { raw: ServerResponse }): void => {
  const res = reply.raw as Response;
  (res.locals ??= {})[ROUTINE_ANSWER] = true;
};

/** warn for a 4xx, error for a 5xx or a failed response; info for an answer its handler says it expects; debug for a routine success */
const levelOf = (res: Response, error: Error | undefined): 'debug' | 'info' | 'warn' | 'error' =>
  !error && res.locals?.[EXPECTED_ANSWER] === true
    ? 'info'
    : error || res.statusCode >= 500
      ? 'error'
      : res.statusCode >= 400
        ? 'warn'
        : res.locals?.[ROUTINE_ANSWER] === true
          ? 'debug'
          : 'info';

/**
 * One line per HTTP request: method, route, url (secrets redacted), status, durationMs, requestId; warn for a
 * 4xx, error for a 5xx; 401s sampled per client address (logging-refusals.ts). Sets `req.id` (the request id) and `req.log` (a child logger carrying requestId, which
 * nestjs-pino binds to every log made while handling the request). Mounted first, so requests refused before
 * routing (415, malformed JSON, too large) have their line and their id too. The line is built only when its level
 * is logged (LOG_LEVEL=error: only failures).
 */
export function requestLogging(logger: Logger): (req: Request, res: Response, next: () => void) => void {
  // child() once, with pino-http's serializers composed as it composes them (a logged req, res or err reads as it
  // did): every request's child shares it
  const wrap = stdSerializers as unknown as Record<'wrapRequestSerializer' | 'wrapResponseSerializer' | 'wrapErrorSerializer', (s: unknown) => (v: unknown) => unknown>;
  const base = logger.child(
    {},
    {
      serializers: {
        req: wrap.wrapRequestSerializer(stdSerializers.req),
        res: wrap.wrapResponseSerializer(stdSerializers.res),
        err: wrap.wrapErrorSerializer(stdSerializers.err),
      },
    },
  );
  // 401s past the first few per client address and window are counted, not logged one by one (probe 59 F9)
  const refusals = new RefusalLogSampler((summary) => base.warn(summary, '401 answers not logged one by one'));
  return (req, res, next) => {
    const started = performance.now(); // a duration: on a clock that never steps
    const id = requestIdOf(req, res);
    const log = withRequestId(base, id);
    (req as Request & { id: string }).id = id;
    (req as Request & { log: Logger }).log = log;
    (res as Response & { log: Logger }).log = log;
    const complete = (error?: Error) => {
      res.removeListener('close', complete);
      res.removeListener('finish', complete);
      res.removeListener('error', complete);
      const level = levelOf(res, error);
      if (!log.isLevelEnabled(level)) return;
      if (res.statusCode === 401 && !error && !refusals.admit(req.socket.remoteAddress)) return;
      const durationMs = Math.round(performance.now() - started);
      log[level]({ ...requestLine(req, res), durationMs, ...(error && { err: error }) }, summary(req, res));
    };
    res.on('close', complete);
    res.on('finish', complete);
    res.on('error', complete);
    next();
  };
}
