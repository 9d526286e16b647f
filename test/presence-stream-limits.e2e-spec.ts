// Presence streams are sockets held for as long as their clients want: one organization may hold its share of a
// process's (429 TOO_MANY_STREAMS beyond it), and all of them together no more than the process's limit (503
// STREAMS_AT_CAPACITY). Probe 37 F3: one key's streams took every file descriptor, and every tenant was refused.
import { type TestApp, startTestApp } from './support/app';
import { SseClient } from './support/presence-sse';

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp({ ROLLCALL_PRESENCE_STREAMS_PER_ORGANIZATION: '2', ROLLCALL_PRESENCE_STREAMS_MAX: '3' });
});
afterAll(() => app.stop());

const open: SseClient[] = [];
afterAll(() => {
  for (const c of open) c.close();
});

type Org = Awaited<ReturnType<TestApp['api']['organization']>>;
const stream = async (o: Org) => {
  const c = await SseClient.open(`${app.url}/v1/workspaces/${o.workspaceId}/presence/stream`, { authorization: `Bearer ${o.key}`, 'x-actor-id': o.admin });
  open.push(c);
  return c;
};
/** a request of another kind, to show the process still answers */
const list = (o: Org) => app.api.request('GET', `/v1/workspaces/${o.workspaceId}/members`, { key: o.key, actor: o.admin });

describe('rule 13: presence streams per organization and per process (probe 37 F3)', () => {
  it("an organization's streams beyond its limit are 429, the process's beyond its own 503, each with Retry-After; a closed stream frees its place", async () => {
    const [a, b, c] = [await app.api.organization(), await app.api.organization(), await app.api.organization()];
    const a1 = await stream(a);
    const a2 = await stream(a);
    const a3 = await stream(a);
    expect([a1.status, a2.status, a3.status]).toEqual([200, 200, 429]);
    expect(a3.problem).toMatchObject({ code: 'TOO_MANY_STREAMS', detail: expect.stringMatching(/^Your organization holds 2 presence streams open on this server, its limit/) });
    expect(a3.headers.get('retry-after')).toBe('30');
    // another organization is not held up by a's: its own stream, then the process's limit (3) is reached
    const b1 = await stream(b);
    expect(b1.status).toBe(200);
    const c1 = await stream(c);
    expect({ status: c1.status, code: c1.problem?.code, retryAfter: c1.headers.get('retry-after') }).toEqual({ status: 503, code: 'STREAMS_AT_CAPACITY', retryAfter: '30' });
    // every other request is still answered
    expect((await list(c)).status).toBe(200);
    expect((await app.api.request('GET', '/health')).status).toBe(200);

    // a stream closed by its client frees its place, for its organization and for the process
    a1.close();
    const deadline = Date.now() + 5_000;
    let again = await stream(a);
    while (again.status !== 200 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      again = await stream(a);
    }
    expect(again.status).toBe(200);
    expect((await stream(c)).status).toBe(503);
    b1.close();
    let c2 = await stream(c);
    while (c2.status !== 200 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      c2 = await stream(c);
    }
    expect(c2.status).toBe(200);
  });
});
