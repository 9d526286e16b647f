const { randomBytes } = require('node:crypto');
for (const size of [16e3, 64e3, 120e3, 140e3, 1e6]) {
  const total = 41.6e6; const n = Math.ceil(total / size);
  const bufs = Array.from({ length: n }, () => Buffer.from(randomBytes(size).toString('base64').slice(0, size)));
  for (let r = 0; r < 3; r++) {
    let t0 = performance.now(); const keep = []; for (const b of bufs) keep.push(b.toString('utf8')); const u = performance.now() - t0;
    t0 = performance.now(); const td = new TextDecoder(); for (const b of bufs) keep.push(td.decode(b)); const d = performance.now() - t0;
    t0 = performance.now(); for (const b of bufs) keep.push(b.latin1Slice(0, b.length)); const l = performance.now() - t0;
    if (r === 2) console.log(size, { utf8: u.toFixed(1), textDecoder: d.toFixed(1), latin1: l.toFixed(1) });
  }
}
