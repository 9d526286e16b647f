// What Node's HTTP parser refuses before any route, answered as a problem document: here the requests that time out,
// over a real server and socket (Node checks its timeouts every `connectionsCheckingInterval`: shortened here, with
// the timeouts, so the test waits ~1 s rather than the API's 60 s and 300 s; the API's own are pinned in
// test/http-server.e2e-spec.ts).
import { type Server, createServer } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import { answerClientErrors } from './client-errors';
import { oneRequestAtATime } from '../command-path/pipelined-requests';

let server: Server;
beforeAll(async () => {
  server = createServer(
    { headersTimeout: 400, requestTimeout: 800, connectionsCheckingInterval: 100 },
    // one request at a time per connection, as the API's server hands them on (http-app.ts): the line a request's own
    // refusal once waited behind (probe 59)
    oneRequestAtATime((req, res) => {
      // answered once the whole body arrived, as the API's routes are (`/slow` 100 ms later, as a write takes time)
      req.on('end', () => (req.url === '/slow' ? setTimeout(() => res.end('ok'), 100) : res.end('ok'))).resume();
    }),
  );
  server.removeAllListeners('clientError');
  answerClientErrors(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

/** writes `parts` to a new connection, then reads until the server closes it */
function exchange(parts: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect((server.address() as AddressInfo).port, '127.0.0.1', () =>
      parts.forEach((p) => socket.write(p)),
    );
    let answer = '';
    socket.setEncoding('utf8').on('data', (d: string) => (answer += d));
    socket.on('close', () => resolve(answer)).on('error', reject);
  });
}

const problemOf = (answer: string) =>
  JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as {
    status: number;
    code: string;
    detail: string;
  };

describe('a request that does not arrive in time', () => {
  it('its headers unfinished past headersTimeout: 408 REQUEST_TIMEOUT, a problem document, the connection closed', async () => {
    const answer = await exchange(['GET /health HTTP/1.1\r\nHost: x\r\n']);
    expect(answer.split('\r\n')[0]).toBe('HTTP/1.1 408 Request Timeout');
    expect(answer).toMatch(/\r\nContent-Type: application\/problem\+json\r\n/);
    expect(problemOf(answer)).toEqual(
      expect.objectContaining({
        status: 408,
        // the status's phrase, as every problem's (probe 36 F5: "Error")
        title: 'Request Timeout',
        code: 'REQUEST_TIMEOUT',
        detail: expect.stringContaining('send it again'),
      }),
    );
  });

  it('its body unfinished past requestTimeout: 408 REQUEST_TIMEOUT as well', async () => {
    const answer = await exchange([
      'POST /x HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"a":',
    ]);
    expect(answer.split('\r\n')[0]).toBe('HTTP/1.1 408 Request Timeout');
    expect(problemOf(answer).code).toBe('REQUEST_TIMEOUT');
  });

  it('a request that arrives in time is answered by the route', async () => {
    expect(await exchange(['GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'])).toMatch(
      /^HTTP\/1\.1 200 OK[\s\S]*ok$/,
    );
  });
});

describe('a client that goes away in the middle of its request (probe 59: the socket stayed open for good, CLOSE-WAIT)', () => {
  it('its body cut short by the end of its side of the connection: the server closes the connection at once, answering nothing', async () => {
    const port = (server.address() as AddressInfo).port;
    const socket = connect(port, '127.0.0.1', () => socket.end('POST /x HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"tok'));
    let answer = '';
    socket.setEncoding('utf8').on('data', (d: string) => (answer += d));
    const closed = await new Promise<number>((resolve) => {
      const started = performance.now();
      socket.on('close', () => resolve(performance.now() - started)).on('error', () => undefined);
    });
    expect(answer).toBe('');
    // well before the request timeout (800 ms here) would have ended it
    expect(closed).toBeLessThan(500);
    for (const deadline = Date.now() + 2000; Date.now() < deadline; ) {
      if ((await new Promise<number>((resolve) => server.getConnections((_, n) => resolve(n)))) === 0) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(await new Promise<number>((resolve) => server.getConnections((_, n) => resolve(n)))).toBe(0);
  });

  it('a complete request before the cut one on the connection is answered first, then the connection ends (probe 61 F4: its answer was lost)', async () => {
    const port = (server.address() as AddressInfo).port;
    const socket = connect(port, '127.0.0.1', () =>
      socket.end('POST /slow HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}POST /y HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"tok'),
    );
    let answer = '';
    socket.setEncoding('utf8').on('data', (d: string) => (answer += d));
    await new Promise<void>((resolve) => socket.on('close', () => resolve()).on('error', () => undefined));
    expect(answer).toMatch(/^HTTP\/1\.1 200 OK[\s\S]*ok$/);
    expect(answer.match(/HTTP\/1\.1/g)).toHaveLength(1);
  });
});
