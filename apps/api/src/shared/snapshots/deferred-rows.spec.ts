import fc from 'fast-check';
import { DeferredMap, Derivation, DerivedMap, completeInTurns } from './deferred-rows';

type Op = { op: 'get' | 'has' | 'set' | 'delete' | 'step' | 'size' | 'mutate'; key: string; value: number } | { op: 'iterate' | 'clear' };

/** a DeferredMap over these rows cut into chunks, and the plain Map a full fold would have built */
function both(rows: string[], cuts: number[]) {
  const deferred = new DeferredMap<{ n: number }>(rows.length);
  const plain = new Map<string, { n: number }>();
  const builds: string[] = [];
  let from = 0;
  for (const cut of [...cuts.filter((c) => c > 0 && c < rows.length).sort((a, b) => a - b), rows.length]) {
    const keys = rows.slice(from, cut);
    if (keys.length === 0) continue;
    const start = from;
    deferred.defer({ keys: () => keys, build: (i) => (builds.push(keys[i]!), { n: start + i }) });
    from = cut;
  }
  rows.forEach((key, n) => plain.set(key, { n }));
  return { deferred, plain, builds };
}

describe('the rows of a snapshot built when first read (deferred-rows.ts)', () => {
  it('a DeferredMap answers as the Map a full fold builds, whatever is read, set, deleted or built in the background in between, in the same order', () => {
    const key = fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g', 'x', 'y');
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ op: fc.constantFrom('get', 'has', 'set', 'delete', 'step', 'size', 'mutate'), key, value: fc.integer() }) as fc.Arbitrary<Op>,
      fc.record({ op: fc.constantFrom('iterate', 'clear') }) as fc.Arbitrary<Op>,
    );
    fc.assert(
      fc.property(fc.uniqueArray(fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g'), { maxLength: 7 }), fc.array(fc.nat(8), { maxLength: 4 }), fc.array(op, { maxLength: 25 }), (rows, cuts, ops) => {
        const { deferred, plain } = both(rows, cuts);
        for (const o of ops) {
          if (o.op === 'get') expect(deferred.get(o.key)).toEqual(plain.get(o.key));
          else if (o.op === 'has') expect(deferred.has(o.key)).toBe(plain.has(o.key));
          else if (o.op === 'set') {
            deferred.set(o.key, { n: o.value });
            plain.set(o.key, { n: o.value });
          } else if (o.op === 'delete') expect(deferred.delete(o.key)).toBe(plain.delete(o.key));
          else if (o.op === 'step') deferred.step();
          else if (o.op === 'size') expect(deferred.size).toBe(plain.size);
          else if (o.op === 'mutate') {
            // a fold that changes a row in place (an invitation's status): the Map keeps the object it was given
            const a = deferred.get(o.key);
            const b = plain.get(o.key);
            if (a && b) a.n = b.n = o.value;
          } else if (o.op === 'iterate') expect([...deferred]).toEqual([...plain]);
          else {
            deferred.clear();
            plain.clear();
          }
        }
        expect([...deferred.entries()]).toEqual([...plain.entries()]);
        expect(deferred.deferred).toBe(false);
      }),
      { numRuns: 3_000 },
    );
  });

  it('builds only the rows read until the background or an iteration builds the rest, each row once, and the object read is the one the Map keeps', () => {
    const { deferred, builds } = both(['a', 'b', 'c', 'd'], [2]);
    expect(deferred.size).toBe(4);
    const c = deferred.get('c');
    expect(deferred.get('c')).toBe(c);
    expect(deferred.has('a')).toBe(true);
    expect(deferred.has('z')).toBe(false);
    // (whether a row is there builds none)
    expect(builds).toEqual(['c']);
    // a row replaced before its turn keeps its place, and is not built
    deferred.set('b', { n: 20 });
    expect(builds).toEqual(['c']);
    expect([...deferred.keys()]).toEqual(['a', 'b', 'c', 'd']);
    expect(builds).toEqual(['c', 'a', 'd']);
    expect(deferred.get('b')).toEqual({ n: 20 });
    expect([...deferred.values()][2]).toBe(c);
  });

  it('a new key goes after every row of the snapshot, and a key twice in one is said, not kept silently', () => {
    const { deferred } = both(['a', 'b'], []);
    deferred.set('n', { n: 9 });
    expect([...deferred.keys()]).toEqual(['a', 'b', 'n']);
    const twice = new DeferredMap<number>(2);
    twice.defer({ keys: () => ['a', 'a'], build: (i) => i });
    expect(() => twice.complete()).toThrow('key a twice');
  });

  it('the background builds every row in turns, and then the derived Maps; a derived Map is built once, before its first use', async () => {
    const { deferred, builds } = both(['a', 'b', 'c'], [1, 2]);
    let derived = 0;
    const derivation = new Derivation(function* () {
      derived++;
      for (const [key, { n }] of deferred) {
        index.set(`@${key}`, n);
        yield;
      }
    });
    const index = new DerivedMap<number>(derivation);
    const shared = new DerivedMap<number>(derivation);
    // a part built (as the background does), then a read: the rest is built before it answers
    expect(derivation.step()).toBe(false);
    expect(shared.size).toBe(0);
    expect(derived).toBe(1);
    expect([...index.keys()]).toEqual(['@a', '@b', '@c']);
    expect(index.get('@b')).toBe(1);
    await completeInTurns([deferred as DeferredMap<unknown>], [derivation], 0);
    expect(derived).toBe(1);
    expect(builds).toEqual(['a', 'b', 'c']);
    expect(deferred.deferred).toBe(false);
    const later = new Derivation(function* () {
      index.set('late', 1);
      yield;
    });
    await completeInTurns([], [later], 0);
    expect(later.done).toBe(true);
  });

  it('is a Map to whoever reads it: instanceof, a copy through its constructor, a comparison with a Map', () => {
    const { deferred, plain } = both(['a', 'b'], []);
    expect(deferred).toBeInstanceOf(Map);
    const copy = new (deferred.constructor as MapConstructor)(deferred);
    expect(Object.getPrototypeOf(copy)).toBe(Map.prototype);
    expect(deferred).toEqual(plain);
    expect(new DerivedMap(new Derivation(function* () {}))).toEqual(new Map());
  });
});
