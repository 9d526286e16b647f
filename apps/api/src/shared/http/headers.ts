import { ID_PATTERN } from './id-pattern';

/** OpenAPI descriptions of the headers every write shares. */
/** a user id as X-Actor-Id takes it (auth.ts refuses anything else: stated in OpenAPI, probe 50 F2) */
export const ACTOR_ID_SCHEMA = { type: 'string' as const, pattern: ID_PATTERN.source };
export const ACTOR_HEADER = { name: 'X-Actor-Id', required: true, description: 'the user on whose behalf the console acts', schema: ACTOR_ID_SCHEMA };
/** a log position as a header carries one (X-Min-Position, Last-Event-ID): decimal digits */
export const POSITION_HEADER_SCHEMA = { type: 'string' as const, pattern: '^\\d{1,19}$' };
/** an Idempotency-Key the server takes: 1 to 255 visible ASCII characters (RFC 9110 token-like; stated in OpenAPI: probe 49 F5) */
export const IDEMPOTENCY_KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;
export const IDEMPOTENCY_HEADER = {
  name: 'Idempotency-Key',
  required: false,
  description: 'retrying with the same key returns the first answer and appends nothing; every id the write creates derives from it. 1 to 255 visible ASCII characters (no space, no letter outside ASCII: derive keys from ids, not from addresses or names)',
  schema: { type: 'string' as const, minLength: 1, maxLength: 255, pattern: '^[\\x21-\\x7e]+$' },
};

/**
 * How many times a header was sent (`name` lower-case), from Node's raw header list: Node keeps the first of a
 * singleton header (Authorization, Content-Type) and drops the others, and `headersDistinct` builds an object of
 * arrays for every header of every request to tell (probe 36 F3).
 */
export function timesSent(rawHeaders: readonly string[], name: string): number {
  let sent = 0;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const header = rawHeaders[i]!;
    if (header.length === name.length && header.toLowerCase() === name) sent++;
  }
  return sent;
}
