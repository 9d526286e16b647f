// A write that changes nothing answers the state it was decided on, at that state's place in the log (probe 87 F1:
// concurrent access changes of one member — a "nothing changed" answered the access other commands had made since, at
// the head of the log read when it was answered: a state the log never held there; a CRM that kept the answer's access
// as of its position, then applied the events after it, kept a permission the member no longer had).
import { type TestApp, startTestApp } from './support/app';

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(() => app.stop());

interface Answer {
  status: number;
  body: { changed: string[]; access: { restrictions: Record<string, unknown> }; position: string };
}

it('rule 17: an access change that changes nothing answers the access the log holds at its position, while other changes of the member race it (probe 87 F1)', async () => {
  const { api } = app;
  const o = await api.organization();
  const as = { key: o.key, actor: o.admin };
  const member = await api.member({ ...as, workspaceId: o.workspaceId }, 'raced@acme.test', { roles: ['manager'] });
  const path = `/v1/workspaces/${o.workspaceId}/members/${member}/access`;
  const none = {};
  const exported = { data_export: true };
  const answers: Answer[] = [];
  // rounds of four at once, as the probe sent them: two of them ask for what another of the round already asked for
  for (let round = 0; round < 30; round++) {
    const [x, y] = round % 2 ? [none, exported] : [exported, none];
    const replies = await Promise.all([x, x, y, x].map((restrictions) => api.request('PATCH', path, { ...as, body: { restrictions } })));
    for (const reply of replies) {
      expect(reply.status).toBe(200);
      answers.push(reply as unknown as Answer);
    }
  }
  // the member's restrictions along the log, from the permission history (every change, with its position)
  const last = answers.reduce((max, a) => (BigInt(a.body.position) > max ? BigInt(a.body.position) : max), 0n);
  const history: { position: string; change: string; after: { restrictions: Record<string, unknown> } | null }[] = [];
  for (let cursor: string | undefined, first = true; first || cursor !== undefined; first = false) {
    const page = await api.request('GET', `/v1/workspaces/${o.workspaceId}/history?userId=${member}&limit=500${cursor ? `&cursor=${cursor}` : ''}`, {
      ...as,
      headers: { 'x-min-position': String(last) },
    });
    history.push(...page.body.items);
    cursor = page.body.nextCursor;
  }
  const restrictionsAt = (position: bigint) =>
    history.filter((h) => BigInt(h.position) <= position && h.after !== null).at(-1)?.after?.restrictions;
  const noOps = answers.filter((a) => a.body.changed.length === 0);
  expect(noOps.length).toBeGreaterThan(10);
  const wrong = answers
    .filter((a) => JSON.stringify(a.body.access.restrictions) !== JSON.stringify(restrictionsAt(BigInt(a.body.position))))
    .map((a) => `${a.body.changed.join('+') || 'no change'} at ${a.body.position}: answered ${JSON.stringify(a.body.access.restrictions)}, the log ${JSON.stringify(restrictionsAt(BigInt(a.body.position)))}`);
  expect(wrong).toEqual([]);
}, 60_000);
