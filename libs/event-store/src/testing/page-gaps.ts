import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { DatabaseSync } from 'node:sqlite';

/**
 * Writes `bytes` into the unused space of a leaf page of the b-tree `btree` (a table or index of the SQLite file
 * `file`, closed by every connection): between the page's cell pointers and its cells, where SQLite leaves copies of
 * cells when it rebuilds a page in a split or a merge (btree.c rebuildPage). SQLite reads nothing there, so the file
 * stays valid; this stands for such a copy, which workloads make only now and then (the read store's
 * libs/read-store/src/store/testing/page-gaps.ts, which writes text through this one). Returns the page number.
 */
export function plantInPageGap(file: string, btree: string, bytes: Uint8Array): number {
  const db = new DatabaseSync(file, { readOnly: true });
  const pageSize = Number((db.prepare('PRAGMA page_size').get() as { page_size: number }).page_size);
  const pages = db.prepare("SELECT pageno FROM dbstat WHERE name = ? AND pagetype = 'leaf'").all(btree) as { pageno: number }[];
  db.close();
  const fd = openSync(file, 'r+');
  try {
    for (const { pageno } of pages) {
      const page = Buffer.alloc(pageSize);
      readSync(fd, page, 0, pageSize, (pageno - 1) * pageSize);
      const header = pageno === 1 ? 100 : 0;
      const cells = page.readUInt16BE(header + 3);
      const gapStart = header + 8 + 2 * cells;
      const gapEnd = page.readUInt16BE(header + 5) || 65536;
      if (gapEnd - gapStart < bytes.length + 16) continue;
      writeSync(fd, bytes, 0, bytes.length, (pageno - 1) * pageSize + gapStart + 8);
      return pageno;
    }
  } finally {
    closeSync(fd);
  }
  throw new Error(`no leaf page of ${btree} has room for ${bytes.length} bytes of unused space`);
}
