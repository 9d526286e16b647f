import type { EmailChangeMails, TakenSlot } from '../email-change-mails';

/**
 * What every EmailChangeMails does (the embedded one in email-change-limit.spec.ts; MongoDB's in
 * email-change-mails.mongo.int-spec.ts when MONGO_URL is set): `open` gives two stores over the same data, as two
 * replicas see it. Each test uses organizations of its own.
 */
export function emailChangeMailsContract(name: string, open: () => { one: EmailChangeMails; other: EmailChangeMails }): void {
  it(`${name}: every replica counts the slots of every other, per organization and user, and never lets more than the limit through, also taken together`, async () => {
    const { one, other } = open();
    const org = (n: string) => `${name.length}-${n}-${Math.random().toString(36).slice(2, 8)}`;
    const [o1, o2] = [org('o1'), org('o2')];
    // now-ish times: MongoDB's TTL index would remove a document dated long ago
    const t0 = Date.now() - 30 * 60_000;
    const since = t0 - 3_600_000;
    const slot = (took: TakenSlot) => ('slot' in took ? took.slot : undefined);
    try {
      expect(slot(await one.take(o1, 'ann', t0 + 1_000, since, 2))).toEqual(expect.any(String));
      const second = slot(await other.take(o1, 'ann', t0 + 2_000, since, 2));
      expect(second).toEqual(expect.any(String));
      // the third is refused with the times of the two, oldest first; another user and organization are apart
      expect(await one.take(o1, 'ann', t0 + 3_000, since, 2)).toEqual({ taken: [t0 + 1_000, t0 + 2_000] });
      expect(slot(await other.take(o1, 'bob', t0 + 3_000, since, 2))).toEqual(expect.any(String));
      expect(slot(await one.take(o2, 'ann', t0 + 3_000, since, 2))).toEqual(expect.any(String));
      // a slot given back (no mail went out) frees its place
      await other.giveBack(second!);
      expect(slot(await one.take(o1, 'ann', t0 + 4_000, since, 2))).toEqual(expect.any(String));
      expect(await other.take(o1, 'ann', t0 + 5_000, since, 2)).toEqual({ taken: [t0 + 1_000, t0 + 4_000] });
      // slots older than `since` no longer count
      expect(slot(await one.take(o1, 'ann', t0 + 6_000, t0 + 1_500, 2))).toEqual(expect.any(String));
      // taken together by both replicas: exactly the limit gets through
      const together = await Promise.all(Array.from({ length: 8 }, (_, i) => (i % 2 ? one : other).take(o1, 'cat', t0 + 7_000 + i, since, 3)));
      expect(together.filter((took) => 'slot' in took)).toHaveLength(3);
    } finally {
      await one.close();
      await other.close();
    }
  });

  it(`${name}: a slot taken for a request's key makes the same request sent again (to another replica, at once or later) take none, also at the limit; given back, the key takes one again`, async () => {
    const { one, other } = open();
    const o1 = `${name.length}-k-${Math.random().toString(36).slice(2, 8)}`;
    const t0 = Date.now() - 30 * 60_000;
    const since = t0 - 3_600_000;
    try {
      const first = await one.take(o1, 'ann', t0 + 1_000, since, 2, 'key-1');
      expect(first).toEqual({ slot: expect.any(String) });
      // the user's last slot, then the same request again on both replicas: no slot, no refusal
      expect(await other.take(o1, 'ann', t0 + 2_000, since, 2)).toEqual({ slot: expect.any(String) });
      expect(await other.take(o1, 'ann', t0 + 3_000, since, 2, 'key-1')).toEqual({ sameRequest: true });
      expect(await one.take(o1, 'ann', t0 + 3_000, since, 2, 'key-1')).toEqual({ sameRequest: true });
      // another request (another key, or none) is refused at the limit; the key of another user is theirs
      expect(await one.take(o1, 'ann', t0 + 4_000, since, 2, 'key-2')).toEqual({ taken: [t0 + 1_000, t0 + 2_000] });
      expect(await one.take(o1, 'bob', t0 + 4_000, since, 2, 'key-1')).toEqual({ slot: expect.any(String) });
      // its slot given back (the request refused, or replayed): the key takes one again, when one is free
      await one.giveBack((first as { slot: string }).slot);
      expect(await other.take(o1, 'ann', t0 + 5_000, since, 2, 'key-1')).toEqual({ slot: expect.any(String) });
      // taken together by the same request on both replicas: one slot in all
      const together = await Promise.all([one.take(o1, 'cat', t0 + 6_000, since, 5, 'key-3'), other.take(o1, 'cat', t0 + 6_000, since, 5, 'key-3')]);
      expect(together.filter((took) => 'slot' in took)).toHaveLength(1);
      expect(together.filter((took) => 'sameRequest' in took)).toHaveLength(1);
      expect(await one.take(o1, 'cat', t0 + 7_000, since, 2)).toEqual({ slot: expect.any(String) });
    } finally {
      await one.close();
      await other.close();
    }
  });
}
