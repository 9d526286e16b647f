const { DatabaseSync } = require('node:sqlite');
const file = '/tmp/rollcall-bench/cold-load-100000-workspace_4_f5_hGME9XZzJXzD_lTN/snapshots.sqlite';
const mmap = Number(process.argv[2]);
const db = new DatabaseSync(file, { readOnly: true });
db.exec(`PRAGMA mmap_size = ${mmap}`);
const heads = db.prepare('SELECT stream, generation, chunks FROM snapshots').all();
const st = db.prepare('SELECT body FROM snapshot_chunks WHERE stream = ? AND generation = ? AND seq = ?');
const keep = [];
const t0 = performance.now(); let bytes = 0;
for (const h of heads) for (let s = 0; s < h.chunks; s++) { const b = st.get(h.stream, h.generation, s).body; bytes += b.length; keep.push(b); }
console.log({ mmap, ms: (performance.now() - t0).toFixed(1), bytes });
