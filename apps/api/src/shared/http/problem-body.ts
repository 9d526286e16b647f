import { STATUS_CODES } from 'node:http';
import type { FieldError } from '@rollcall/domain';

/**
 * A problem's body (RFC 9457, with Rollcall's stable `code`) and how one is made, without the API's framework: the
 * projector process answers its /metrics refusals with it and loads no NestJS for that (problem.ts re-exports
 * `problem`; its `Problem` class is the same shape, with the OpenAPI schema's decorators).
 */
export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  code: string;
  detail: string;
  instance?: string;
  errors?: FieldError[];
}

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  409: 'Conflict',
  410: 'Gone',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

export const problem = (status: number, code: string, detail: string, errors?: FieldError[]): ProblemBody => ({
  type: `https://rollcall.dev/problems/${code.toLowerCase().replaceAll('_', '-')}`,
  // RFC 9110's phrases (Node's STATUS_CODES has older ones for 413 and 422); a status not listed: Node's phrase
  title: TITLES[status] ?? STATUS_CODES[status] ?? 'Error',
  status,
  code,
  detail,
  ...(errors && errors.length > 0 && { errors }),
});

/** The problem code an HTTP answer carried, kept on Node's response for the request's log line (logging.ts: probe 95 F5). */
export const ANSWERED_CODE = Symbol('the problem code answered');
export const noteAnsweredCode = (res: object, code: string): void => {
  (res as Record<symbol, unknown>)[ANSWERED_CODE] = code;
};
