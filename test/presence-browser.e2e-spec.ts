// Rule 13 (docs/rules.md#http-api): a console page in a browser, whose EventSource cannot send headers, opens the
// presence stream with a ticket and sees a transition arrive. The page is served by a test server on localhost (its
// own origin, as a console's is); the console backend asks for the ticket with its API key.
//
// The browser is Debian's chromium (`apt-get install chromium`; .ci/run installs it when it can), driven by
// playwright-core. Without /usr/bin/chromium the same page flow runs through Node's fetch instead, and the test's
// name and a log line say so.
import { existsSync } from 'node:fs';
import { type Server, createServer } from 'node:http';
import { type Browser, chromium } from 'playwright-core';
import { type TestApp, startTestApp } from './support/app';
import { SseClient } from './support/presence-sse';

const CHROMIUM = '/usr/bin/chromium';
const withBrowser = existsSync(CHROMIUM);
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** the console page: opens the stream URL it is given and keeps what arrives */
const PAGE = `<!doctype html><meta charset="utf-8"><title>console</title>
<ul id="presence"></ul>
<script>
  window.received = [];
  window.opened = false;
  const source = new EventSource(new URLSearchParams(location.search).get('stream'));
  source.onopen = () => { window.opened = true; };
  source.onerror = () => { window.failed = source.readyState; };
  source.onmessage = (e) => {
    const data = JSON.parse(e.data);
    window.received.push({ id: e.lastEventId, data });
    const li = document.createElement('li');
    li.textContent = data.userId + ' is ' + data.status;
    document.getElementById('presence').append(li);
  };
</script>`;

let app: TestApp;
let page: Server;
let pageUrl: string;
let browser: Browser | undefined;

beforeAll(async () => {
  app = await startTestApp();
  page = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(PAGE));
  await new Promise<void>((r) => page.listen(0, '127.0.0.1', r));
  pageUrl = `http://localhost:${(page.address() as { port: number }).port}/console`;
  if (withBrowser) browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await new Promise((r) => page.close(r));
  await app.stop();
});

const which = withBrowser ? `headless Chromium (${CHROMIUM})` : `Node fetch (${CHROMIUM} is not installed)`;

it(`rule 13: a console page opens the presence stream with a ticket and sees a transition arrive [${which}]`, async () => {
  console.log(`presence browser test: ran with ${which}`);
  const o = await app.api.organization();
  const agent = await app.api.member({ key: o.key, actor: o.admin, workspaceId: o.workspaceId }, 'browser-agent@acme.test', { roles: ['agent'] });
  // the console backend asks for a ticket with its API key and hands the stream URL to the page
  const ticket = await app.api.request('POST', `/v1/workspaces/${o.workspaceId}/presence/stream-tickets`, { key: o.key, actor: o.admin });
  expect(ticket.status).toBe(201);
  const stream = `${app.url}/v1/workspaces/${o.workspaceId}/presence/stream?ticket=${encodeURIComponent(ticket.body.ticket)}`;
  const heartbeat = () => app.api.request('POST', `/v1/workspaces/${o.workspaceId}/presence/heartbeat`, { key: o.key, actor: agent, body: { status: 'online' } });

  if (browser) {
    const tab = await browser.newPage();
    await tab.goto(`${pageUrl}?stream=${encodeURIComponent(stream)}`);
    await tab.waitForFunction(() => (globalThis as unknown as { opened: boolean }).opened, undefined, { timeout: 10_000 });
    const beat = await heartbeat();
    await tab.waitForFunction(() => (globalThis as unknown as { received: unknown[] }).received.length > 0, undefined, { timeout: 10_000 });
    const received = await tab.evaluate(() => (globalThis as unknown as { received: unknown[] }).received);
    expect(received).toEqual([{ id: beat.body.position, data: expect.objectContaining({ userId: agent, status: 'online', previous: 'offline' }) }]);
    expect(await tab.textContent('#presence')).toBe(`${agent} is online`);
  } else {
    const client = await SseClient.open(stream, { origin: new URL(pageUrl).origin });
    try {
      expect(client.headers.get('access-control-allow-origin')).toBe('*');
      await client.until((c) => c.comments.length > 0);
      const beat = await heartbeat();
      await client.until((c) => c.messages.length > 0);
      expect(client.messages).toEqual([{ id: beat.body.position, data: expect.objectContaining({ userId: agent, status: 'online', previous: 'offline' }) }]);
    } finally {
      client.close();
    }
  }
}, 60_000);
