// The auditor's CLI reads the API over node:http: fetch refused the ports browsers block ("bad port"), where an API may
// listen (probe 56 F4: an API on port 6000 could not be asked for its checkpoint).
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApiError, getText } from './api-commands';

/** a port fetch refuses ("bad port") that is free here, else none */
async function listenOnABlockedPort(server: ReturnType<typeof createServer>): Promise<number | undefined> {
  for (const port of [6000, 6665, 6666, 6667, 6668, 6669, 10080, 6697]) {
    const listening = await new Promise<boolean>((resolve) => {
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => resolve(true));
    });
    if (listening) return (server.address() as AddressInfo).port;
  }
  return undefined;
}

it('probe 56 F4: reads an API listening on a port fetch refuses, with the key and the acting user; an unreachable one is named with its cause', async () => {
  const seen: Record<string, string | undefined>[] = [];
  const server = createServer((req, res) => {
    seen.push({ url: req.url, authorization: req.headers.authorization, actor: req.headers['x-actor-id'] as string | undefined });
    res.writeHead(200, { 'content-type': 'text/plain' }).end('checkpoint text');
  });
  const port = await listenOnABlockedPort(server);
  try {
    // every blocked port taken on this machine: any port shows the same client
    if (port === undefined) await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const at = (server.address() as AddressInfo).port;
    expect(await getText({ url: `http://127.0.0.1:${at}`, key: 'rk_test', actor: 'auditor-1' }, '/v1/audit/checkpoint', 'text/plain')).toBe('checkpoint text');
    expect(seen).toEqual([{ url: '/v1/audit/checkpoint', authorization: 'Bearer rk_test', actor: 'auditor-1' }]);
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
  // a port nothing listens on (another server's, closed: no kept-alive socket to it)
  const other = createServer();
  const closed = await new Promise<number>((resolve) => other.listen(0, '127.0.0.1', () => resolve((other.address() as AddressInfo).port)));
  await new Promise((resolve) => other.close(resolve));
  await expect(getText({ url: `http://127.0.0.1:${closed}` }, '/v1/audit/checkpoint')).rejects.toEqual(new ApiError(`cannot reach http://127.0.0.1:${closed}: ECONNREFUSED`));
});
