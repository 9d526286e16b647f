import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;
type Line = {
  busy: boolean;
  /** the request being answered (while busy) */
  current?: IncomingMessage;
  waiting: [IncomingMessage, ServerResponse][];
  /** what runs once every request before it was answered */
  afterwards?: () => void;
  /** the client closed its side in the middle of the last request parsed: that one never comes whole */
  cut?: boolean;
};
const LINE = Symbol('requests pipelined on this connection');

/**
 * HTTP/1.1 pipelining, one request at a time per connection (probe 36 F1). Node hands the app every request it has
 * parsed from a connection at once, and sends their answers in order; when one answer closes the connection (a
 * body that is not JSON, or too large: Fastify answers it with `Connection: close`, since the rest of a body may
 * still be coming), the requests pipelined behind it had already run, and their answers were lost with the
 * connection: writes done that the client was never told of. RFC 9112 §9.6: a server that sends `close` "MUST NOT
 * process any further requests received on that connection". So a request is handed on only once the answer before
 * it on the connection is finished, and none is once an answer closed it (the client sends them again on a new
 * connection, as for any request it got no answer to). A client that does not pipeline (nearly all: one request per
 * connection at a time) never waits here.
 */
export function oneRequestAtATime(handle: Handler): Handler {
  return (req, res) => {
    const socket = req.socket as Socket & { [LINE]?: Line };
    const line = (socket[LINE] ??= { busy: false, waiting: [] });
    if (line.busy) line.waiting.push([req, res]);
    else run(line, handle, req, res);
  };
}

function run(line: Line, handle: Handler, req: IncomingMessage, res: ServerResponse): void {
  line.busy = true;
  line.current = req;
  // a response emits `close` once: after its `finish` (the answer sent), or when its connection went first
  res.on('close', () => {
    line.busy = false;
    line.current = undefined;
    // an answer that closes the connection (or a connection that closed) ends the line: nothing behind it runs
    if (!res.shouldKeepAlive || res.getHeader('connection') === 'close' || req.socket.destroyed) {
      line.waiting.length = 0;
      line.afterwards = undefined;
      return;
    }
    let following = line.waiting.shift();
    // the request the client's end cut short is not run: its answer would wait for a body that never comes
    if (following && line.cut && !following[0].complete) {
      line.waiting.length = 0;
      following = undefined;
    }
    if (following) run(line, handle, following[0], following[1]);
    else if (line.afterwards) {
      const afterwards = line.afterwards;
      line.afterwards = undefined;
      afterwards();
    }
  });
  handle(req, res);
}

/**
 * Runs `answer` once every request parsed from the connection before it was answered: Node's refusal of what follows
 * them (a malformed request, answerClientErrors) is written to the socket itself, and written at once it came before
 * the answers still being made, which were then lost with the connection (probe 36b #1: a write done, its client
 * told "not valid HTTP/1.1"). Not at all if one of those answers closed the connection. At once when the request
 * being answered has not come whole: the parser reads a connection's requests in order, so the error is that request's
 * own (its body cut short by the client, or past the request timeout), and its answer waits for a body that never
 * comes: deferred behind it, nothing was answered and the socket stayed open for good (probe 59: CLOSE-WAIT sockets
 * until the open-files limit, a stop that never ended, no 408 past 300 s).
 */
export function afterRequestsBefore(socket: Socket, answer: () => void): void {
  const line = (socket as Socket & { [LINE]?: Line })[LINE];
  if (line?.busy && line.current?.complete !== false) line.afterwards = answer;
  else answer();
}

/**
 * The client closed its side of the connection in the middle of a request (HPE_INVALID_EOF_STATE): the complete
 * requests before it are answered, then `end` runs; the cut one is not run (probe 61 F4: a complete request's answer
 * was lost with the connection; probe 59 F1: waiting for the cut one's body held the socket for good).
 */
export function endAfterCompleteRequests(socket: Socket, end: () => void): void {
  const line = (socket as Socket & { [LINE]?: Line })[LINE];
  if (line) line.cut = true;
  afterRequestsBefore(socket, end);
}
