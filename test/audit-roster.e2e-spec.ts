import { type AddressInfo, createServer } from 'node:net';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { checkpointText, generateSeed, leafHash, signerFromSeed } from '@rollcall/audit';
import { type TestApp, expectProblem, startTestApp } from './support/app';
import { auditCli } from './support/audit-cli';

/*
 * Rule 17 (docs/rules.md#rule-17): the roster at T and the reasons, by replay, over the real app; and the auditor's
 * CLI against it (access, roster, history, prove, check-proof).
 */
let app: TestApp;
let org: Awaited<ReturnType<TestApp['api']['organization']>>;
let ann: string;
let bob: string;
const times: Record<'beforeBob' | 'bobAgent' | 'bobRestricted', string> = { beforeBob: '', bobAgent: '', bobRestricted: '' };
const work = mkdtempSync(join(tmpdir(), 'rollcall-roster-e2e-'));
const tick = async () => {
  await new Promise((r) => setTimeout(r, 15));
  const now = new Date().toISOString();
  await new Promise((r) => setTimeout(r, 15));
  return now;
};

beforeAll(async () => {
  app = await startTestApp({ ROLLCALL_AUDIT_CHECKPOINT_MS: '100' });
  org = await app.api.organization();
  const as = { key: org.key, actor: org.admin, workspaceId: org.workspaceId };
  ann = await app.api.member(as, 'ann@acme.test', { roles: ['manager'] });
  times.beforeBob = await tick();
  bob = await app.api.member(as, 'bob@acme.test', { roles: ['agent'] });
  times.bobAgent = await tick();
  const promote = await app.api.request('PATCH', `/v1/workspaces/${org.workspaceId}/members/${bob}/access`, {
    key: org.key,
    actor: org.admin,
    body: { roles: ['manager'], restrictions: { workspace_settings: true } },
  });
  expect(promote.status).toBe(200);
  times.bobRestricted = await tick();
}, 30_000);

afterAll(async () => {
  await app.stop();
  rmSync(work, { recursive: true, force: true });
});

const roster = (asOf: string) => app.api.request('GET', `/v1/workspaces/${org.workspaceId}/access?asOf=${encodeURIComponent(asOf)}`, { key: org.key, actor: org.admin });

