import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { type LogLevel, createLogger, markRoutineAnswer, redactUrl, requestLogging } from './logging';
import { captureLogLines } from './shared/testing/log-capture';
import { LINES_PER_WINDOW } from './logging-refusals';

const capture = captureLogLines;

/** a bare HTTP server whose every request goes through requestLogging, then `handle` */
async function serve(level: LogLevel, handle: (req: IncomingMessage & { log: Logger }, res: ServerResponse) => void) {
  const out = capture();
  const middleware = requestLogging(createLogger('api', { level, format: 'json' }, out.stream));
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) =>
    middleware(req, res, () => handle(req as IncomingMessage & { log: Logger }, res)),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const send = async (path: string, requestId: string) => {
    const reply = await fetch(`${url}${path}`, { method: 'POST', headers: { 'x-request-id': requestId } });
    await reply.text();
    await new Promise((r) => setTimeout(r, 20)); // the line is written when the response finishes
    return reply;
  };
  return { lines: out.lines, send, url, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

describe('requestLogging', () => {
  it("binds the request id to the request's logger as pino's child() would, and writes one request line", async () => {
    const http = await serve('info', (req, res) => {
      req.log.info({ context: 'Handler', detail: { apiKey: 'k-secret' } }, 'inside');
      res.statusCode = 201;
      res.end('ok');
    });
    try {
      const reply = await http.send('/v1/things?token=t-secret', 'req-1');
      expect(reply.headers.get('x-request-id')).toBe('req-1');
      const [inside, line] = http.lines;
      expect(http.lines).toHaveLength(2);
      // the same line as a child made by pino (bindings after the base fields, redaction applied to the logged object)
      const reference = capture();
      createLogger('api', { level: 'info', format: 'json' }, reference.stream).child({ requestId: 'req-1' }).info({ context: 'Handler', detail: { apiKey: 'k-secret' } }, 'inside');
      await new Promise((r) => setImmediate(r));
      const { time: _t1, ...mine } = inside!;
      const { time: _t2, ...theirs } = reference.lines[0]!;
      expect(JSON.stringify(mine)).toBe(JSON.stringify(theirs));
      expect(line).toMatchObject({ level: 'info', requestId: 'req-1', method: 'POST', route: null, url: '/v1/things?token=[Redacted]', status: 201, durationMs: expect.any(Number), msg: 'POST /v1/things?token=[Redacted] 201' });
    } finally {
      await http.close();
    }
  });

  it('probe 69 F9: the request line names who made it — the organization, the key, the acting user (not an id holding an @)', async () => {
    const http = await serve('info', (req, res) => {
      // as the API key check leaves it on Node's request (shared/auth.ts)
      (req as IncomingMessage & { principal?: unknown }).principal = req.url === '/system' ? { kind: 'system' } : { kind: 'organization', organizationId: 'org-1', keyId: 'k-2' };
      res.end('ok');
    });
    try {
      for (const [path, actor] of [['/export', 'user-7'], ['/export', 'jane@acme.test'], ['/system', 'user-7']]) await (await fetch(`${http.url}${path}`, { headers: { 'x-actor-id': actor! } })).text();
      await new Promise((r) => setTimeout(r, 20));
      expect(http.lines.map(({ organizationId, keyId, actorId }) => ({ organizationId, keyId, actorId }))).toEqual([
        { organizationId: 'org-1', keyId: 'k-2', actorId: 'user-7' },
        { organizationId: 'org-1', keyId: 'k-2', actorId: undefined },
        // the system key acts as the operator, whatever X-Actor-Id says (probe 81 F7)
        { organizationId: undefined, keyId: 'system', actorId: 'system' },
      ]);
      expect(JSON.stringify(http.lines)).not.toContain('jane@acme.test');
    } finally {
      await http.close();
    }
  });

  it('probe 108 F3: a routine success (markRoutineAnswer) is a debug line; a routine refusal is still a warning', async () => {
    for (const level of ['info', 'debug'] as const) {
      const http = await serve(level, (req, res) => {
        if (req.url !== '/plain') markRoutineAnswer({ raw: res });
        res.statusCode = req.url === '/refused' ? 409 : 200;
        res.end();
      });
      try {
        for (const path of ['/plain', '/routine', '/refused']) await http.send(path, `${level}${path}`);
        expect(http.lines.map((l) => [l.requestId, l.level])).toEqual([
          [`${level}/plain`, 'info'],
          ...(level === 'debug' ? [[`${level}/routine`, 'debug']] : []),
          [`${level}/refused`, 'warn'],
        ]);
      } finally {
        await http.close();
      }
    }
  });

  it('at LOG_LEVEL=error writes a line only for a failure', async () => {
    const http = await serve('error', (req, res) => {
      res.statusCode = req.url === '/fail' ? 500 : req.url === '/refuse' ? 409 : 200;
      res.end();
    });
    try {
      await http.send('/ok', 'ok-1');
      await http.send('/refuse', 'refuse-1');
      await http.send('/fail', 'fail-1');
      expect(http.lines).toEqual([expect.objectContaining({ level: 'error', requestId: 'fail-1', status: 500 })]);
      expect(http.lines[0]).not.toHaveProperty('err');
    } finally {
      await http.close();
    }
  });
});

describe('requestLogging of 401 answers', () => {
  it('logs the first 401s of a client address one by one, then counts them (probe 59 F9); other statuses are all logged', async () => {
    const http = await serve('info', (req, res) => {
      res.statusCode = req.url === '/wrong-key' ? 401 : 409;
      res.end();
    });
    try {
      for (let i = 0; i < LINES_PER_WINDOW + 5; i++) await http.send('/wrong-key', `wrong-${i}`);
      for (let i = 0; i < LINES_PER_WINDOW + 5; i++) await http.send('/conflict', `conflict-${i}`);
      const statuses = http.lines.map((l) => l.status);
      expect(statuses.filter((s) => s === 401)).toHaveLength(LINES_PER_WINDOW);
      expect(statuses.filter((s) => s === 409)).toHaveLength(LINES_PER_WINDOW + 5);
    } finally {
      await http.close();
    }
  });
});

describe('redactUrl (the url of a request line)', () => {
  it('shows ids, words and the documented harmless parameters; redacts other values, addresses and keys, deny by default', () => {
    const ws = '6d07f134-a108-51ba-9d5d-94e3a46f41a7';
    expect(redactUrl(`/v1/workspaces/${ws}/members`)).toBe(`/v1/workspaces/${ws}/members`);
    expect(redactUrl(`/v1/workspaces/${ws}/history?from=2026-01-01T00:00:00.000Z&limit=5&userId=u-1`)).toBe(`/v1/workspaces/${ws}/history?from=2026-01-01T00:00:00.000Z&limit=5&userId=u-1`);
    expect(redactUrl(`/v1/workspaces/${ws}/members?q=ada%40acme.test&cursor=abc&token=t&ticket=t&api_key=rk_x&limit=1`)).toBe(
      `/v1/workspaces/${ws}/members?q=[Redacted]&cursor=[Redacted]&token=[Redacted]&ticket=[Redacted]&api_key=[Redacted]&limit=1`,
    );
    expect(redactUrl('/v1/workspaces/ada@acme.test/members')).toBe('/v1/workspaces/[Redacted]/members');
    expect(redactUrl(`/x/rk_${ws}_${ws}_secret`)).toBe('/x/[Redacted]');
    expect(redactUrl('/x/rk_short')).toBe('/x/[Redacted]');
    expect(redactUrl(`/x?${'k'.repeat(40)}`)).toBe('/x?[Redacted]');
    expect(redactUrl('/x?flag&limit=2')).toBe('/x?flag&limit=2');
    // an address where an id goes is not shown either
    expect(redactUrl('/x?userId=ada%40acme.test&actorId=ada@acme.test&limit=2')).toBe('/x?userId=[Redacted]&actorId=[Redacted]&limit=2');
  });
});
