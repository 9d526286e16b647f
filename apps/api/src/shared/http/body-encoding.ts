import type { Readable } from 'node:stream';
import { createGunzip, createInflate } from 'node:zlib';
import { ProblemException, problem } from './problem';

/**
 * Fastify's `preParsing` step for a request body sent with a Content-Encoding, as Express's body reading treated it
 * until session 33: gzip and deflate are inflated (bytes that do not inflate are a 400 MALFORMED_JSON, problem.ts),
 * identity is the body as it is, anything else is a 415. The body limit applies to the inflated body, the
 * Content-Length to the bytes sent (`receivedEncodedLength`, which Fastify compares with it).
 */
export function inflatedBody(header: string | undefined, payload: Readable, done: (error: Error | null, body?: Readable) => void): void {
  const encoding = header?.trim().toLowerCase();
  if (!encoding || encoding === 'identity') return done(null, payload);
  const inflate = encoding === 'gzip' ? createGunzip() : encoding === 'deflate' ? createInflate() : undefined;
  if (!inflate)
    return done(
      new ProblemException(
        problem(415, 'UNSUPPORTED_MEDIA_TYPE', `The request body's Content-Encoding ${JSON.stringify(encoding.slice(0, 40))} is not supported: send it as it is, or gzip or deflate it.`),
      ),
    );
  const counted = inflate as typeof inflate & { receivedEncodedLength: number };
  counted.receivedEncodedLength = 0;
  payload.on('data', (chunk: Buffer) => void (counted.receivedEncodedLength += chunk.length));
  payload.on('error', (error) => inflate.destroy(error));
  done(null, payload.pipe(inflate));
}
