// Starts the real API in a child process (its own event loop, so the load generator and the server do
// not share one), exactly as an operator would from source:
//   node --no-experimental-strip-types -r ./tools/register.cjs apps/api/src/main.ts
// and parses the URL it prints (`Rollcall API on http://…`). Stopping sends SIGTERM (Nest's shutdown hooks
// close the stores), then SIGKILL after a grace period.
//
// The child also preloads ./http-child-hook.ts (it exits when the bench's stdin pipe closes, so it never
// outlives the bench, and turns SIGUSR2 into a normal exit).
//
// Profiling: extra node flags for the child come from BENCH_HTTP_SERVER_NODE_ARGS (e.g.
// "--cpu-prof --cpu-prof-dir=/tmp/prof"). A CPU profile is only written on a normal exit, so stop()
// sends SIGUSR2 instead of SIGTERM then.
import { loadLocalSecrets } from '../../apps/api/src/shared/secrets';
import { type ChildProcess, spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NODE_FLAGS } from '../../apps/api/src/infrastructure/node-flags';

/**
 * BENCH_HTTP_SERVER_ENV="K=V K2=V2": extra environment for a bench's server child (experiments, e.g.
 * ROLLCALL_DURABILITY=normal or ROLLCALL_COMMIT_THREAD=off), after the bench's own.
 */
export const serverEnvOverrides = (): Record<string, string> =>
  Object.fromEntries(
    (process.env.BENCH_HTTP_SERVER_ENV ?? '')
      .split(/\s+/)
      .filter(Boolean)
      .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
  );

/** The environment a bench's server child inherits: this one, without what would change the setup (stores, transports, ports, logging). */
export const inheritedEnv = (): Record<string, string> =>
  Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(ROLLCALL_|EVENTSTORE_URL|MONGO_URL|NATS_URL|SMTP_URL|PORT$|LOG_LEVEL$)/.test(k))) as Record<
    string,
    string
  >;

/**
 * A bench's temp data dir (`rollcall-bench-<name>-…`) and its cleanup: closes the client and stops the server child
 * that `running()` names at the moment, then removes the dir; also on SIGINT/SIGTERM (exit 130).
 */
export function benchDataDir(name: string, running: () => { server?: ServerChild; client?: { close(): void } }): { dataDir: string; cleanup: () => Promise<void> } {
  const dataDir = mkdtempSync(join(tmpdir(), `rollcall-bench-${name}-`));
  // the secrets a first start writes, before the bench seeds events straight into the log: a data dir whose log holds
  // events without them is refused as one that lost them (probe 62 F7)
  loadLocalSecrets(dataDir, {});
  const cleanup = async () => {
    const { server, client } = running();
    client?.close();
    await server?.stop().catch(() => undefined);
    rmSync(dataDir, { recursive: true, force: true });
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const)
    process.once(signal, () => {
      process.stderr.write(`${signal}: stopping the server and removing ${dataDir}\n`);
      void cleanup().finally(() => process.exit(130));
    });
  return { dataDir, cleanup };
}

export interface ServerChild {
  url: string;
  pid: number;
  /** stderr collected so far (the trace lines, a crash) */
  stderr(): string;
  /** the JSON log lines (stdout) after the start banner, the last 2,000 (LOG_LEVEL=error: errors only) */
  logLines(): string[];
  /** asks the child (BENCH_HTTP_TRACE=1) to print its trace figures since the previous mark (see http-child-hook.ts) */
  mark(label: string): void;
  /** CPU time the child used so far: all its threads, and its main thread alone (Linux /proc; undefined elsewhere) */
  cpu(): CpuTimes | undefined;
  stop(): Promise<void>;
}

const ROOT = join(__dirname, '..', '..');

export interface CpuTimes {
  processMs: number;
  mainThreadMs: number;
  /** the API's projector thread (its OS thread is named `projector`); 0 where there is none */
  projectorThreadMs: number;
  /** the event store's commit thread (named `commit`); 0 where there is none */
  commitThreadMs: number;
  /**
   * How long the main thread was runnable but waited for a core (/proc schedstat's run delay, in ms), and when this was
   * read (performance.now()): the share of the window it waited says whether the serial part was short of CPU time
   * of its own or of a core (session 35: ~30 % of the measured window, with both cores shared by the server's threads)
   */
  mainThreadWaitMs: number;
  atMs: number;
}

