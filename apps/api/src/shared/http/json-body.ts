import { isUtf8 } from 'node:buffer';
import type { IncomingHttpHeaders } from 'node:http';
import { type ArgumentMetadata, BadRequestException, Injectable, type PipeTransform } from '@nestjs/common';
import { type Problem, ProblemException, instanceOf, problem } from './problem';
import { noteAnsweredCode } from './problem-body';
import { timesSent } from './headers';

/** What the checks below use of a request and its reply (Fastify's, in the app's hooks: http-app.ts). */
type NextFunction = (error?: Error) => void;
interface Request {
  headers: IncomingHttpHeaders;
  originalUrl: string;
  body?: unknown;
  /** Node's request: its headers as sent (`headers` keeps one Content-Type of several) */
  raw?: { rawHeaders: string[] };
}
interface Response {
  /** Node's response (Fastify's reply has it): where the answered code is noted for the log line */
  raw?: object;
  status(code: number): Response;
  type(type: string): Response;
  send(body: string): unknown;
}

/** No request of the API nests deeper than 3; anything past this is refused before validation walks it. */
export const MAX_JSON_DEPTH = 32;
/**
 * No object of the API has more than ~10 fields (restrictions: the access model's few names), no list more than 20
 * items: wider ones are refused here, in one sentence, before validation walks them. Validation of 64 KiB of unknown
 * fields took 83 ms and answered 444 KB (one error per field), also to a client without a key on the token routes, and
 * 8 such clients held every other organization's requests for ~1–2 s (probe 59); 5,400 restriction names took 45 ms.
 */
export const MAX_JSON_MEMBERS = 100;
export const MAX_JSON_ITEMS = 1000;

/**
 * Keys that never reach validation's check for unknown fields, refused here instead: those Nest's ValidationPipe
 * deletes without a word (its prototype-pollution guard: `__proto__`, `constructor`, `prototype`), and every other
 * name of `Object.prototype` (`toString`, `valueOf`, `hasOwnProperty`…), which class-transformer skips because the
 * DTO instance has them as methods: `{"name":"n","toString":1}` was taken as `{"name":"n"}` (probe 30 F1). No field
 * of the API has such a name.
 */
const RESERVED_KEYS = new Set([...Object.getOwnPropertyNames(Object.prototype), 'prototype']);

/**
 * The one media type the API takes, as its OpenAPI document declares: `application/json`. Not every `…+json`: a
 * `application/merge-patch+json` or `json-patch+json` body asks for other semantics than the API applies.
 */
const JSON_TYPE = /^application\/json\s*(?:;|$)/i;
const CHARSET = /;\s*charset\s*=\s*"?([^";\s]*)"?/i;

const send = (req: Request, res: Response, body: Problem): void => {
  if (res.raw) noteAnsweredCode(res.raw, body.code);
  res.status(body.status).type('application/problem+json').send(JSON.stringify({ ...body, instance: instanceOf(req.originalUrl) }));
};

/**
 * Before the JSON parser: a body is JSON, and JSON is UTF-8 (RFC 8259 §8.1). A declared charset other than UTF-8 (UTF-16,
 * UTF-32, latin1…) is a 415; the body is not decoded, so nothing of it can be echoed back garbled.
 */
export function requireUtf8Json(req: Request, res: Response, next: NextFunction): void {
  // two Content-Type headers: Node keeps the first, a proxy in front may read the other (probe 36 F3)
  const sent = req.raw ? timesSent(req.raw.rawHeaders, 'content-type') : 1;
  if (sent > 1) return send(req, res, problem(415, 'UNSUPPORTED_MEDIA_TYPE', `Send one Content-Type header: this request has ${sent}.`));
  const type = req.headers['content-type'];
  // a body is JSON or nothing: another type (curl -d sends a form) would be ignored, and validation would then
  // complain about the fields instead of naming what is wrong
  const hasBody = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
  const json = typeof type === 'string' && JSON_TYPE.test(type.trim());
  if (hasBody && !json)
    return send(
      req,
      res,
      problem(415, 'UNSUPPORTED_MEDIA_TYPE', `Send the request body as JSON with Content-Type application/json${type ? ` (not ${JSON.stringify(type.split(';')[0]!.trim().slice(0, 100))})` : ''}.`),
    );
  if (json) {
    const charset = CHARSET.exec(type)?.[1]?.toLowerCase();
    if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8')
      return send(
        req,
        res,
        problem(415, 'UNSUPPORTED_MEDIA_TYPE', 'Send the request body as UTF-8 JSON: Content-Type application/json with charset utf-8 or no charset.'),
      );
  }
  next();
}

/**
 * What is wrong with a parsed JSON body before validation sees it, if anything: nesting deeper than
 * MAX_JSON_DEPTH (class-transformer recurses once per level and overflows the stack on thousands), or a key
 * the validation pipe would silently delete. Walks with its own stack: any depth is safe here.
 */
