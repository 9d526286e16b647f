// One log line per message-pattern command, as requestLogging (logging.ts) writes one per HTTP request: nestjs-pino's
// microservice logging (a pre-request hook of NestJS 12), configured so that both transports' lines read alike —
// `requestId` (the message's `correlationId` when it sends a sane one, as X-Request-Id over HTTP, else a new UUID;
// also the correlationId of the events the message appended: shared/messages.ts), `durationMs`, `status` and, for a
// refusal, the problem's `code`; warn for a 4xx, error for a 5xx. The payload is never logged (it holds API keys,
// tokens and addresses).
import { randomUUID } from 'node:crypto';
import type { ExecutionContext } from '@nestjs/common';
import { type MicroserviceParams, getRpcInfo } from 'nestjs-pino';
import { problemFor } from './shared/problem';
import { isSaneRequestId } from './shared/request-id';

/** The message's `correlationId` when sane, else a new UUID. */
export const messageRequestIdOf = (context: ExecutionContext): string => {
  const given = (context.switchToRpc().getData() as { correlationId?: unknown } | undefined)?.correlationId;
  return isSaneRequestId(given) ? given : randomUUID();
};

const patternOf = (context: ExecutionContext): string => String(getRpcInfo(context).pattern);

export const MESSAGE_LOGGING: MicroserviceParams = {
  genReqId: messageRequestIdOf,
  customAttributeKeys: { reqId: 'requestId', responseTime: 'durationMs' },
  // lines logged while handling a message carry its requestId, as those of an HTTP request do
  quietRpcLogger: true,
  customLogLevel: (_context, error) => (!error ? 'info' : problemFor(error).problem.status >= 500 ? 'error' : 'warn'),
  customSuccessMessage: (context) => `message ${patternOf(context)} ok`,
  customErrorMessage: (context, error) => {
    const { problem } = problemFor(error);
    return `message ${patternOf(context)} ${problem.status} ${problem.code}`;
  },
  customSuccessObject: (_context, _result, value) => ({ ...value, status: 200 }),
  customErrorObject: (_context, error, value) => {
    const { problem, fault } = problemFor(error);
    // a refusal is the caller's (no stack, as an HTTP 4xx line); a fault keeps the error
    const { err: _error, ...line } = value as Record<string, unknown>;
    return { ...(fault ? value : line), status: problem.status, code: problem.code };
  },
};
