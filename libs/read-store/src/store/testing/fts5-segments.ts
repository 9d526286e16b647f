/**
 * Reads an FTS5 index's segments as someone holding the file would: the raw leaf pages of `<table>_data`, tombstones
 * ignored. Each term of a trigram index is three characters and each of its rows' entries an offset, so the entries of
 * one rowid spell its text again (rule 12 at rest: what a deleted row leaves there).
 *
 * The leaf format (sqlite fts5_index.c): a 4-byte header (offset of the page's first rowid, size of the leaf), terms
 * (the first of a page whole, the others as a prefix kept from the previous term and a suffix) each followed by its
 * doclist (rowid, then deltas; per rowid a poslist size and offsets + 2 as deltas), then an index of the terms' offsets.
 */
import type { DatabaseSync } from 'node:sqlite';

function varint(a: Buffer, at: number): [bigint, number] {
  let v = 0n;
  for (let k = 0; k < 8; k++) {
    const b = a[at + k]!;
    v = (v << 7n) | BigInt(b & 0x7f);
    if ((b & 0x80) === 0) return [v, at + k + 1];
  }
  return [(v << 8n) | BigInt(a[at + 8]!), at + 9];
}

/** rowid -> the text its trigrams spell ('?' where none says), from every leaf page of `table`'s segments */
export function spelledBySegments(db: DatabaseSync, table: string): Map<bigint, string> {
  const select = db.prepare(`SELECT id, block FROM "${table}_data" WHERE id > 10 ORDER BY id`);
  select.setReadBigInts(true);
  const chars = new Map<bigint, string[]>();
  let segment = -1n;
  let term = Buffer.alloc(0);
  let rowid = 0n;
  for (const row of select.all() as { id: bigint; block: Uint8Array }[]) {
    // a leaf: segment id 1..65535 (above: tombstone pages), height 0, not a doclist-index page
    const seg = row.id >> 37n;
    if (seg === 0n || seg >= 65_536n || ((row.id >> 31n) & 63n) !== 0n) continue;
    if (seg !== segment) [segment, term, rowid] = [seg, Buffer.alloc(0), 0n];
    const a = Buffer.from(row.block);
    const firstRowid = a.readUInt16BE(0);
    const leafSize = a.readUInt16BE(2);
    const terms: number[] = [];
    for (let at = leafSize, offset = 0n; at < a.length; ) {
      let delta: bigint;
      [delta, at] = varint(a, at);
      terms.push(Number((offset += delta)));
    }
    const doclist = (from: number, to: number) => {
      let absolute = true;
      for (let at = from; at < to; ) {
        let v: bigint;
        [v, at] = varint(a, at);
        rowid = absolute ? v : rowid + v;
        absolute = false;
        [v, at] = varint(a, at);
        const end = at + Number(v >> 1n);
        const spelled = chars.get(rowid) ?? chars.set(rowid, []).get(rowid)!;
        // the term's first byte names its index ('0': the main one)
        const letters = [...term.subarray(1).toString('utf8')];
        let offset = 0;
        while (at < end && at < to) {
          [v, at] = varint(a, at);
          if (v === 1n) {
            // a column number follows, and the offsets start again
            [, at] = varint(a, at);
            offset = 0;
            continue;
          }
          offset += Number(v) - 2;
          letters.forEach((c, k) => (spelled[offset + k] = c));
        }
        at = end;
      }
    };
    if (firstRowid > 0 && (terms.length === 0 || firstRowid < terms[0]!)) doclist(firstRowid, terms[0] ?? leafSize);
    terms.forEach((start, t) => {
      let at = start;
      let keep = 0n;
      let length: bigint;
      if (t > 0) [keep, at] = varint(a, at);
      [length, at] = varint(a, at);
      term = Buffer.concat([term.subarray(0, Number(keep)), a.subarray(at, at + Number(length))]);
      doclist(at + Number(length), terms[t + 1] ?? leafSize);
    });
  }
  return new Map([...chars].map(([id, spelled]) => [id, Array.from(spelled, (c) => c ?? '?').join('')]));
}