export function inspectJsonBody(body: unknown): Problem | undefined {
  const stack: [value: unknown, depth: number, path: string][] = [[body, 0, '']];
  while (stack.length > 0) {
    const [value, depth, path] = stack.pop()!;
    if (value === null || typeof value !== 'object') continue;
    if (depth >= MAX_JSON_DEPTH)
      return problem(400, 'JSON_TOO_DEEP', `The request body nests objects or arrays more than ${MAX_JSON_DEPTH} levels deep.`);
    // a field's path is built only for what needs one (an object or array to walk, a key to name): every command's
    // body goes through here, and its scalar fields need none
    const fieldOf = (key: string) => (path ? `${path}.${key}` : key);
    if (Array.isArray(value)) {
      if (value.length > MAX_JSON_ITEMS) return tooWide(path, `${value.length} items`, `a list of more than ${MAX_JSON_ITEMS}`);
      for (let i = 0; i < value.length; i++) if (isWalked(value[i])) stack.push([value[i], depth + 1, fieldOf(String(i))]);
      continue;
    }
    const entries = Object.entries(value);
    if (entries.length > MAX_JSON_MEMBERS) return tooWide(path, `${entries.length} fields`, `an object of more than ${MAX_JSON_MEMBERS} fields`);
    for (const [key, child] of entries) {
      if (RESERVED_KEYS.has(key)) return reservedKey(path, key, fieldOf(key));
      if (isWalked(child)) stack.push([child, depth + 1, fieldOf(key)]);
    }
  }
  return undefined;
}

const isWalked = (value: unknown): boolean => value !== null && typeof value === 'object';

const tooWide = (path: string, size: string, limit: string): Problem =>
  problem(400, 'VALIDATION_FAILED', `The request is not valid: ${path || 'the body'} holds ${size}; no request of this API takes ${limit}.`, [
    { field: path || 'body', message: `holds ${size}: too many` },
  ]);

const reservedKey = (parent: string, key: string, field: string): Problem =>
  // a restriction is named by the client: answered like any other unknown restriction (the domain's answer)
  parent === 'restrictions'
    ? problem(422, 'INVALID_RESTRICTION', `Unknown restriction "${key}"; use the restrictions of the workspace's access model.`, [
        { field, message: 'is not a known restriction' },
      ])
    : problem(400, 'VALIDATION_FAILED', `The request is not valid: ${field} is not allowed.`, [{ field, message: 'is not allowed' }]);

/**
 * After the JSON parser: refuses bytes that are not UTF-8 (the parser would have decoded them into U+FFFD, and an
 * address would be stored garbled; `req.rawBody` is the parser's own buffer, kept by Nest's `rawBody` option), then
 * what inspectJsonBody finds.
 */
export function checkJsonBody(req: Request & { rawBody?: Buffer }, res: Response, next: NextFunction): void {
  if (req.rawBody && !isUtf8(req.rawBody))
    return send(req, res, problem(400, 'MALFORMED_JSON', 'The request body is not valid UTF-8; send JSON encoded as UTF-8.'));
  // every body of this API is one object; the parser (not strict) lets other JSON values through to be named here
  // (its strict mode answered `null` or `123` as "not valid JSON", which they are)
  const kind = req.rawBody && req.rawBody.length > 0 ? notAnObject(req.body) : undefined;
  if (kind)
    return send(req, res, problem(400, 'VALIDATION_FAILED', `The request body must be a JSON object; it is ${kind}.`, [{ field: 'body', message: 'must be a JSON object' }]));
  const refused = inspectJsonBody(req.body);
  if (refused) return send(req, res, refused);
  next();
}

/**
 * The parser of `application/json` bodies, as Express's was configured until session 33 (body-parser's json, not strict): any
 * JSON value (checkJsonBody names what is not an object), no body at all is none (`undefined`), and a body that is not
 * JSON is a 400 whose message checkJsonBody's caller (the problem filter) turns into MALFORMED_JSON without quoting it.
 */
export function parseJsonBody(_req: unknown, body: Buffer, done: (error: Error | null, value?: unknown) => void): void {
  if (body.length === 0) return done(null, undefined);
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch (error) {
    return done(new BadRequestException((error as Error).message));
  }
  done(null, value);
}

/** What a parsed JSON value is, when it is not an object. */
const notAnObject = (value: unknown): string | undefined => {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return undefined;
  return typeof value === 'number' ? 'a number' : typeof value === 'string' ? 'a string' : 'a boolean';
};

/**
 * The same guard for message-pattern payloads, which no HTTP middleware sees: a pipe that runs before validation
 * (class-transformer would recurse into a deeply nested payload, and the validation pipe drops prototype keys).
 */
@Injectable()
export class JsonPayloadGuardPipe implements PipeTransform {
  transform(value: unknown, metadata: ArgumentMetadata): unknown {
    // a payload that is not an object is named, as an HTTP body is (checkJsonBody; HTTP bodies get here as objects)
    const kind = metadata.type === 'body' && value !== undefined ? notAnObject(value) : undefined;
    if (kind)
      throw new ProblemException(
        problem(400, 'VALIDATION_FAILED', `The message payload must be a JSON object; it is ${kind}.`, [{ field: 'body', message: 'must be a JSON object' }]),
      );
    if (metadata.type === 'custom' || value === null || typeof value !== 'object') return value;
    const refused = inspectJsonBody(value);
    if (refused) throw new ProblemException(refused);
    return value;
  }
}
