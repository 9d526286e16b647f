// bench:presence's SSE subscribers, on a worker thread: their reading and parsing never delays the load generator's
// schedule (on the main thread), as subscribers on other machines would not. Connects `count` subscribers to the
// workspace's presence stream; for every transition each records receipt time minus the transition's `at`.
// Messages: posts {type:'ready'} once all are connected; on 'report', posts {type:'report', latencies, messages}.
import { Agent, type IncomingMessage, request } from 'node:http';
import { parentPort, workerData } from 'node:worker_threads';

interface Setup {
  url: string;
  key: string;
  admin: string;
  workspaceId: string;
  count: number;
}

const { url, key, admin, workspaceId, count } = workerData as Setup;
const agent = new Agent({ keepAlive: false, maxSockets: Infinity });
let latencies = new Float64Array(1 << 16);
let messages = 0;

function record(ms: number): void {
  if (messages === latencies.length) {
    const grown = new Float64Array(latencies.length * 2);
    grown.set(latencies);
    latencies = grown;
  }
  latencies[messages++] = ms;
}

function subscribe(): Promise<IncomingMessage> {
  const target = new URL(`${url}/v1/workspaces/${workspaceId}/presence/stream`);
  return new Promise((resolve, reject) => {
    const req = request(
      { host: target.hostname, port: target.port, path: target.pathname, agent, headers: { authorization: `Bearer ${key}`, 'x-actor-id': admin, accept: 'text/event-stream' } },
      (res) => {
        if (res.statusCode !== 200) return reject(new Error(`subscriber: HTTP ${res.statusCode}`));
        let buffer = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          const now = Date.now();
          buffer += chunk;
          let end;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const frame = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const at = /"at":"([^"]+)"/.exec(frame);
            if (at) record(now - Date.parse(at[1]!));
          }
        });
        resolve(res);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

async function main(): Promise<void> {
  const streams: IncomingMessage[] = [];
  for (let i = 0; i < count; i += 50) streams.push(...(await Promise.all(Array.from({ length: Math.min(50, count - i) }, subscribe))));
  parentPort!.postMessage({ type: 'ready' });
  parentPort!.on('message', (m: { type: string }) => {
    if (m.type !== 'report') return;
    for (const s of streams) s.destroy();
    agent.destroy();
    const out = latencies.slice(0, messages);
    parentPort!.postMessage({ type: 'report', latencies: out, messages }, [out.buffer]);
  });
}

main().catch((error: Error) => parentPort!.postMessage({ type: 'error', message: error.message }));
