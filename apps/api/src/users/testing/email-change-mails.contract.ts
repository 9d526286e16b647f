import type { EmailChangeMails } from '../email-change-mails';

/**
 * What every EmailChangeMails does (the embedded one in email-change-limit.spec.ts; MongoDB's in
 * email-change-mails.mongo.int-spec.ts when MONGO_URL is set): `open` gives two stores over the same data, as two
 * replicas see it. Each test uses organizations of its own.
 */
export function emailChangeMailsContract(name: string, open: () => { one: EmailChangeMails; other: EmailChangeMails }): void {
  it(`${name}: every replica counts the mails of every other, per organization and user, oldest first, from a time on`, async () => {
    const { one, other } = open();
    const org = (n: string) => `${name.length}-${n}-${Math.random().toString(36).slice(2, 8)}`;
    const [o1, o2] = [org('o1'), org('o2')];
    // now-ish times: MongoDB's TTL index would remove a document dated long ago
    const t0 = Date.now() - 30 * 60_000;
    try {
      await one.mailed(o1, 'ann', t0 + 2_000, t0 - 3_600_000);
      await other.mailed(o1, 'ann', t0 + 1_000, t0 - 3_600_000);
      await other.mailed(o1, 'bob', t0 + 3_000, t0 - 3_600_000);
      await one.mailed(o2, 'ann', t0 + 4_000, t0 - 3_600_000);
      expect(await one.since(o1, 'ann', t0)).toEqual([t0 + 1_000, t0 + 2_000]);
      expect(await other.since(o1, 'ann', t0 + 1_500)).toEqual([t0 + 2_000]);
      expect(await other.since(o1, 'bob', t0)).toEqual([t0 + 3_000]);
      expect(await one.since(o2, 'ann', t0)).toEqual([t0 + 4_000]);
      expect(await one.since(o2, 'nobody', t0)).toEqual([]);
    } finally {
      await one.close();
      await other.close();
    }
  });
}
