import { type AddressIndex, indexAddress, unindexAddress } from './address-index';

const index = (): AddressIndex => ({ byKey: new Map(), shared: new Map() });
const allLive = () => true;

describe('AddressIndex: one holder per address key, two only from before session 27 (ADR 0017)', () => {
  it('a key one holder has: found at it, gone with it; nothing kept aside', () => {
    const i = index();
    indexAddress(i, 'k', 'a', allLive);
    expect(i.byKey.get('k')).toBe('a');
    unindexAddress(i, 'k', 'b');
    expect(i.byKey.get('k')).toBe('a');
    unindexAddress(i, 'k', 'a');
    expect(i.byKey.has('k')).toBe(false);
    expect(i.shared.size).toBe(0);
  });

  it('two live holders of a key: the latest is found; either removed, the other is found; both removed, none', () => {
    for (const [first, second] of [['a', 'b'], ['b', 'a']]) {
      const i = index();
      indexAddress(i, 'k', 'a', allLive);
      indexAddress(i, 'k', 'b', allLive);
      expect(i.byKey.get('k')).toBe('b');
      unindexAddress(i, 'k', first!);
      expect(i.byKey.get('k')).toBe(second);
      expect(i.shared.size).toBe(0);
      unindexAddress(i, 'k', second!);
      expect(i.byKey.has('k')).toBe(false);
    }
  });

  it('a holder found there that no longer holds it (live says so) is replaced, not kept aside', () => {
    const i = index();
    indexAddress(i, 'k', 'a', allLive);
    indexAddress(i, 'k', 'b', (holder) => holder !== 'a');
    expect(i.shared.size).toBe(0);
    unindexAddress(i, 'k', 'b');
    expect(i.byKey.has('k')).toBe(false);
  });
});
