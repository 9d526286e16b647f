import { createHash } from 'node:crypto';

/*
 * An independent RFC 9162 reference, written from the RFC's text (§2.1.1 MTH, §2.1.3.2 and §2.1.4.2
 * verification), sharing no code with libs/audit: the tests check the tree and the proofs the notary makes against it.
 */
export const sha256 = (...parts: Uint8Array[]) => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
};
export const rfcLeaf = (d: Uint8Array) => sha256(Buffer.from([0]), d);
export const rfcNode = (l: Uint8Array, r: Uint8Array) => sha256(Buffer.from([1]), l, r);
/** MTH(D[n]) by its recursive definition (§2.1.1): k is the largest power of two smaller than n */
export function rfcMth(d: Uint8Array[]): Buffer {
  if (d.length === 0) return sha256();
  if (d.length === 1) return rfcLeaf(d[0]!);
  let k = 1;
  while (k << 1 < d.length) k <<= 1;
  return rfcNode(rfcMth(d.slice(0, k)), rfcMth(d.slice(k)));
}
const lsb = (x: number) => (x & 1) === 1;
/** §2.1.3.2, step by step */
export function rfcVerifyInclusion(leafIndex: number, treeSize: number, hash: Uint8Array, path: Uint8Array[], root: Uint8Array): boolean {
  if (leafIndex >= treeSize) return false;
  let fn = leafIndex;
  let sn = treeSize - 1;
  let r: Uint8Array = hash;
  for (const p of path) {
    if (sn === 0) return false;
    if (lsb(fn) || fn === sn) {
      r = rfcNode(p, r);
      if (!lsb(fn))
        while (!(lsb(fn) || fn === 0)) {
          fn >>= 1;
          sn >>= 1;
        }
    } else r = rfcNode(r, p);
    fn >>= 1;
    sn >>= 1;
  }
  return sn === 0 && Buffer.compare(r, root) === 0;
}
/** §2.1.4.2, step by step */
export function rfcVerifyConsistency(first: number, second: number, firstHash: Uint8Array, secondHash: Uint8Array, consistencyPath: Uint8Array[]): boolean {
  if (consistencyPath.length === 0) return false;
  const path = (first & (first - 1)) === 0 ? [firstHash, ...consistencyPath] : [...consistencyPath];
  let fn = first - 1;
  let sn = second - 1;
  if (lsb(fn))
    while (lsb(fn)) {
      fn >>= 1;
      sn >>= 1;
    }
  let fr: Uint8Array = path[0]!;
  let sr: Uint8Array = path[0]!;
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (lsb(fn) || fn === sn) {
      fr = rfcNode(c, fr);
      sr = rfcNode(c, sr);
      if (!lsb(fn))
        while (!(lsb(fn) || fn === 0)) {
          fn >>= 1;
          sn >>= 1;
        }
    } else sr = rfcNode(sr, c);
    fn >>= 1;
    sn >>= 1;
  }
  return Buffer.compare(fr, firstHash) === 0 && Buffer.compare(sr, secondHash) === 0 && sn === 0;
}
