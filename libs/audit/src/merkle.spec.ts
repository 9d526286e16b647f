import fc from 'fast-check';
import { rfcLeaf, rfcMth, rfcVerifyConsistency, rfcVerifyInclusion, sha256 } from '../../../test/support/rfc9162';
import { CompactTree, type NewNode, consistencyProof, inclusionProof, leafHash, treeRoot, verifyConsistency, verifyInclusion } from './merkle';

/** a tree of n leaves with every perfect subtree kept, as the notary's store keeps them */
function build(n: number) {
  const data = Array.from({ length: n }, (_, i) => Buffer.from(`entry ${i}`));
  const nodes = new Map<string, Buffer>();
  const tree = new CompactTree((node: NewNode) => nodes.set(`${node.level}:${node.index}`, node.hash));
  data.forEach((d, i) => {
    const h = leafHash(d);
    nodes.set(`0:${i}`, h);
    tree.push(h);
  });
  const node = (level: number, index: number) => {
    const h = nodes.get(`${level}:${index}`);
    if (!h) throw new RangeError(`no node ${level}:${index}`);
    return h;
  };
  return { data, tree, node };
}

describe('verifiable history: the RFC 9162 Merkle tree', () => {
  it('hashes leaves as SHA-256(0x00 || entry) and nodes as SHA-256(0x01 || left || right)', () => {
    expect(leafHash(Buffer.from('abc'))).toEqual(sha256(Buffer.from([0]), Buffer.from('abc')));
    expect(leafHash('é')).toEqual(sha256(Buffer.from([0]), Buffer.from('é', 'utf8')));
    expect(treeRoot(() => Buffer.alloc(0), 0)).toEqual(sha256());
  });

  it('matches the RFC test vectors of the eight-leaf tree (transparency-dev/merkle, RFC 6962 §2.1.3 example)', () => {
    // leaves of the RFC 6962 reference tree, roots of its prefixes as published by the Go reference implementation
    const leaves = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map((h) => Buffer.from(h, 'hex'));
    const roots = [
      '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
      'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
      'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
      '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
      '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
      'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
      '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
    ];
    const tree = new CompactTree();
    leaves.forEach((d, i) => {
      tree.push(leafHash(d));
      expect(tree.root().toString('hex')).toBe(roots[i]);
    });
  });

  it('property: the root equals MTH by definition, and inclusion and consistency proofs pass the RFC algorithms, for random tree sizes', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 300 }), fc.nat(), fc.nat(), (n, a, b) => {
        const { data, tree, node } = build(n);
        const root = rfcMth(data);
        expect(tree.root()).toEqual(root);
        expect(treeRoot(node, n)).toEqual(root);
        const m = a % n;
        const size = m + 1 + (b % (n - m)); // a tree size that contains leaf m
        const sizeRoot = rfcMth(data.slice(0, size));
        const path = inclusionProof(node, m, size);
        expect(rfcVerifyInclusion(m, size, rfcLeaf(data[m]!), path, sizeRoot)).toBe(true);
        expect(verifyInclusion(m, size, rfcLeaf(data[m]!), path, sizeRoot)).toBe(true);
        const first = (a % size) + 1;
        const proof = consistencyProof(node, first, size);
        const firstRoot = rfcMth(data.slice(0, first));
        if (first < size) expect(rfcVerifyConsistency(first, size, firstRoot, sizeRoot, proof)).toBe(true);
        expect(verifyConsistency(first, size, proof, firstRoot, sizeRoot)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('property: a proof for another leaf, another root or with a flipped bit does not verify', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 200 }), fc.nat(), fc.nat(), (n, a, bit) => {
        const { data, node } = build(n);
        const m = a % n;
        const root = rfcMth(data);
        const path = inclusionProof(node, m, n);
        expect(rfcVerifyInclusion((m + 1) % n, n, rfcLeaf(data[m]!), path, root)).toBe(false);
        expect(verifyInclusion(m, n, rfcLeaf(Buffer.from('forged')), path, root)).toBe(false);
        const flipped = path.map((p) => Buffer.from(p));
        const target = flipped[bit % flipped.length]!;
        target[bit % 32]! ^= 1 << (bit % 8);
        expect(rfcVerifyInclusion(m, n, rfcLeaf(data[m]!), flipped, root)).toBe(false);
        expect(verifyInclusion(m, n, rfcLeaf(data[m]!), flipped, root)).toBe(false);
        const first = Math.max(1, m);
        if (first < n) {
          const proof = consistencyProof(node, first, n);
          const otherRoot = rfcMth([...data.slice(0, first - 1), Buffer.from('forged')]);
          expect(verifyConsistency(first, n, proof, otherRoot, root)).toBe(false);
          expect(rfcVerifyConsistency(first, n, otherRoot, root, proof)).toBe(false);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('property: ranges of 2^k leaves hashed apart (a verifier thread each) and added as subtrees give the MTH of every prefix', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 120 }), fc.integer({ min: 0, max: 5 }), fc.nat(), (n, k, cut) => {
        const { data, node } = build(n);
        const width = 2 ** k;
        const tree = new CompactTree();
        const nodes = new Map<string, Buffer>();
        const combined = new CompactTree((node) => nodes.set(`${node.level}:${node.index}`, node.hash));
        for (let start = 0; start < n; start += width) {
          const range = new CompactTree();
          for (const d of data.slice(start, start + width)) range.push(leafHash(d));
          // a prefix that ends inside this range: the tree so far plus the range's right edge at that size
          const size = start + 1 + (cut % Math.min(width, n - start));
          const partial = new CompactTree();
          for (const d of data.slice(start, size)) partial.push(leafHash(d));
          const prefix = tree.clone();
          for (const { level, hash } of partial.edge()) prefix.pushSubtree(level, hash);
          expect(prefix.root()).toEqual(rfcMth(data.slice(0, size)));
          for (const { level, hash } of range.edge()) {
            tree.pushSubtree(level, hash);
            combined.pushSubtree(level, hash);
          }
          expect(tree.root()).toEqual(rfcMth(data.slice(0, Math.min(n, start + width))));
        }
        expect(tree.size).toBe(n);
        // the subtrees made by combining are the ones the notary stores, at the same (level, index)
        for (const [key, hash] of nodes) expect(node(Number(key.split(':')[0]), Number(key.split(':')[1]))).toEqual(hash);
      }),
      { numRuns: 60 },
    );
  });

  it('refuses a subtree that is not aligned on its size (RFC 9162 does not combine it)', () => {
    const tree = new CompactTree();
    tree.push(leafHash('a'));
    expect(() => tree.pushSubtree(1, leafHash('b'))).toThrow(RangeError);
  });

  it('restores the right edge of a stored tree and goes on growing it identically', () => {
    const { data, node } = build(77);
    const restored = CompactTree.restore(77, node);
    expect(restored.root()).toEqual(rfcMth(data));
    const more = Buffer.from('entry 77');
    restored.push(leafHash(more));
    expect(restored.root()).toEqual(rfcMth([...data, more]));
  });
});
