import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { type Problem, problem } from './problem';
import { afterRequestsBefore, endAfterCompleteRequests } from '../command-path/pipelined-requests';

/**
 * Requests Node's HTTP parser refuses before any route sees them (headers over the size limit, a control character in
 * a header, a malformed request line): Node would answer with a bare status line and no body. They get a problem
 * document with a stable code like every other refusal (docs/rules.md#http-api), then the connection closes (the
 * parser cannot go on after such a request).
 */
export function answerClientErrors(server: Server): void {
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    if (error.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    // the client closed its side in the middle of a request: that request gets no answer, but those before it on the
    // connection do, then the connection ends (probe 61 F4: a complete request's answer was lost with it); at once when
    // the request cut is the one being answered (its answer would wait for a body that never comes: probe 59 F1)
    if (error.code === 'HPE_INVALID_EOF_STATE') return endAfterCompleteRequests(socket, () => socket.destroySoon());
    const body = JSON.stringify(refusalOf(error));
    // after the answers to the requests before it on the connection (pipelined): in the order they were sent
    afterRequestsBefore(socket, () => {
      if (!socket.writable) return void socket.destroy();
      socket.end(
        `HTTP/1.1 ${statusLine(error)}\r\nContent-Type: application/problem+json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
    });
  });
}

const tooLarge = (error: NodeJS.ErrnoException) => error.code === 'HPE_HEADER_OVERFLOW';
/** the request's headers or whole body took longer than the server's headersTimeout / requestTimeout (http-app.ts) */
const timedOut = (error: NodeJS.ErrnoException) => error.code === 'ERR_HTTP_REQUEST_TIMEOUT';
const statusLine = (error: NodeJS.ErrnoException) => (tooLarge(error) ? '431 Request Header Fields Too Large' : timedOut(error) ? '408 Request Timeout' : '400 Bad Request');

function refusalOf(error: NodeJS.ErrnoException): Problem {
  if (tooLarge(error))
    return problem(431, 'HEADERS_TOO_LARGE', 'The request line and headers are too large (16 KiB at most): send long searches in fewer characters.');
  // Node's own answer to it is 408; a 400 would tell the client its request was wrong, not slow (session 33's helper)
  if (timedOut(error))
    return problem(408, 'REQUEST_TIMEOUT', 'The request was not received in time (its headers within 60 s, all of it within 300 s); nothing of it was done: send it again.');
  if (error.code === 'HPE_INVALID_HEADER_TOKEN')
    return problem(400, 'VALIDATION_FAILED', 'A request header holds a character that is not allowed (a control character).', [{ field: 'headers', message: 'holds a control character' }]);
  return problem(400, 'VALIDATION_FAILED', 'The request is not valid HTTP/1.1.', [{ field: 'request', message: 'is not valid HTTP' }]);
}