describe('rule 17: every member\'s access at a time T, by replay', () => {
  it('lists who was a member at T with the access they had then', async () => {
    const early = await roster(times.beforeBob);
    expect(early.status).toBe(200);
    // written as a stream (probe 42 F1), an answer like the others: JSON, never cached, no length known beforehand
    expect(early.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(early.headers.get('cache-control')).toBe('no-store');
    expect(early.headers.get('transfer-encoding')).toBe('chunked');
    expect(early.body.members.map((m: { userId: string }) => m.userId).sort()).toEqual([ann, org.admin].sort());
    const later = await roster(times.bobAgent);
    const bobThen = later.body.members.find((m: { userId: string }) => m.userId === bob);
    expect(bobThen).toMatchObject({ status: 'active', roles: ['agent'], restrictions: {}, grants: [], teams: [] });
    expect(bobThen.permissions).toContain('messages');
    const now = await roster(times.bobRestricted);
    const bobNow = now.body.members.find((m: { userId: string }) => m.userId === bob);
    expect(bobNow).toMatchObject({ roles: ['manager'], restrictions: { workspace_settings: true } });
    expect(bobNow.permissions).not.toContain('settings.users');
    expect(now.body.orgAdmins).toEqual([org.admin]);
    expect(Number(now.body.basedOn.lastPosition)).toBeGreaterThan(Number(later.body.basedOn.lastPosition));
  });

  it('refuses a bad time and a reader without the member-management permission', async () => {
    expectProblem(await roster('yesterday'), 400, 'VALIDATION_FAILED');
    const asBob = await app.api.request('GET', `/v1/workspaces/${org.workspaceId}/access`, { key: org.key, actor: bob });
    expectProblem(asBob, 403, 'INSUFFICIENT_AUTHORITY');
  });

  it("rule 1: a member without the member-management permission reads their own access at T, not another member's", async () => {
    const own = await app.api.request('GET', `/v1/workspaces/${org.workspaceId}/members/${bob}/access?asOf=${encodeURIComponent(times.bobAgent)}`, { key: org.key, actor: bob });
    expect(own.status).toBe(200);
    expect(own.body).toMatchObject({ roles: ['agent'] });
    const other = await app.api.request('GET', `/v1/workspaces/${org.workspaceId}/members/${ann}/access`, { key: org.key, actor: bob });
    expectProblem(other, 403, 'INSUFFICIENT_AUTHORITY');
  });

  it('an id that names no user of the organization is 404 USER_NOT_FOUND; a user before they joined is `status: none` (probe 36 F4)', async () => {
    const at = (userId: string, asOf = '') => app.api.request('GET', `/v1/workspaces/${org.workspaceId}/members/${userId}/access${asOf && `?asOf=${encodeURIComponent(asOf)}`}`, { key: org.key, actor: org.admin });
    expectProblem(await at('nope-123'), 404, 'USER_NOT_FOUND');
    // the user's UUID in capitals is theirs (probe 80 F11)
    expect((await at(bob.toUpperCase())).body.userId).toBe(bob);
    const before = await at(bob, times.beforeBob);
    expect({ status: before.status, memberStatus: before.body.status }).toEqual({ status: 200, memberStatus: 'none' });
  });

  it("to a manager, a user of the organization who was never a member here is NOT_A_MEMBER, as an unknown id: which ids are the organization's users is the org admins' to know (probe 99 F3)", async () => {
    const as = { key: org.key, actor: org.admin };
    const elsewhere = (await app.api.request('POST', `/v1/organizations/${org.organizationId}/workspaces`, { ...as, body: { name: 'Elsewhere' } })).body.workspaceId as string;
    const stranger = await app.api.member({ ...as, workspaceId: elsewhere }, `stranger-${Math.random()}@acme.test`);
    const read = (userId: string, actor: string) => app.api.request('GET', `/v1/workspaces/${org.workspaceId}/members/${userId}/access`, { key: org.key, actor });
    const toManager = await read(stranger, ann);
    expectProblem(toManager, 404, 'NOT_A_MEMBER');
    expect(toManager.body.detail).toBe((await read('0'.repeat(8) + '-0000-4000-8000-' + '0'.repeat(12), ann)).body.detail.replace('00000000-0000-4000-8000-000000000000', stranger));
    // an org admin, who knows the organization's users, reads `status: none`
    expect((await read(stranger, org.admin)).body).toMatchObject({ status: 'none' });
  });
});

describe("rule 17: a member's access at T with explain=true", () => {
  it('names the role that gave each permission and the restriction that removed the others', async () => {
    const reply = await app.api.request('GET', `/v1/workspaces/${org.workspaceId}/members/${bob}/access?asOf=${encodeURIComponent(times.bobRestricted)}&explain=true`, {
      key: org.key,
      actor: org.admin,
    });
    expect(reply.status).toBe(200);
    const { explanation } = reply.body;
    expect(explanation.granted).toContainEqual({ permission: 'contacts.delete', from: ['role:manager'] });
    expect(explanation.missing).toContainEqual({ permission: 'settings.general', reason: 'removed', by: ['restriction:workspace_settings'], from: ['role:manager'] });
    expect(explanation.missing).toContainEqual({ permission: 'channels.connect', reason: 'not_given', givenBy: ['role:owner'] });
    const plain = await app.api.request('GET', `/v1/workspaces/${org.workspaceId}/members/${bob}/access?asOf=${encodeURIComponent(times.bobAgent)}`, { key: org.key, actor: org.admin });
    expect(plain.body).toMatchObject({ roles: ['agent'] });
    expect(plain.body.explanation).toBeUndefined();
    expectProblem(await app.api.request('GET', `/v1/workspaces/${org.workspaceId}/members/${bob}/access?explain=maybe`, { key: org.key, actor: org.admin }), 400, 'VALIDATION_FAILED');
  });
});

describe("verifiable history: the auditor's CLI against the API", () => {
  // asynchronous: the app answering the CLI runs in this process
  const cli = (...args: string[]) => auditCli(args, { ROLLCALL_URL: app.url, ROLLCALL_API_KEY: org.key, ROLLCALL_ACTOR_ID: org.admin });

  it('access --explain, roster and history read through the API', async () => {
    const access = await cli('access', '--workspace', org.workspaceId, '--user', bob, '--at', times.bobRestricted, '--explain', '--json');
    expect(access.status).toBe(0);
    expect(JSON.parse(access.stdout)).toMatchObject({ roles: ['manager'], explanation: { granted: expect.any(Array) } });
    const rosterLines = await cli('roster', '--workspace', org.workspaceId, '--at', times.bobAgent);
    expect(rosterLines.status).toBe(0);
    expect(rosterLines.stdout).toContain(`${bob}\tactive\tno\tagent\t`);
    const csv = await cli('history', '--workspace', org.workspaceId, '--format', 'csv');
    expect(csv.status).toBe(0);
    expect(csv.stdout.split('\n')[0]).toContain('position');
    const json = await cli('history', '--workspace', org.workspaceId, '--format', 'json');
    expect(JSON.parse(json.stdout).length).toBeGreaterThanOrEqual(4);
  }, 60_000);

  it('access --explain in text says why: the role behind each permission, the restriction behind each one removed', async () => {
    const text = await cli('access', '--workspace', org.workspaceId, '--user', bob, '--at', times.bobRestricted, '--explain');
    expect(text.status).toBe(0);
    // the instant the API answered for (its `asOf`)
    expect(text.stdout).toContain(`${bob} in ${org.workspaceId} at ${new Date(times.bobRestricted).toISOString()}: active`);
    expect(text.stdout).toContain('restrictions: workspace_settings\n');
    expect(text.stdout).toMatch(/\nscopes: .*contact_visibility=all/);
    expect(text.stdout).toContain('  + contacts.delete <- role:manager');
    expect(text.stdout).toContain('  - settings.general removed by restriction:workspace_settings (given by role:manager)');
    expect(text.stdout).toContain('  - channels.connect not given (role:owner would give it)');
  }, 60_000);

  it("probe 33: the text names who was an org admin (rule 5); history filters by --user and --by; an option a command does not take is a usage error, not dropped", async () => {
    const rosterText = (await cli('roster', '--workspace', org.workspaceId, '--at', times.bobAgent)).stdout;
    expect(rosterText.split('\n')[0]).toBe('userId\tstatus\torgAdmin\troles\tgrants\trestrictions\tscopes\tteams\tpermissions');
    expect(rosterText).toContain(`${org.admin}\tactive\tyes\t`);
    expect(rosterText).toContain(`org admins (an owner's authority here, rule 5): ${org.admin}\n`);
    // no partner then: said, not left out (test/partner-reach.e2e-spec.ts has teams seen)
    expect(rosterText).toContain('partner teams visible here (rule 16): -\n');
    const adminText = await cli('access', '--workspace', org.workspaceId, '--user', org.admin, '--at', times.bobAgent);
    expect(adminText.stdout).toContain("\norg admin: yes (an owner's authority in every workspace of the organization, member or not: rule 5)\n");
    expect((await cli('access', '--workspace', org.workspaceId, '--user', bob, '--at', times.bobAgent)).stdout).not.toContain('org admin: yes');

    const about = JSON.parse((await cli('history', '--workspace', org.workspaceId, '--user', bob)).stdout) as { userId: string; actorId: string }[];
    const api = await app.api.request('GET', `/v1/workspaces/${org.workspaceId}/history?userId=${bob}&limit=500`, { key: org.key, actor: org.admin });
    expect(about.length).toBeGreaterThanOrEqual(2);
    expect({ users: [...new Set(about.map((e) => e.userId))], count: about.length }).toEqual({ users: [bob], count: api.body.items.length });
    const byAdmin = JSON.parse((await cli('history', '--workspace', org.workspaceId, '--by', org.admin)).stdout) as { actorId: string }[];
    expect(byAdmin.length).toBeGreaterThanOrEqual(2);
    expect([...new Set(byAdmin.map((e) => e.actorId))]).toEqual([org.admin]);

    const foreign = await cli('roster', '--workspace', org.workspaceId, '--at', times.bobAgent, '--user', bob, '--explain');
    expect({ status: foreign.status, first: foreign.stderr.split('\n')[0] }).toEqual({ status: 2, first: '--user, --explain do not apply to roster' });
  }, 60_000);

  it('history --to <date> takes the whole day, as the API does; a time without a zone is refused (exit 2)', async () => {
    const today = new Date().toISOString().slice(0, 10);
    const entries = JSON.parse((await cli('history', '--workspace', org.workspaceId, '--to', today)).stdout) as unknown[];
    const all = await app.api.request('GET', `/v1/workspaces/${org.workspaceId}/history?limit=500`, { key: org.key, actor: org.admin });
    expect(entries).toHaveLength(all.body.items.length);
    expect(entries.length).toBeGreaterThanOrEqual(4);
    expect((await cli('history', '--workspace', org.workspaceId, '--to', `${today}T23:00:00`)).status).toBe(2);
  }, 60_000);

  it('probe 29: a malformed --url and an impossible date are usage errors (exit 2); an unreachable API is named with its cause (exit 1)', async () => {
    const malformed = await cli('history', '--workspace', org.workspaceId, '--url', 'notaurl');
    expect({ status: malformed.status, said: malformed.stderr.includes('--url (or ROLLCALL_URL) must be the API\'s http(s) URL, got notaurl'), trace: malformed.stderr.includes('    at ') }).toEqual({ status: 2, said: true, trace: false });
    // a port nothing listens on: one taken, then let go
    const closed = await new Promise<number>((resolve) => {
      const server = createServer().listen(0, '127.0.0.1', () => {
        const { port } = server.address() as AddressInfo;
        server.close(() => resolve(port));
      });
    });
    const unreachable = await cli('history', '--workspace', org.workspaceId, '--url', `http://127.0.0.1:${closed}`);
    expect({ status: unreachable.status, said: unreachable.stderr.includes(`cannot reach http://127.0.0.1:${closed}: ECONNREFUSED`) }).toEqual({ status: 1, said: true });
    const impossible = await cli('history', '--workspace', org.workspaceId, '--from', '2026-02-30');
    expect({ status: impossible.status, said: impossible.stderr.includes('--from must be a date (YYYY-MM-DD)') }).toEqual({ status: 2, said: true });
  }, 60_000);

  /** `prove` of bob's latest history entry into `file` (its position), once a checkpoint covers it */
  const proveBobsLatest = async (file: string): Promise<string> => {
    const history = await app.api.request('GET', `/v1/workspaces/${org.workspaceId}/history?userId=${bob}`, { key: org.key, actor: org.admin });
    const position = String(history.body.items.at(-1).position);
    let proved = await cli('prove', '--position', position, '--out', file);
    for (let i = 0; proved.status !== 0 && i < 20; i++) {
      // the notary signs a checkpoint every 100 ms here
      await new Promise((r) => setTimeout(r, 100));
      proved = await cli('prove', '--position', position, '--out', file);
    }
    expect(proved.status).toBe(0);
    return position;
  };

  it('prove writes a proof of a history entry that check-proof verifies offline, and refuses once the entry is altered', async () => {
    const file = join(work, 'proof.json');
    const position = await proveBobsLatest(file);
    const key = (await app.api.request('GET', '/v1/audit/public-key')).body.trim();
    const checked = await cli('check-proof', file, '--public-key', key);
    expect(checked.stdout).toMatch(new RegExp(`^proof OK: position ${position} \\(RestrictionsChanged in workspace-${org.workspaceId}\\) is leaf \\d+`));
    expect(checked.status).toBe(0);
    const bundle = JSON.parse(readFileSync(file, 'utf8'));
    const entry = Buffer.from(bundle.proof.entry, 'base64').toString('utf8').replace('workspace_settings', 'contact_deletion');
    expect(entry).toContain('contact_deletion');
    writeFileSync(join(work, 'forged.json'), JSON.stringify({ ...bundle, proof: { ...bundle.proof, entry: Buffer.from(entry).toString('base64') } }));
    const forged = await cli('check-proof', join(work, 'forged.json'), '--public-key', key);
    expect(forged.status).toBe(1);
    // which side is off: the leaf's path still reaches the signed root, so the entry is the one altered (probe 115 F2)
    expect(forged.stdout).toContain("proof FAILED: the entry does not hash to the leaf hash, whose audit path does lead to the checkpoint's root: the entry is not the one notarized");

    // a proof that does not check against the checkpoint given is written to no file (probe 115 F2: `--out` was
    // written all the same, exit 1): here a checkpoint of the same size signed under another key
    const [origin, size, root] = (bundle.checkpoint as string).split('\n');
    writeFileSync(join(work, 'stranger-checkpoint'), signerFromSeed(origin!, generateSeed()).sign(checkpointText({ origin: origin!, size: Number(size), root: Buffer.from(root!, 'base64') })));
    const kept = join(work, 'not-written.json');
    const refused = await cli('prove', '--position', position, '--checkpoint', join(work, 'stranger-checkpoint'), '--out', kept);
    expect({ status: refused.status, written: existsSync(kept), said: refused.stdout.includes(`nothing written to ${kept}: the proof does not check`) }).toEqual({ status: 1, written: false, said: true });
  }, 60_000);

  it('check-proof trusts only the key it is given: a proof signed under the file\'s own key fails; without --public-key, a bad key or an unreadable file it is a usage error (exit 2)', async () => {
    const file = join(work, 'proof-forge.json');
    await proveBobsLatest(file);
    const key = (await app.api.request('GET', '/v1/audit/public-key')).body.trim();
    const bundle = JSON.parse(readFileSync(file, 'utf8'));
    // a forger alters the entry, signs a one-leaf tree of it under a key of their own with the log's name, and ships that key
    const entry = Buffer.from(Buffer.from(bundle.proof.entry, 'base64').toString('utf8').replace('workspace_settings', 'contact_deletion'));
    const origin = bundle.checkpoint.slice(0, bundle.checkpoint.indexOf('\n'));
    const forger = signerFromSeed(origin, generateSeed());
    const leaf = leafHash(entry);
    const forged = {
      ...bundle,
      verifierKey: forger.verifier.text,
      checkpoint: forger.sign(checkpointText({ origin, size: 1, root: leaf })),
      proof: { ...bundle.proof, leafIndex: 0, treeSize: 1, entry: entry.toString('base64'), leafHash: leaf.toString('base64'), hashes: [] },
    };
    writeFileSync(join(work, 'self-signed.json'), JSON.stringify(forged));
    const trusted = await cli('check-proof', join(work, 'self-signed.json'), '--public-key', key);
    expect(trusted.status).toBe(1);
    expect(trusted.stdout).toContain('proof FAILED: the checkpoint does not verify');
    expect((await cli('check-proof', join(work, 'self-signed.json'))).status).toBe(2);
    expect((await cli('check-proof', file, '--public-key', 'not-a-key')).status).toBe(2);
    expect((await cli('check-proof', join(work, 'no-such-proof.json'), '--public-key', key)).status).toBe(2);
    expect((await cli('verify', '--data-dir', app.dataDir, '--public-key', 'not-a-key')).status).toBe(2);
  }, 60_000);

  it('check-proof of a hand-edited proof (a member null, of another type, missing) fails naming the field: no stack trace (probe 10)', async () => {
    const file = join(work, 'proof-shape.json');
    await proveBobsLatest(file);
    const key = (await app.api.request('GET', '/v1/audit/public-key')).body.trim();
    const bundle = JSON.parse(readFileSync(file, 'utf8'));
    const edits: [string, Record<string, unknown>, string][] = [
      ['no proof', { ...bundle, proof: null }, 'proof:'],
      ['hashes a string', { ...bundle, proof: { ...bundle.proof, hashes: 'abc' } }, 'proof.hashes:'],
      ['hashes one base64 string', { ...bundle, proof: { ...bundle.proof, hashes: 'AAAA' } }, 'proof.hashes:'],
      ['position a number', { ...bundle, proof: { ...bundle.proof, position: Number(bundle.proof.position) } }, 'proof.position:'],
      ['no checkpoint', { ...bundle, checkpoint: undefined }, 'checkpoint:'],
    ];
    for (const [name, edited, field] of edits) {
      writeFileSync(join(work, 'edited.json'), JSON.stringify(edited));
      const checked = await cli('check-proof', join(work, 'edited.json'), '--public-key', key);
      expect({ name, status: checked.status, stack: /TypeError|\bat \S+ \(/.test(checked.stdout + checked.stderr) }).toEqual({ name, status: 1, stack: false });
      expect(checked.stdout).toContain(`proof FAILED: not a proof as 'prove' writes it: ${field}`);
    }
  }, 60_000);

  it("probe 111 F4: a proof at the size of a checkpoint the log no longer holds (thinned) is asked with the one the auditor kept, and checks; without it, the CLI says why", async () => {
    const key = (await app.api.request('GET', '/v1/audit/public-key')).body.trim();
    const proofFile = join(work, 'proof-kept.json');
    const position = await proveBobsLatest(proofFile);
    const keptFile = join(work, 'kept-checkpoint.txt');
    expect((await cli('checkpoint', '--public-key', key, '--out', keptFile)).status).toBe(0);
    const size = Number(readFileSync(keptFile, 'utf8').split('\n')[1]);
    // the log grows past it (a later checkpoint), and the stored checkpoint of that size goes, as a thinning takes it
    await app.api.request('PATCH', `/v1/workspaces/${org.workspaceId}/members/${ann}/access`, { key: org.key, actor: org.admin, body: { roles: ['agent'] } });
    for (let i = 0; i < 50 && (await app.api.request('GET', '/v1/audit/checkpoint', { key: org.key })).body.split('\n')[1] === String(size); i++) await new Promise((r) => setTimeout(r, 100));
    const tree = new DatabaseSync(join(app.dataDir, 'audit.sqlite'));
    try {
      expect(tree.prepare('DELETE FROM checkpoints WHERE size = ?').run(size).changes).toBe(1);
    } finally {
      tree.close();
    }
    const without = await cli('prove', '--position', position, '--tree-size', String(size));
    expect({ status: without.status, said: without.stderr.includes(`the log holds no checkpoint of tree size ${size}: none was signed at that size, or it was thinned`) }).toEqual({ status: 1, said: true });
    const withKept = await cli('prove', '--position', position, '--checkpoint', keptFile, '--out', proofFile);
    expect(withKept.status).toBe(0);
    const checked = await cli('check-proof', proofFile, '--public-key', key);
    expect(checked.stdout).toMatch(new RegExp(`^proof OK: position ${position} .* of the signed tree of ${size} `));
    // a size other than the kept checkpoint's is a usage error
    expect((await cli('prove', '--position', position, '--checkpoint', keptFile, '--tree-size', String(size + 1))).status).toBe(2);
  }, 60_000);
});