/** USER_HZ: the unit of /proc's CPU times on Linux */
const TICK_MS = 10;

/** user + system time of a /proc stat file, in ms (fields 14 and 15; the name in parentheses may hold spaces) */
const statCpuMs = (file: string): number => {
  const fields = readFileSync(file, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
};

/** the CPU time of a process's threads of that name (a thread gone since is no longer counted) */
const namedThreadsCpuMs = (pid: number, name: string): number => {
  let ms = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      if (readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim() === name) ms += statCpuMs(`/proc/${pid}/task/${tid}/stat`);
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return ms;
};

/** a process's CPU time so far, and its main thread's; undefined without /proc (not Linux) or once it is gone */
export function cpuTimesOf(pid: number): CpuTimes | undefined {
  try {
    return {
      processMs: statCpuMs(`/proc/${pid}/stat`),
      mainThreadMs: statCpuMs(`/proc/${pid}/task/${pid}/stat`),
      projectorThreadMs: namedThreadsCpuMs(pid, 'projector'),
      commitThreadMs: namedThreadsCpuMs(pid, 'commit'),
      mainThreadWaitMs: Number(readFileSync(`/proc/${pid}/task/${pid}/schedstat`, 'utf8').split(' ')[1]) / 1e6,
      atMs: performance.now(),
    };
  } catch {
    return undefined;
  }
}

/**
 * `env` is the child's whole environment (nothing else is inherited). `entry` / `banner`: another server to start (the
 * bare-append endpoint, lib/bare-append-server.ts) and the line it prints with its URL.
 */
export async function startServerChild(
  env: Record<string, string>,
  startTimeoutMs = 120_000,
  { entry = 'apps/api/src/main.ts', banner = /Rollcall API on (http:\/\/[^\s]+)/ } = {},
): Promise<ServerChild> {
  const extra = (process.env.BENCH_HTTP_SERVER_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);
  const profiling = extra.some((a) => a.startsWith('--cpu-prof') || a.startsWith('--heap-prof'));
  // the flags the API ships with (npm start, the image): the bare endpoint gets them too, to compare like with like
  const args = [
    ...NODE_FLAGS,
    ...extra,
    '--no-experimental-strip-types',
    '-r',
    './tools/register.cjs',
    '-r',
    './bench/lib/http-child-hook.ts',
    entry,
  ];
  const child: ChildProcess = spawn(process.execPath, args, {
    cwd: ROOT,
    env,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  // BENCH_HTTP_CHILD_STDOUT=<path> (diagnosis): a copy of the child's whole stdout, e.g. with --trace-gc-nvp
  const stdoutCopy = process.env.BENCH_HTTP_CHILD_STDOUT;
  let out = '';
  let err = '';
  const logs: string[] = [];
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    err += d;
    if (err.length > 200_000) err = err.slice(-100_000);
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`server did not start within ${startTimeoutMs} ms\n${err}`)),
      startTimeoutMs,
    );
    let listening = false;
    let partial = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      if (stdoutCopy) appendFileSync(stdoutCopy, d);
      if (listening) {
        // after the banner: keep the log lines, bounded (the server may log for as long as the bench runs)
        const lines = (partial + d).split('\n');
        partial = lines.pop()!;
        logs.push(...lines.filter(Boolean));
        if (logs.length > 2000) logs.splice(0, logs.length - 2000);
        return;
      }
      out += d;
      const m = banner.exec(out);
      if (m) {
        listening = true;
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with code ${code} before listening\n${out}\n${err}`));
    });
  });

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill(profiling ? 'SIGUSR2' : 'SIGTERM');
      const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 15_000).unref());
      if ((await Promise.race([exited, timeout])) === 'timeout') {
        child.kill('SIGKILL');
        await exited;
      }
    })());
  const mark = (label: string) => {
    if (child.stdin?.writable) child.stdin.write(`mark ${label}\n`);
  };
  return { url, pid: child.pid!, stderr: () => err, logLines: () => [...logs], mark, cpu: () => cpuTimesOf(child.pid!), stop };
}
