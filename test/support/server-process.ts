import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { NODE_FLAGS } from '../../apps/api/src/infrastructure/node-flags';
import { Api, SYSTEM_KEY } from './api';

const root = join(__dirname, '..', '..');

/** A real API server (apps/api/src/main.ts) in its own process, as an operator runs it. */
export interface ServerProcess {
  child: ChildProcess;
  api: Api;
  url: string;
  /** stdout and stderr so far (for failure messages) */
  output(): string;
  /** resolves with the exit code (or signal) once the process is gone */
  exited: Promise<number | string>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once it exited */
  stop(graceMs?: number): Promise<number | string>;
}

export interface ServerOptions {
  dataDir: string;
  env?: Record<string, string>;
  /** how long to wait for the "Rollcall API on" line (default 30 s) */
  startTimeoutMs?: number;
}

/**
 * Starts the server from the TypeScript sources on random ports over `dataDir`. Rejects with the output when it
 * exits before listening (a refused start) or does not listen in time.
 */
export function startServer({ dataDir, env = {}, startTimeoutMs = 30_000 }: ServerOptions): Promise<ServerProcess> {
  const child = spawn(process.execPath, [...NODE_FLAGS, '--no-experimental-strip-types', '-r', join(root, 'tools/register.cjs'), join(root, 'apps/api/src/main.ts')], {
    cwd: root,
    env: {
      ...process.env,
      PORT: '0',
      ROLLCALL_TCP_PORT: '0',
      ROLLCALL_DATA_DIR: dataDir,
      ROLLCALL_SYSTEM_API_KEY: SYSTEM_KEY,
      ROLLCALL_PUBLIC_URL: 'https://console.acme.test',
      LOG_LEVEL: 'error',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const exited = new Promise<number | string>((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')));
  child.stdout!.on('data', (chunk) => (out += chunk));
  child.stderr!.on('data', (chunk) => (out += chunk));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`server did not start in ${startTimeoutMs} ms:\n${out}`));
    }, startTimeoutMs);
    const onData = () => {
      const m = /Rollcall API on (http:\/\/[\d.]+:\d+)/.exec(out);
      if (!m) return;
      clearTimeout(timer);
      child.stdout!.off('data', onData);
      const url = m[1]!;
      resolve({
        child,
        api: new Api(url),
        url,
        output: () => out,
        exited,
        stop: async (graceMs = 10_000) => {
          if (child.exitCode !== null || child.signalCode !== null) return exited;
          child.kill('SIGTERM');
          const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
          const result = await exited;
          clearTimeout(timer);
          return result;
        },
      });
    };
    child.stdout!.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before listening:\n${out}`));
    });
  });
}

/**
 * Starts `count` servers over one data dir at once, as an orchestrator starts replicas. If any of them fails to
 * start, the others are stopped before the error is thrown (no process outlives the test).
 */
export async function startServers(count: number, options: ServerOptions): Promise<ServerProcess[]> {
  const results = await Promise.allSettled(Array.from({ length: count }, () => startServer(options)));
  const failed = results.find((r) => r.status === 'rejected');
  const started = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  if (failed) {
    await Promise.all(started.map((s) => s.stop()));
    throw failed.reason;
  }
  return started;
}

/** The size and root lines of the replica's latest checkpoint, once it covers `size` entries (polled for up to 20 s). */
export async function auditCheckpoint(server: ServerProcess, size: bigint): Promise<string[]> {
  for (const deadline = Date.now() + 20_000; ; ) {
    const reply = await server.api.request('GET', '/v1/audit/checkpoint', { key: SYSTEM_KEY });
    const lines = typeof reply.body === 'string' ? reply.body.split('\n') : [];
    if (reply.status === 200 && BigInt(lines[1] ?? 0) >= size) return lines.slice(1, 3);
    if (Date.now() > deadline) throw new Error(`no checkpoint of ${size} entries: ${reply.status} ${JSON.stringify(reply.body)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
