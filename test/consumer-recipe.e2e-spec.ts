// docs/api.md's recipe for a consumer that mirrors Rollcall from its events (probe 67; ADR 0021 "Session 52"), followed
// against a real nats-server while commands are being written: subscribe first, read the feed from the cursor to a
// short page, then apply only pushed events past the cursor, reading the feed again when one's `previousPosition` is
// past it. The consumer here also throws away a run of pushed messages, as core NATS does to a slow consumer: it must
// notice from the next one and recover every event from the feed.
import type { ChildProcess } from 'node:child_process';
import { SYSTEM_KEY, type TestApp, startTestApp } from './support/app';
import { natsBinary, startNats } from './support/nats';

interface Envelope {
  eventId: string;
  position: string;
  previousPosition?: string | null;
  schemaVersion: number;
}

/** a mirror's bookkeeping: the cursor and the positions applied, in order (the fold itself is the consumer's) */
class RecipeConsumer {
  readonly applied: bigint[] = [];
  gapsSeen = 0;
  skipped = 0;

  constructor(
    public cursor: bigint,
    private readonly feed: (after: bigint, limit: number) => Promise<{ items: Envelope[] }>,
  ) {}

  /** step 1: the feed from the cursor until a page comes back short */
  async catchUp(): Promise<void> {
    for (;;) {
      const { items } = await this.feed(this.cursor, 50);
      for (const e of items) this.apply(e);
      if (items.length < 50) return;
    }
  }

  /** steps 2 and 3: a pushed event applied only past the cursor; the feed read first when it follows a position past it */
  async pushed(e: Envelope): Promise<void> {
    if (e.previousPosition != null && BigInt(e.previousPosition) > this.cursor) {
      this.gapsSeen++;
      await this.catchUp();
    }
    this.apply(e);
  }

  private apply(e: Envelope): void {
    expect(e.schemaVersion).toBeGreaterThanOrEqual(1); // step 4: a version this consumer knows
    const position = BigInt(e.position);
    if (position <= this.cursor) {
      this.skipped++;
      return;
    }
    this.applied.push(position);
    this.cursor = position;
  }
}

if (natsBinary || process.env.NATS_URL) {
  describe('the recipe (docs/api.md) for a consumer that mirrors Rollcall (probe 67 F1)', () => {
    let nats: ChildProcess | undefined;
    let url: string;
    let app: TestApp;

    beforeAll(async () => {
      if (process.env.NATS_URL) url = process.env.NATS_URL;
      else ({ url, process: nats } = await startNats());
      app = await startTestApp({ NATS_URL: url, LOG_LEVEL: 'warn' });
    }, 20_000);
    afterAll(async () => {
      await app?.stop();
      nats?.kill();
    });

    const feedAfter = async (after: bigint, limit: number) => {
      const page = await app.api.request('GET', `/v1/events?after=${after}&limit=${limit}`, { key: SYSTEM_KEY });
      expect(page.status).toBe(200);
      return page.body as { items: Envelope[]; next: string | null; head: string };
    };
    const headOf = async () => BigInt((await app.api.request('GET', '/v1/events?limit=1', { key: SYSTEM_KEY })).body.head as string);

    it('started while commands are written and losing a run of pushed messages, it applies every event of the feed once, in order', async () => {
      const o = await app.api.organization();
      const start = await headOf();
      // 6 writers, 30 invitations each
      let written = 0;
      const writers = Array.from({ length: 6 }, async (_, w) => {
        for (let i = 0; i < 30; i++) {
          const reply = await app.api.request('POST', `/v1/workspaces/${o.workspaceId}/invitations`, { key: o.key, actor: o.admin, body: { email: `w${w}-${i}@recipe.test`, roles: ['agent'] } });
          expect(reply.status).toBe(201);
          written++;
        }
      });
      while (written < 20) await new Promise((r) => setTimeout(r, 5));

      const { connect } = await import('@nats-io/transport-node');
      const nc = await connect({ servers: url });
      const consumer = new RecipeConsumer(start, feedAfter);
      // subscribed first: what is pushed meanwhile waits in the subscription while the feed is read
      const sub = nc.subscribe('rollcall.events.>');
      await consumer.catchUp();
      let appliedPushed = 0;
      let dropped = 0;
      const following = (async () => {
        for await (const m of sub) {
          const { data } = JSON.parse(new TextDecoder().decode(m.data)) as { data: Envelope };
          const isNew = BigInt(data.position) > consumer.cursor;
          // ten messages the consumer has not seen are lost on the way (after five it applied from the push), as core
          // NATS drops them for a slow consumer
          if (isNew && appliedPushed >= 5 && dropped < 10) {
            dropped++;
            continue;
          }
          await consumer.pushed(data);
          if (isNew) appliedPushed++;
        }
      })();
      await Promise.all(writers);
      const head = await headOf();
      const deadline = Date.now() + 15_000;
      while ((consumer.applied.at(-1) ?? start) < head && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      sub.unsubscribe();
      await following;
      await nc.close();

      // every event the feed has past the start, once, in log order
      const all: bigint[] = [];
      for (let after = start; ; ) {
        const { items } = await feedAfter(after, 1000);
        all.push(...items.map((e) => BigInt(e.position)));
        if (items.length < 1000) break;
        after = all.at(-1)!;
      }
      expect(all.length).toBeGreaterThanOrEqual(180);
      expect(consumer.applied).toEqual(all);
      expect(dropped).toBe(10);
      // the messages lost were noticed from the next one's previousPosition (not from a timer, nor by chance)
      expect(consumer.gapsSeen).toBeGreaterThanOrEqual(1);
    }, 60_000);
  });
} else {
  describe('the recipe (docs/api.md) for a consumer that mirrors Rollcall', () => {
    it('nats-server is not installed here (apt-get install nats-server to run it)', () => {
      expect(natsBinary).toBeUndefined();
    });
  });
}
