// bench:presence's SSE subscribers, on a worker thread: their reading and parsing never delays the load generator's
// schedule (on the main thread), as subscribers on other machines would not. Connects `count` subscribers to the
// workspace's presence stream; for every transition each records receipt time minus the transition's `at`.
//
// Each subscriber is a raw TCP socket that sends the GET by hand and scans what arrives for the `"at":"…"` of each
// message (the chunked framing between messages is skipped over, not decoded): node:http's client parser and
// stream machinery cost more per message than the scan, and this thread shares the 2 cores with the server. What
// the thread spends is reported (its CPU time from /proc), beside the streams the server ended before the report.
// Messages: posts {type:'ready'} once all are connected; on 'report', posts {type:'report', latencies, messages,
// cpuMs, ended}.
import { readFileSync } from 'node:fs';
import { type Socket, connect } from 'node:net';
import { parentPort, workerData } from 'node:worker_threads';

interface Setup {
  url: string;
  key: string;
  admin: string;
  workspaceId: string;
  count: number;
}

const { url, key, admin, workspaceId, count } = workerData as Setup;
const target = new URL(`${url}/v1/workspaces/${workspaceId}/presence/stream`);
const REQUEST =
  `GET ${target.pathname} HTTP/1.1\r\nHost: ${target.host}\r\nAuthorization: Bearer ${key}\r\nX-Actor-Id: ${admin}\r\n` +
  'Accept: text/event-stream\r\nConnection: keep-alive\r\n\r\n';
const AT = '"at":"';

let latencies = new Float64Array(1 << 16);
let messages = 0;
let ended = 0;
let reporting = false;

function record(ms: number): void {
  if (messages === latencies.length) {
    const grown = new Float64Array(latencies.length * 2);
    grown.set(latencies);
    latencies = grown;
  }
  latencies[messages++] = ms;
}

/** this thread's CPU time (user + system) in ms: /proc/thread-self/stat, fields 14 and 15, in 10 ms ticks */
function threadCpuMs(): number {
  try {
    const fields = readFileSync('/proc/thread-self/stat', 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return Number.NaN;
  }
}

function subscribe(): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: target.hostname, port: Number(target.port) }, () => socket.write(REQUEST));
    socket.setEncoding('latin1');
    let buffer = '';
    let open = false;
    socket.on('data', (chunk: string) => {
      const now = Date.now();
      buffer += chunk;
      if (!open) {
        const head = buffer.indexOf('\r\n\r\n');
        if (head < 0) return;
        const status = /^HTTP\/1\.1 (\d{3})/.exec(buffer)?.[1];
        if (status !== '200') return reject(new Error(`subscriber: HTTP ${status}: ${buffer.slice(0, 300)}`));
        open = true;
        buffer = buffer.slice(head + 4);
        resolve(socket);
      }
      // every complete message (it ends with a blank line); a message cut by the read waits for the rest
      let start = 0;
      let end;
      while ((end = buffer.indexOf('\n\n', start)) >= 0) {
        const at = buffer.indexOf(AT, start);
        if (at >= 0 && at < end) record(now - Date.parse(buffer.slice(at + AT.length, buffer.indexOf('"', at + AT.length))));
        start = end + 2;
      }
      buffer = start === 0 ? buffer : buffer.slice(start);
    });
    socket.on('error', reject);
    socket.on('close', () => {
      if (open && !reporting) ended++;
    });
  });
}

async function main(): Promise<void> {
  const streams: Socket[] = [];
  for (let i = 0; i < count; i += 50) streams.push(...(await Promise.all(Array.from({ length: Math.min(50, count - i) }, subscribe))));
  const cpuAtReady = threadCpuMs();
  parentPort!.postMessage({ type: 'ready' });
  parentPort!.on('message', (m: { type: string }) => {
    if (m.type !== 'report') return;
    reporting = true;
    const cpuMs = threadCpuMs() - cpuAtReady;
    for (const s of streams) s.destroy();
    const out = latencies.slice(0, messages);
    parentPort!.postMessage({ type: 'report', latencies: out, messages, cpuMs, ended }, [out.buffer]);
  });
}

main().catch((error: Error) => parentPort!.postMessage({ type: 'error', message: error.message }));
