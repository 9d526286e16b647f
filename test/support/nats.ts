// nats-server for the e2e tests that need one: Debian's (`apt-get install nats-server`; CI installs it), on a free port.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createServer } from 'node:net';

/** the nats-server binary on the PATH, if any */
export const natsBinary = (() => {
  try {
    return execFileSync('sh', ['-c', 'command -v nats-server'], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
})();

/** a TCP port nothing listens on now (on loopback) */
export const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

/** starts nats-server on loopback with `args` (e.g. `-c conf`), on `port` or a free one; resolves once it accepts connections */
export async function startNats(args: string[] = [], port?: number): Promise<{ url: string; process: ChildProcess }> {
  port ??= await freePort();
  const process = spawn(natsBinary!, [...args, '-a', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 300));
  return { url: `nats://127.0.0.1:${port}`, process };
}
