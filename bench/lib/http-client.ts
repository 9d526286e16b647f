// A lean JSON client for the HTTP bench: node:http over a keep-alive agent (one socket per concurrent
// client, reused), timed from the request's start to its response's last byte. Cheaper per request than
// fetch, so the load generator (which shares the machine with the server) stays out of the figures.
import { Agent, request } from 'node:http';

export interface Reply {
  status: number;
  /** parsed JSON when the body is JSON, else the raw text (undefined when empty) */
  body: any;
  /** milliseconds from issuing the request to the response's last byte */
  ms: number;
}

export interface Call {
  key?: string;
  actor?: string;
  body?: unknown;
  headers?: Record<string, string>;
}

export class JsonClient {
  private readonly agent: Agent;
  private readonly host: string;
  private readonly port: number;
  /** requests sent again because the server had just closed their idle keep-alive socket */
  staleSocketRetries = 0;

  constructor(baseUrl: string, sockets: number) {
    const url = new URL(baseUrl);
    this.host = url.hostname;
    this.port = Number(url.port);
    this.agent = new Agent({
      keepAlive: true,
      maxSockets: sockets,
      maxFreeSockets: sockets,
      scheduling: 'lifo',
    });
  }

  /** `startedAt`: a re-sent request keeps the first attempt's start, so its latency includes the lost attempt */
  send(method: string, path: string, call: Call = {}, retries = 1, startedAt?: number): Promise<Reply> {
    const headers: Record<string, string | number> = { ...call.headers };
    if (call.key) headers.authorization = `Bearer ${call.key}`;
    if (call.actor) headers['x-actor-id'] = call.actor;
    let payload: Buffer | undefined;
    if (call.body !== undefined) {
      payload = Buffer.from(JSON.stringify(call.body));
      headers['content-type'] = 'application/json';
      headers['content-length'] = payload.length;
    }
    return new Promise<Reply>((resolve, reject) => {
      const started = startedAt ?? performance.now();
      const req = request(
        { host: this.host, port: this.port, method, path, headers, agent: this.agent },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            const ms = performance.now() - started;
            const text = Buffer.concat(chunks).toString('utf8');
            let body: any = text || undefined;
            if (text && /json/.test(String(res.headers['content-type']))) {
              try {
                body = JSON.parse(text);
              } catch {
                /* keep the text */
              }
            }
            resolve({ status: res.statusCode ?? 0, body, ms });
          });
        },
      );
      req.on('error', (error: NodeJS.ErrnoException) => {
        // The server closed an idle keep-alive socket just as it was reused: the request never reached it
        // (Node's documented pattern), so sending it again on a fresh socket is safe.
        if (req.reusedSocket && error.code === 'ECONNRESET' && retries > 0) {
          this.staleSocketRetries++;
          this.send(method, path, call, retries - 1, started).then(resolve, reject);
        } else reject(error);
      });
      req.end(payload);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

export const tokenOf = (inviteUrl: string): string => {
  const token = new URL(inviteUrl).searchParams.get('token');
  if (!token) throw new Error(`no token in ${inviteUrl}`);
  return token;
};
