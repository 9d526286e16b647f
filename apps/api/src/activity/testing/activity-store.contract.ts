import type { ActivityMark, ActivityStore } from '../activity-store';

/**
 * What every ActivityStore does (the embedded one in activity-store.spec.ts; MongoDB's in
 * activity-store.mongo.int-spec.ts when MONGO_URL is set): `open` gives two stores over the same data, as two
 * replicas see it. Each test uses organizations of its own.
 */
export function activityStoreContract(name: string, open: () => { one: ActivityStore; other: ActivityStore }): void {
  it(`${name}: keeps the later day of each key or user, per organization and kind, for every replica`, async () => {
    const { one, other } = open();
    const org = (n: string) => `${name.length}-${n}-${Math.random().toString(36).slice(2, 8)}`;
    const [o1, o2, o3] = [org('o1'), org('o2'), org('o3')];
    const mark = (organizationId: string, kind: 'key' | 'user', id: string, on: string): ActivityMark => ({ organizationId, kind, id, on });
    try {
      await one.record([mark(o1, 'key', 'k1', '2026-12-05'), mark(o1, 'user', 'k1', '2026-11-01'), mark(o2, 'key', 'k1', '2026-10-01')]);
      // another replica, a day behind (its clock, or a mark written late): the later day stays
      await other.record([mark(o1, 'key', 'k1', '2026-12-04'), mark(o1, 'user', 'u2', '2026-12-06')]);
      await one.record([mark(o1, 'user', 'k1', '2026-12-06')]);
      expect(await one.lastOn(o1, 'key', ['k1', 'nobody'])).toEqual(new Map([['k1', '2026-12-05']]));
      expect(await other.lastOn(o1, 'user', ['k1', 'u2'])).toEqual(new Map([['k1', '2026-12-06'], ['u2', '2026-12-06']]));
      expect(await one.lastOn(o2, 'key', ['k1'])).toEqual(new Map([['k1', '2026-10-01']]));
      expect(await one.lastOn(o2, 'key', [])).toEqual(new Map());
      // a page of more ids than one lookup binds
      const many = Array.from({ length: 1200 }, (_, i) => `u${i}`);
      await one.record(many.map((id) => mark(o3, 'user', id, '2026-12-01')));
      expect((await other.lastOn(o3, 'user', many)).size).toBe(1200);
    } finally {
      await one.close();
      await other.close();
    }
  });
}
