const { DatabaseSync } = require('node:sqlite');
const file = '/tmp/rollcall-bench/cold-load-100000-workspace_4_f5_hGME9XZzJXzD_lTN/snapshots.sqlite';
for (const mmap of [0, 0, 256 << 20, 256 << 20, 0]) {
  const db = new DatabaseSync(file, { readOnly: true });
  db.exec(`PRAGMA mmap_size = ${mmap}`);
  const ps = db.prepare('PRAGMA page_size').get();
  const heads = db.prepare('SELECT stream, generation, chunks FROM snapshots').all();
  const st = db.prepare('SELECT body FROM snapshot_chunks WHERE stream = ? AND generation = ? AND seq = ?');
  const t0 = performance.now(); let bytes = 0;
  for (const h of heads) for (let s = 0; s < h.chunks; s++) bytes += st.get(h.stream, h.generation, s).body.length;
  console.log({ mmap, page: ps.page_size, ms: (performance.now() - t0).toFixed(1), bytes });
  db.close();
}
