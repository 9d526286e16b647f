import { readFileSync } from 'node:fs';
import { isAscii } from 'node:buffer';
import { openProcess } from '../apps/api/src/shared/testing/snapshot-harness';
const m = JSON.parse(readFileSync('/tmp/rollcall-bench/cold-load-100000-workspace_4_f5_hGME9XZzJXzD_lTN.json', 'utf8'));
async function main() {
  const texts: string[] = [];
  const parse = JSON.parse;
  JSON.parse = ((t: string, r?: never) => { texts.push(t); return parse(t, r); }) as typeof JSON.parse;
  const p = await openProcess(m.dir, { every: Number.POSITIVE_INFINITY });
  const org = await p.states.organization(m.organizationId);
  await p.states.workspace(org.state, m.workspaceId);
  JSON.parse = parse;
  await p.close();
  let bytes = 0; let ascii = 0; let n = 0;
  const bufs = texts.map((t) => Buffer.from(t));
  for (const b of bufs) { bytes += b.length; if (isAscii(b)) ascii++; n++; }
  console.log({ n, bytes, ascii, sizes: bufs.slice(0, 8).map((b) => b.length) });
  for (let r = 0; r < 3; r++) {
    let t0 = performance.now(); for (const b of bufs) b.toString('utf8'); const u = performance.now() - t0;
    t0 = performance.now(); for (const b of bufs) b.toString('latin1'); const l = performance.now() - t0;
    t0 = performance.now(); for (const b of bufs) isAscii(b); const a = performance.now() - t0;
    t0 = performance.now(); for (const t of texts) JSON.parse(t); const j = performance.now() - t0;
    console.log({ utf8: u.toFixed(1), latin1: l.toFixed(1), isAscii: a.toFixed(1), parse: j.toFixed(1) });
  }
  console.log(texts[1]!.slice(0, 600));
  const ws = texts.find((t) => t.startsWith('{"k":"invitations"'))!;
  console.log(ws.slice(0, 1500));
}
void main();
