import { spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { entryText, leafHash, parseVerifier } from '@rollcall/audit';
import { type VerifyResult } from '@rollcall/audit';
import { createOutput } from '../apps/audit-cli/src/output';
import { verifyCommand } from '../apps/audit-cli/src/verify';
import { Logger } from '@nestjs/common';
import { SYSTEM_KEY, type TestApp, expectProblem, startTestApp } from './support/app';
import { checkpointLargerThan } from './support/checkpoints';
import { rfcLeaf, rfcVerifyConsistency, rfcVerifyInclusion } from './support/rfc9162';

/*
 * The verifiable history (docs/rules.md#verifiable-history) over the real app: the notary's endpoints, proofs checked
 * by the RFC 9162 reference written from the RFC (test/support/rfc9162.ts, no code shared with libs/audit), and the
 * auditor's `verify` against forged copies of the embedded log.
 */
let app: TestApp;
let org: Awaited<ReturnType<TestApp['api']['organization']>>;
let agent: string;
let erased: string;
let changePosition: string;
let keptCheckpoint: string;
let publicKey: string;
let stopped = false;
const work = mkdtempSync(join(tmpdir(), 'rollcall-audit-e2e-'));

const b = (s: string) => Buffer.from(s, 'base64');

/** the latest checkpoint once it covers `position` (the notary signs every 100 ms here) */
async function checkpointCovering(position: bigint): Promise<{ note: string; size: number }> {
  for (let i = 0; i < 100; i++) {
    const proof = await app.api.request('GET', `/v1/audit/proofs/inclusion?position=${position}`, { key: SYSTEM_KEY });
    if (proof.status === 200) return { note: proof.body.checkpoint, size: proof.body.treeSize };
    // not signed yet: 503 AUDIT_BEHIND says when to ask again (probe 30b: it said so in words only)
    expect({ status: proof.status, code: proof.body.code, retryAfter: proof.headers.get('retry-after') }).toEqual({ status: 503, code: 'AUDIT_BEHIND', retryAfter: '1' });
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no checkpoint covers position ${position}`);
}

beforeAll(async () => {
  // our own data dir: stopping the app keeps it for the auditor
  app = await startTestApp({ ROLLCALL_AUDIT_CHECKPOINT_MS: '100', ROLLCALL_DATA_DIR: join(work, 'data') });
  org = await app.api.organization();
  const as = { key: org.key, actor: org.admin, workspaceId: org.workspaceId };
  agent = await app.api.member(as, 'agent.smith@acme.test', { roles: ['agent'] });
  erased = await app.api.member(as, 'to.be.forgotten@acme.test', { roles: ['agent'] });
  const change = await app.api.request('PATCH', `/v1/workspaces/${org.workspaceId}/members/${agent}/access`, { key: org.key, actor: org.admin, body: { roles: ['manager'] } });
  expect(change.status).toBe(200);
  changePosition = change.body.position;
  publicKey = (await app.api.request('GET', '/v1/audit/public-key')).body.trim();
  keptCheckpoint = (await checkpointCovering(BigInt(changePosition))).note;
  writeFileSync(join(work, 'kept-checkpoint'), keptCheckpoint);
}, 30_000);

afterAll(async () => {
  if (!stopped) await app?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('verifiable history: the notary over HTTP', () => {
  it('publishes its verifier key as text, and its latest checkpoint to the system key and every organization (probe 33 O2)', async () => {
    const key = await app.api.request('GET', '/v1/audit/public-key');
    expect(key.status).toBe(200);
    expect(key.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(parseVerifier(key.body).name).toBe('console.acme.test/audit');
    const checkpoint = await app.api.request('GET', '/v1/audit/checkpoint', { key: SYSTEM_KEY });
    expect(checkpoint.status).toBe(200);
    expect(checkpoint.headers.get('content-type')).toMatch(/^text\/plain/);
    // origin, size, root, when it was signed (probe 44 F1), then the signature
    expect(checkpoint.body).toMatch(/^console\.acme\.test\/audit\n\d+\n[A-Za-z0-9+/]{43}=\nsigned-at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\n\n\u2014 console\.acme\.test\/audit \S+\n$/);
    const ofOrganization = await app.api.request('GET', '/v1/audit/checkpoint', { key: org.key });
    expect(ofOrganization.status).toBe(200);
    expect(ofOrganization.body).toMatch(/^console\.acme\.test\/audit\n\d+\n/);
    expectProblem(await app.api.request('GET', '/v1/audit/checkpoint'), 401, 'UNAUTHENTICATED');
    expectProblem(await app.api.request('GET', '/v1/audit/checkpoint', { key: 'rk_not_a_key' }), 401, 'UNAUTHENTICATED');
  });

  it('every permission-history entry carries its position, and its inclusion proof checks under the RFC 9162 algorithm', async () => {
    // read-your-writes: the notary's checkpoint covering the change says nothing of the projector's progress
    const read = { key: org.key, actor: org.admin, headers: { 'x-min-position': changePosition } };
    const history = await app.api.request('GET', `/v1/workspaces/${org.workspaceId}/history?userId=${agent}`, read);
    expect(history.status).toBe(200);
    const entry = history.body.items.find((e: { change: string; after?: { roles?: string[] } }) => e.change !== 'invited' && e.after?.roles?.[0] === 'manager');
    expect(String(entry.position)).toBe(changePosition);
    const proof = await app.api.request('GET', `/v1/audit/proofs/inclusion?position=${entry.position}`, { key: org.key });
    expect(proof.status).toBe(200);
    const { leafIndex, treeSize, leafHash, hashes, rootHash, checkpoint } = proof.body;
    // the entry is the stored record: anyone recomputes its leaf hash
    const bytes = b(proof.body.entry);
    expect(rfcLeaf(bytes).toString('base64')).toBe(leafHash);
    expect(JSON.parse(bytes.toString('utf8'))).toMatchObject({ type: 'AccessLevelChanged', position: changePosition, data: { userId: agent, after: ['manager'] } });
    expect(rfcVerifyInclusion(leafIndex, treeSize, b(leafHash), hashes.map(b), b(rootHash))).toBe(true);
    // ... against the root of the signed checkpoint of that size
    expect(checkpoint.split('\n').slice(1, 3)).toEqual([String(treeSize), rootHash]);
  });

  it('personal fields are in the entry as stored, encrypted', async () => {
    const history = await app.api.request('GET', `/v1/workspaces/${org.workspaceId}/history?userId=${agent}`, { key: org.key, actor: org.admin, headers: { 'x-min-position': changePosition } });
    const invited = history.body.items[0];
    const proof = await app.api.request('GET', `/v1/audit/proofs/inclusion?position=${invited.position}`, { key: org.key });
    const text = b(proof.body.entry).toString('utf8');
    expect(text).not.toContain('agent.smith@acme.test');
    expect(text).toMatch(/"email":"enc:v1:/);
  });

  it("an inclusion proof is the system key's or the owning organization's: another organization gets 404, as for a position with no event", async () => {
    const other = await app.api.organization();
    expect((await app.api.request('GET', `/v1/audit/proofs/inclusion?position=${changePosition}`, { key: SYSTEM_KEY })).status).toBe(200);
    expectProblem(await app.api.request('GET', `/v1/audit/proofs/inclusion?position=${changePosition}`, { key: other.key }), 404, 'AUDIT_ENTRY_NOT_FOUND');
    expectProblem(await app.api.request('GET', '/v1/audit/proofs/inclusion?position=999999999', { key: org.key }), 404, 'AUDIT_ENTRY_NOT_FOUND');
    expectProblem(await app.api.request('GET', '/v1/audit/proofs/inclusion?position=abc', { key: org.key }), 400, 'VALIDATION_FAILED');
    // leading zeros, as every whole number of the API takes them; the answer names the position as the log writes it (probe 118 F7)
    const padded = await app.api.request('GET', `/v1/audit/proofs/inclusion?position=000${changePosition}`, { key: org.key });
    expect(padded.status).toBe(200);
    expect(padded.body.position).toBe(changePosition);
    expectProblem(await app.api.request('GET', '/v1/audit/proofs/inclusion?position=000', { key: org.key }), 400, 'VALIDATION_FAILED');
    // past what a store can hold: 400, not a 500 (probe 45b F1); the largest is a position no entry has
    for (const past of ['9223372036854775808', '9999999999999999999'])
      expectProblem(await app.api.request('GET', `/v1/audit/proofs/inclusion?position=${past}`, { key: org.key }), 400, 'VALIDATION_FAILED');
    // digits past 19: one sentence, the bound (probe 107 F3)
    expect((await app.api.request('GET', '/v1/audit/proofs/inclusion?position=18446744073709551616', { key: org.key })).body.errors).toEqual([
      { field: 'position', message: 'must be at most 9223372036854775807 (a log position)' },
    ]);
    expectProblem(await app.api.request('GET', '/v1/audit/proofs/inclusion?position=9223372036854775807', { key: org.key }), 404, 'AUDIT_ENTRY_NOT_FOUND');
    expectProblem(await app.api.request('GET', `/v1/audit/proofs/inclusion?position=${changePosition}&treeSize=1`, { key: org.key }), 422, 'AUDIT_TREE_SIZE');
    expectProblem(await app.api.request('GET', `/v1/audit/proofs/inclusion?position=${changePosition}`), 401, 'UNAUTHENTICATED');
  });

  it("with X-Actor-Id, an inclusion proof is an org admin's: an agent or an id naming nobody is 403, `system` 400; the key alone still proves (probe 83 F7)", async () => {
    const proof = (actor?: string) => app.api.request('GET', `/v1/audit/proofs/inclusion?position=${changePosition}`, { key: org.key, ...(actor !== undefined && { actor }) });
    expect((await proof()).status).toBe(200);
    expect((await proof(org.admin)).status).toBe(200);
    expect((await proof(org.admin.toUpperCase())).status).toBe(200);
    expectProblem(await proof(agent), 403, 'INSUFFICIENT_AUTHORITY');
    expectProblem(await proof('00000000-0000-4000-8000-0000000000ff'), 403, 'INSUFFICIENT_AUTHORITY');
    expectProblem(await proof('system'), 400, 'VALIDATION_FAILED');
    // the system key names nobody: its X-Actor-Id changes nothing
    expect((await app.api.request('GET', `/v1/audit/proofs/inclusion?position=${changePosition}`, { key: SYSTEM_KEY, actor: agent })).status).toBe(200);
  });

  it("an organization's key proves the entries of its erasures' record, its mail ledger and its members' presence streams too (session 22's probe and probe 29b: 404)", async () => {
    const own = await app.api.organization();
    const as = { key: own.key, actor: own.admin, workspaceId: own.workspaceId };
    const member = await app.api.member(as, 'present.then.gone@acme.test', { roles: ['agent'] });
    const beat = await app.api.request('POST', `/v1/workspaces/${own.workspaceId}/presence/heartbeat`, { key: own.key, actor: member, body: { status: 'online' } });
    expect(beat.status).toBe(200);
    expect((await app.api.request('DELETE', `/v1/organizations/${own.organizationId}/users/${member}`, { key: own.key, actor: own.admin })).status).toBe(200);
    const streamsOf = () => {
      const db = new DatabaseSync(join(work, 'data', 'events.sqlite'), { readOnly: true });
      try {
        const rows = db.prepare('SELECT position, stream FROM events WHERE stream = ? OR stream = ? OR stream LIKE ?').all(`erasures-${own.organizationId}`, `mail-${own.organizationId}`, `presence-${own.workspaceId}-%`) as { position: number; stream: string }[];
        return new Map(rows.map((r) => [r.stream.split('-')[0]!, String(r.position)]));
      } finally {
        db.close();
      }
    };
    let positions = streamsOf();
    for (let i = 0; i < 100 && positions.size < 3; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      positions = streamsOf();
    }
    expect([...positions.keys()].sort()).toEqual(['erasures', 'mail', 'presence']);
    await checkpointCovering(BigInt(Math.max(...[...positions.values()].map(Number))));
    for (const position of positions.values()) {
      expect((await app.api.request('GET', `/v1/audit/proofs/inclusion?position=${position}`, { key: own.key })).status).toBe(200);
      expectProblem(await app.api.request('GET', `/v1/audit/proofs/inclusion?position=${position}`, { key: org.key }), 404, 'AUDIT_ENTRY_NOT_FOUND');
    }
  });

  it('a consistency proof links an earlier checkpoint to a later one (the system key, or any organization: probe 33 O2)', async () => {
    const [, firstSize, firstRoot] = keptCheckpoint.split('\n');
    await app.api.member({ key: org.key, actor: org.admin, workspaceId: org.workspaceId }, 'later@acme.test');
    await checkpointLargerThan(app, Number(firstSize));
    for (const key of [SYSTEM_KEY, org.key, (await app.api.organization()).key]) {
      const later = await app.api.request('GET', `/v1/audit/proofs/consistency?from=${firstSize}`, { key });
      expect(later.status).toBe(200);
      const { to, hashes, toRoot, fromRoot } = later.body;
      expect(fromRoot).toBe(firstRoot);
      expect(to).toBeGreaterThan(Number(firstSize));
      expect(rfcVerifyConsistency(Number(firstSize), to, b(firstRoot!), b(toRoot), hashes.map(b))).toBe(true);
    }
    expectProblem(await app.api.request('GET', `/v1/audit/proofs/consistency?from=${firstSize}`), 401, 'UNAUTHENTICATED');
    const to = Number((await app.api.request('GET', '/v1/audit/checkpoint', { key: org.key })).body.split('\n')[1]);
    expectProblem(await app.api.request('GET', `/v1/audit/proofs/consistency?from=${to + 1000}&to=${to}`, { key: SYSTEM_KEY }), 422, 'AUDIT_TREE_SIZE');
    // a kept checkpoint larger than the latest signed tree: said as such, not "from must not exceed to" (probe 33 O2)
    const beyond = await app.api.request('GET', `/v1/audit/proofs/consistency?from=${to + 1000}`, { key: org.key });
    expectProblem(beyond, 422, 'AUDIT_TREE_SIZE');
    expect(beyond.body.detail).toMatch(new RegExp(`^The latest signed tree has \\d+ leaves, fewer than from \\(${to + 1000}\\): .*its log is now shorter than it was\\.$`));
  });

});

describe('verifiable history: the auditor verifies the embedded log', () => {
  const quiet = createOutput({ json: true }, { out: { write: () => true } as never, err: { write: () => true } as never });
  const verify = (dataDir: string, checkpoints: string[] = []): Promise<VerifyResult> => verifyCommand({ dataDir, checkpoints, publicKey }, quiet);
  let pristine: string;
  let positions: { access: bigint; deleteAt: bigint; swapA: bigint; swapB: bigint; insertAt: bigint };

  beforeAll(async () => {
    // a user's erasure first: verification must still pass after it
    const del = await app.api.request('DELETE', `/v1/organizations/${org.organizationId}/users/${erased}`, { key: org.key, actor: org.admin });
    expect(del.status).toBe(200);
    await checkpointCovering(BigInt(del.body.position));
    await app.stop();
    stopped = true;
    pristine = join(work, 'pristine');
    cpSync(app.dataDir, pristine, { recursive: true });
    const db = new DatabaseSync(join(pristine, 'events.sqlite'), { readOnly: true });
    const access = (db.prepare("SELECT position FROM events WHERE type = 'AccessLevelChanged'").get() as { position: number }).position;
    db.close();
    positions = { access: BigInt(access), deleteAt: BigInt(access - 2), swapA: BigInt(access - 3), swapB: BigInt(access - 1), insertAt: BigInt(access - 4) };
  }, 30_000);

  /** a copy of the data dir, forged with SQL on its events.sqlite */
  const forged = (name: string, sql: string): string => {
    const dir = join(work, name);
    cpSync(pristine, dir, { recursive: true });
    const db = new DatabaseSync(join(dir, 'events.sqlite'));
    db.exec(sql);
    db.close();
    return dir;
  };

  it('passes on the log as written, after a user was erased (crypto-shredding changes no entry), and against the kept checkpoint', async () => {
    const result = await verify(pristine, [join(work, 'kept-checkpoint')]);
    expect(result).toMatchObject({ ok: true, problems: [] });
    expect(result.checkpointsChecked).toBeGreaterThan(1);
  });

  it('names the position of a past AccessLevelChanged rewritten from agent to owner', async () => {
    const dir = forged('rewritten', `UPDATE events SET data = replace(data, '"before":["agent"]', '"before":["owner"]') WHERE position = ${positions.access}`);
    const result = await verify(dir, [join(work, 'kept-checkpoint')]);
    expect(result.ok).toBe(false);
    expect(result.firstDifference).toMatchObject({ position: String(positions.access), kind: 'altered' });
    expect(result.problems.map((p) => p.code)).toEqual(expect.arrayContaining(['ENTRY_DIFFERS', 'CHECKPOINT_ROOT']));
  });

  it('names the position of a deleted event', async () => {
    const result = await verify(forged('deleted', `DELETE FROM events WHERE position = ${positions.deleteAt}`));
    expect(result.firstDifference).toMatchObject({ position: String(positions.deleteAt), kind: 'missing' });
  });

  it('a log cut short names the size of the checkpoint it falls short of (probe 33 O3)', async () => {
    const dir = forged('cut-short', 'DELETE FROM events WHERE position > (SELECT max(position) - 3 FROM events)');
    const result = await verify(dir);
    expect(result.problems).toContainEqual(expect.objectContaining({ code: 'LOG_TOO_SHORT', message: expect.stringMatching(/^the log has \d+ entries, fewer than the \d+ of the stored checkpoint/) }));
  });

  it('names the first position of two swapped events', async () => {
    const { swapA: a, swapB: c } = positions;
    const result = await verify(
      forged('swapped', `UPDATE events SET position = -1 WHERE position = ${a}; UPDATE events SET position = ${a} WHERE position = ${c}; UPDATE events SET position = ${c} WHERE position = -1;`),
    );
    expect(result.firstDifference).toMatchObject({ position: String(a) });
  });

  it('names the position of an inserted event (later positions moved up to make room)', async () => {
    const p = positions.insertAt;
    const result = await verify(
      forged(
        'inserted',
        `UPDATE events SET position = -position WHERE position >= ${p}; UPDATE events SET position = 1 - position WHERE position < 0;
         INSERT INTO events (position, id, stream, revision, type, data, metadata, created)
           VALUES (${p}, 'forged-event', 'workspace-forged', 0, 'AccessLevelChanged', '{"after":["owner"]}', '{}', 0);`,
      ),
    );
    expect(result.firstDifference).toMatchObject({ position: String(p) });
    expect(result.ok).toBe(false);
  });

  it('the CLI exits 0 with "verified N events, root …" and 1 naming the position; a kept checkpoint with a changed size or root is refused', () => {
    const cli = (...args: string[]) =>
      spawnSync(process.execPath, ['--no-experimental-strip-types', '-r', './tools/register.cjs', 'apps/audit-cli/src/main.ts', ...args], { encoding: 'utf8', env: { ...process.env, CI: 'true' } });
    const ok = cli('verify', '--data-dir', pristine, '--public-key', publicKey, '--checkpoint', join(work, 'kept-checkpoint'));
    expect(ok.stdout).toMatch(/^verified \d+ events, root [A-Za-z0-9+/]{43}=/);
    expect(ok.status).toBe(0);
    const bad = cli('verify', '--data-dir', join(work, 'rewritten'), '--public-key', publicKey);
    expect(bad.stdout).toContain(`FAILED at position ${positions.access}`);
    expect(bad.status).toBe(1);
    const [origin, size, root, ...signature] = keptCheckpoint.split('\n');
    writeFileSync(join(work, 'bigger'), [origin, String(Number(size) + 1), root, ...signature].join('\n'));
    const otherRoot = Buffer.from(b(root!).map((x) => x ^ 1)).toString('base64');
    writeFileSync(join(work, 'other-root'), [origin, size, otherRoot, ...signature].join('\n'));
    // carried through Windows or mail: CRLF line ends, blank lines and spaces around it; still the notary's note (probe 10)
    writeFileSync(join(work, 'crlf'), `\r\n${keptCheckpoint.replace(/\n/g, '\r\n')}  \r\n\r\n`);
    const carried = cli('verify', '--data-dir', pristine, '--public-key', publicKey, '--checkpoint', join(work, 'crlf'));
    expect(carried.stdout).toMatch(/^verified \d+ events/);
    expect(carried.status).toBe(0);
    for (const file of ['bigger', 'other-root']) {
      const refused = cli('verify', '--data-dir', pristine, '--public-key', publicKey, '--checkpoint', join(work, file), '--json');
      expect(refused.status).toBe(1);
      expect(JSON.parse(refused.stdout).problems[0]).toMatchObject({ code: 'CHECKPOINT_SIGNATURE' });
    }
  }, 60_000);

  it('a reader that stops reading the output (`… | head`) ends it: no EPIPE stack trace', async () => {
    const child = spawn(process.execPath, ['--no-experimental-strip-types', '-r', './tools/register.cjs', 'apps/audit-cli/src/main.ts', 'verify', '--data-dir', pristine, '--public-key', publicKey], {
      env: { ...process.env, CI: 'true' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.destroy();
    let stderr = '';
    child.stderr!.on('data', (chunk) => (stderr += chunk));
    const status = await new Promise<number | null>((done) => child.on('exit', done));
    expect({ status, stderr: stderr.includes('EPIPE') }).toEqual({ status: 0, stderr: false });
  }, 60_000);

  it('a damaged log (a row that is no event, a page SQLite finds malformed) fails the check in a sentence (LOG_UNREADABLE, exit 1), JSON with --json, no stack', () => {
    // black-box probe 8: a TypeError's stack trace, and with --json nothing on stdout
    const cli = (dir: string, ...args: string[]) =>
      spawnSync(process.execPath, ['--no-experimental-strip-types', '-r', './tools/register.cjs', 'apps/audit-cli/src/main.ts', 'verify', '--data-dir', dir, '--public-key', publicKey, ...args], {
        encoding: 'utf8',
        env: { ...process.env, CI: 'true' },
      });
    const notAnEvent = forged('not-an-event', `UPDATE events SET data = X'FF00' WHERE position = ${positions.access}`);
    const notJson = forged('not-json', `UPDATE events SET metadata = '[1' WHERE position = ${positions.access}`);
    const malformed = join(work, 'malformed');
    cpSync(pristine, malformed, { recursive: true });
    const file = join(malformed, 'events.sqlite');
    const bytes = readFileSync(file);
    bytes.fill(0xff, 4096, 4096 + 8); // the b-tree header of page 2, the events table's root
    writeFileSync(file, bytes);
    const escaped = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    for (const [dir, reason] of [
      [notAnEvent, escaped(`The row of position ${positions.access} (event `)],
      // (session 22's probe: a stack trace) the parser's own sentence, as the store's read would fail
      [notJson, '.*\\bJSON\\b'],
      [malformed, 'database disk image is malformed'],
    ] as const) {
      const text = cli(dir);
      expect({ status: text.status, stdout: text.stdout.trim(), stack: text.stderr.includes('    at ') }).toEqual({
        status: 1,
        stdout: expect.stringMatching(new RegExp(`FAILED: the log cannot be read to its end: ${reason}`)),
        stack: false,
      });
      const json = cli(dir, '--json');
      expect(json.status).toBe(1);
      expect(JSON.parse(json.stdout)).toMatchObject({ ok: false, problems: [{ code: 'LOG_UNREADABLE', message: expect.stringMatching(new RegExp(reason)) }] });
    }
  }, 60_000);

  it("an edit of the notary's file alone is reported as such (STORED_TREE_ALTERED), not as an entry of the log altered", async () => {
    const dir = join(work, 'notary-edited');
    cpSync(pristine, dir, { recursive: true });
    const db = new DatabaseSync(join(dir, 'audit.sqlite'));
    db.exec(`UPDATE leaves SET hash = zeroblob(32) WHERE idx = ${Number(positions.access) - 1}`);
    db.close();
    const result = await verify(dir, [join(work, 'kept-checkpoint')]);
    expect(result.ok).toBe(false);
    expect(result.problems[0]).toMatchObject({ code: 'STORED_TREE_ALTERED' });
    expect(result.problems.map((p) => p.code)).not.toContain('ENTRY_DIFFERS');
    expect(result.problems.map((p) => p.code)).not.toContain('CHECKPOINT_ROOT');
    expect(result.firstDifference).toBeUndefined();
  });

  it("probe 33 F8: an entry edited in the log and its leaf rewritten in the notary's file to match is an entry that differs, located by leaves (never 'not the log')", async () => {
    const dir = forged('releafed', `UPDATE events SET data = replace(data, '"before":["agent"]', '"before":["owner"]') WHERE position = ${positions.access}`);
    const events = new DatabaseSync(join(dir, 'events.sqlite'), { readOnly: true });
    const r = events.prepare('SELECT * FROM events WHERE position = ?').get(Number(positions.access)) as Record<string, string | number>;
    events.close();
    const text = entryText({ id: r.id, stream: r.stream, revision: BigInt(r.revision!), position: BigInt(r.position!), type: r.type, data: JSON.parse(String(r.data)), metadata: JSON.parse(String(r.metadata)), created: new Date(r.created!) } as never);
    const audit = new DatabaseSync(join(dir, 'audit.sqlite'));
    expect(audit.prepare('UPDATE leaves SET hash = ? WHERE position = ?').run(leafHash(text), Number(positions.access)).changes).toBe(1);
    audit.close();
    const result = await verify(dir, [join(work, 'kept-checkpoint')]);
    expect(result.problems[0]).toMatchObject({ code: 'ENTRY_DIFFERS', message: expect.stringMatching(/^an entry at leaves \d+–\d+ of the log differs from what was signed/) });
    expect(result.problems.map((p) => p.message).join('\n')).not.toContain('not the log');
  });

  it("an edited inner node of the notary's tree is reported (STORED_TREE_ALTERED), not only an edited leaf (probe 23: verify passed while proofs led nowhere)", async () => {
    for (const [name, edit] of [
      ['node-edited', 'UPDATE nodes SET hash = zeroblob(32) WHERE level = 1 AND idx = 3'],
      ['node-removed', 'DELETE FROM nodes WHERE level = 2 AND idx = 0'],
    ] as const) {
      const dir = join(work, name);
      cpSync(pristine, dir, { recursive: true });
      const db = new DatabaseSync(join(dir, 'audit.sqlite'));
      db.exec(edit);
      db.close();
      const result = await verify(dir, [join(work, 'kept-checkpoint')]);
      expect({ name, ok: result.ok, codes: result.problems.map((p) => p.code) }).toEqual({ name, ok: false, codes: ['STORED_TREE_ALTERED'] });
      expect(result.problems[0]!.message).toMatch(name === 'node-edited' ? /level 1, index 3 is not the hash of the leaves under it/ : /level 2, index 0 is missing/);
    }
  });

  it('nothing vouches for a log without any checkpoint (NO_CHECKPOINT, exit 1); entries after the last checkpoint are counted apart', async () => {
    const bare = join(work, 'no-notary');
    cpSync(pristine, bare, { recursive: true });
    rmSync(join(bare, 'audit.sqlite'));
    const alone = await verify(bare);
    expect(alone).toMatchObject({ ok: false, checkpointsChecked: 0, eventsCovered: 0, problems: [expect.objectContaining({ code: 'NO_CHECKPOINT' })] });

    const later = forged('appended', `INSERT INTO events (position, id, stream, revision, type, data, metadata, created)
      SELECT MAX(position) + 1, 'late-event', 'workspace-late', 0, 'AccessLevelChanged', '{}', '{}', CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER) FROM events`);
    const result = await verify(later, [join(work, 'kept-checkpoint')]);
    expect(result.ok).toBe(true);
    expect(result.eventsCovered).toBeLessThan(result.events);
    const cli = spawnSync(process.execPath, ['--no-experimental-strip-types', '-r', './tools/register.cjs', 'apps/audit-cli/src/main.ts', 'verify', '--data-dir', later, '--public-key', publicKey], {
      encoding: 'utf8',
      env: { ...process.env, CI: 'true' },
    });
    expect(cli.stdout).toMatch(new RegExp(`the last ${result.events - result.eventsCovered} came after the latest checkpoint and are not vouched for yet`));
    expect(cli.status).toBe(0);
  }, 60_000);

  it("a start over a log whose notary's tree is gone says so (a warning); an intact one says nothing (probe 32)", async () => {
    const gone = join(work, 'tree-gone');
    cpSync(pristine, gone, { recursive: true });
    rmSync(join(gone, 'audit.sqlite'));
    const kept = join(work, 'tree-kept');
    cpSync(pristine, kept, { recursive: true });
    // (the notary's lines go through Nest's Logger: spied on, whichever logger the app installed)
    const warnings = async (dataDir: string) => {
      const warn = jest.spyOn(Logger.prototype, 'warn');
      try {
        const running = await startTestApp({ ROLLCALL_DATA_DIR: dataDir });
        await running.stop();
        return warn.mock.calls.map(([message]) => String(message)).filter((message) => message.includes('holds no tree while the log holds'));
      } finally {
        warn.mockRestore();
      }
    };
    expect(await warnings(gone)).toEqual([expect.stringMatching(/^notary: .*audit\.sqlite holds no tree while the log holds events \(up to position \d+\)/)]);
    expect(await warnings(kept)).toEqual([]);
  }, 60_000);

  it('a stored checkpoint whose signature does not verify fails the verification', async () => {
    const dir = join(work, 'bad-signature');
    cpSync(pristine, dir, { recursive: true });
    const db = new DatabaseSync(join(dir, 'audit.sqlite'));
    db.exec("UPDATE checkpoints SET note = replace(note, char(10) || char(10), char(10) || 'extension' || char(10) || char(10)) WHERE size = (SELECT MAX(size) FROM checkpoints)");
    db.close();
    const result = await verify(dir);
    expect(result.ok).toBe(false);
    expect(result.problems[0]).toMatchObject({ code: 'CHECKPOINT_SIGNATURE' });
  });
});
