const { randomBytes, createCipheriv, createDecipheriv } = require('node:crypto');
const size = Number(process.argv[2]); const total = 41.6e6; const n = Math.ceil(total / size);
const key = randomBytes(32);
const plain = Array.from({ length: n }, () => JSON.stringify(Array.from({ length: size / 40 }, () => randomBytes(14).toString('hex'))));
const sealed = plain.map((p) => { const iv = randomBytes(12); const c = createCipheriv('aes-256-gcm', key, iv); const b = Buffer.concat([c.update(p), c.final()]); return { iv, b, tag: c.getAuthTag() }; });
const out = [];
for (let r = 0; r < 3; r++) {
  const t0 = performance.now(); let parts = 0;
  for (const s of sealed) { const d = createDecipheriv('aes-256-gcm', key, s.iv); d.setAuthTag(s.tag); const text = Buffer.concat([d.update(s.b), d.final()]).toString('utf8'); const arr = JSON.parse(text); parts += arr.length; if (r === 2) out.push(arr); }
  console.log(size, r, (performance.now() - t0).toFixed(1), parts);
}
