import { createServer } from 'node:net';

/**
 * Whether the ports the API will listen on are free, asked before the start creates or opens anything in the data dir:
 * a start refused for a port another process holds (exit 78) then leaves nothing behind (probe 95 F12: the data dir
 * was created and initialized, its system key generated, before the port was found taken). Listened on and let go at
 * once, as the API will listen (HTTP on every interface, TCP on the loopback); port 0 (any free port) is not asked.
 * Rejects with the listen error (EADDRINUSE, EACCES: main.ts's portProblem names the setting). A port taken between
 * this check and the real listen is refused then, as before.
 */
export async function checkPortsFree(ports: readonly { port: number; host?: string }[]): Promise<void> {
  for (const { port, host } of ports) {
    if (port === 0) continue;
    await new Promise<void>((resolve, reject) => {
      const probe = createServer();
      probe.once('error', reject);
      probe.listen({ port, ...(host !== undefined && { host }), exclusive: true }, () => probe.close(() => resolve()));
    });
  }
}
