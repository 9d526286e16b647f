import { indexAddress, unindexAddress } from './address-index';

const index = () => ({ byKey: new Map<string, string>(), shared: new Map<string, string[]>() });
const allLive = () => true;

describe('address index: one holder per address key, two only from before session 27 (ADR 0017)', () => {
  it('a key one holder has: found at it, gone with it; nothing kept aside', () => {
    const i = index();
    indexAddress(i.byKey, i.shared, 'k', 'a', allLive, undefined);
    expect(i.byKey.get('k')).toBe('a');
    unindexAddress(i.byKey, i.shared, 'k', 'b');
    expect(i.byKey.get('k')).toBe('a');
    unindexAddress(i.byKey, i.shared, 'k', 'a');
    expect(i.byKey.has('k')).toBe(false);
    expect(i.shared.size).toBe(0);
  });

  it('two live holders of a key: the latest is found; either removed, the other is found; both removed, none', () => {
    for (const [first, second] of [['a', 'b'], ['b', 'a']]) {
      const i = index();
      indexAddress(i.byKey, i.shared, 'k', 'a', allLive, undefined);
      indexAddress(i.byKey, i.shared, 'k', 'b', allLive, undefined);
      expect(i.byKey.get('k')).toBe('b');
      unindexAddress(i.byKey, i.shared, 'k', first!);
      expect(i.byKey.get('k')).toBe(second);
      expect(i.shared.size).toBe(0);
      unindexAddress(i.byKey, i.shared, 'k', second!);
      expect(i.byKey.has('k')).toBe(false);
    }
  });

  it('a holder found there that no longer holds it (live says so) is replaced, not kept aside', () => {
    const i = index();
    indexAddress(i.byKey, i.shared, 'k', 'a', allLive, undefined);
    indexAddress(i.byKey, i.shared, 'k', 'b', (_state: undefined, holder: string) => holder !== 'a', undefined);
    expect(i.shared.size).toBe(0);
    unindexAddress(i.byKey, i.shared, 'k', 'b');
    expect(i.byKey.has('k')).toBe(false);
  });
});
