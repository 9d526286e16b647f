// One log line per message-pattern command, as requestLogging (logging.ts) writes one per HTTP request: nestjs-pino's
// microservice logging (a pre-request hook of NestJS 12), configured so that both transports' lines read alike —
// `requestId` (the message's `correlationId` when it sends a sane one, as X-Request-Id over HTTP, else a new UUID;
// also the correlationId of the events the message appended: shared/http/messages.ts), `durationMs`, `status` and, for a
// refusal, the problem's `code`; warn for a 4xx, error for a 5xx. The payload is never logged (it holds API keys,
// tokens and addresses).
import { randomUUID } from 'node:crypto';
import { type ExecutionContext, Logger } from '@nestjs/common';
import { type MicroserviceParams, getRpcInfo } from 'nestjs-pino';
import { problemFor } from './shared/http/problem';
import { isSaneRequestId } from './shared/http/request-id';
import { CALLER, callerFields } from './shared/caller';
import type { Principal } from './shared/auth';
import { RefusalLogSampler } from './logging-refusals';

/** The message's `correlationId` when sane, else a new UUID. */
export const messageRequestIdOf = (context: ExecutionContext): string => {
  const given = (context.switchToRpc().getData() as { correlationId?: unknown } | undefined)?.correlationId;
  return isSaneRequestId(given) ? given : randomUUID();
};

const patternOf = (context: ExecutionContext): string => String(getRpcInfo(context).pattern);

/** who sent the message, as the API key check found it (shared/auth.ts leaves it on the payload), as HTTP's lines say */
const callerOf = (context: ExecutionContext) => {
  const payload = context.switchToRpc().getData() as ({ actorId?: unknown } & Record<symbol, unknown>) | undefined;
  return typeof payload === 'object' && payload !== null ? callerFields(payload[CALLER] as Principal | undefined, payload.actorId) : {};
};

/**
 * 401 answers to message patterns, sampled as HTTP's (logging-refusals.ts; probe 63 F3: a wrong-key loop over TCP wrote
 * a line per message): the transports carry no client address, so every message pattern shares one window.
 */
const messageRefusals = new RefusalLogSampler(({ refused, windowSeconds }) =>
  new Logger('MessageLogging').warn(`401 answers to message patterns not logged one by one: ${refused} in the last ${windowSeconds} s`),
);

const levelOf = (error: unknown): 'info' | 'warn' | 'error' | 'silent' => {
  if (!error) return 'info';
  const { status } = problemFor(error).problem;
  if (status === 401 && !messageRefusals.admit('message patterns')) return 'silent';
  return status >= 500 ? 'error' : 'warn';
};

export const MESSAGE_LOGGING: MicroserviceParams = {
  genReqId: messageRequestIdOf,
  customAttributeKeys: { reqId: 'requestId', responseTime: 'durationMs' },
  // lines logged while handling a message carry its requestId, as those of an HTTP request do
  quietRpcLogger: true,
  customLogLevel: (_context, error) => levelOf(error),
  customSuccessMessage: (context) => `message ${patternOf(context)} ok`,
  customErrorMessage: (context, error) => {
    const { problem } = problemFor(error);
    return `message ${patternOf(context)} ${problem.status} ${problem.code}`;
  },
  customSuccessObject: (context, _result, value) => ({ ...value, status: 200, ...callerOf(context) }),
  customErrorObject: (context, error, value) => {
    const { problem, fault } = problemFor(error);
    // a refusal is the caller's (no stack, as an HTTP 4xx line); a fault keeps the error
    const { err: _error, ...line } = value as Record<string, unknown>;
    return { ...(fault ? value : line), status: problem.status, code: problem.code, ...callerOf(context) };
  },
};
