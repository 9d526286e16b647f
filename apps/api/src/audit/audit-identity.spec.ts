import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { SqliteTreeStore, checkpointText, signerFromSeed } from '@rollcall/audit';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../config';
import { loadAuditIdentity } from './audit-identity';

const KEY_A = Buffer.alloc(32, 1).toString('base64');
const KEY_B = Buffer.alloc(32, 2).toString('hex');

describe("the notary's name and key, checked against what the data dir recorded (probe 32 F3)", () => {
  let dataDir: string;
  beforeEach(() => (dataDir = mkdtempSync(join(tmpdir(), 'rollcall-audit-identity-'))));
  afterEach(() => rmSync(dataDir, { recursive: true, force: true }));
  const identity = (env: Record<string, string> = {}) => loadAuditIdentity(loadConfig({ ROLLCALL_DATA_DIR: dataDir, ...env }));
  const file = (name: string) => readFileSync(join(dataDir, name), 'utf8').trim();

  it('a fresh data dir started with ROLLCALL_AUDIT_ORIGIN and ROLLCALL_AUDIT_SIGNING_KEY records them (the key by its public half); replicas with the same values start', () => {
    const env = { ROLLCALL_AUDIT_ORIGIN: 'audit.acme.test/log', ROLLCALL_AUDIT_SIGNING_KEY: KEY_A };
    const first = identity(env);
    expect(first).toEqual({ origin: 'audit.acme.test/log', seed: Buffer.alloc(32, 1) });
    expect(file('audit-origin')).toBe('audit.acme.test/log');
    expect(file('audit-public-key')).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    // the private half stays in the environment
    expect(() => file('audit-signing-key')).toThrow(/ENOENT/);
    expect(identity(env)).toEqual(first);
    // the same key in another of its forms
    expect(identity({ ...env, ROLLCALL_AUDIT_SIGNING_KEY: Buffer.alloc(32, 1).toString('hex') })).toEqual(first);
  });

  it('refuses another origin or key than recorded, or no key where one was configured, naming the variable and the file', () => {
    identity({ ROLLCALL_AUDIT_ORIGIN: 'audit.acme.test/log', ROLLCALL_AUDIT_SIGNING_KEY: KEY_A });
    expect(() => identity({ ROLLCALL_AUDIT_ORIGIN: 'renamed.example/audit', ROLLCALL_AUDIT_SIGNING_KEY: KEY_A })).toThrow(
      `ROLLCALL_AUDIT_ORIGIN is "renamed.example/audit", but this data dir's log is signed under "audit.acme.test/log" (kept in ${join(dataDir, 'audit-origin')})`,
    );
    expect(() => identity({ ROLLCALL_AUDIT_ORIGIN: 'audit.acme.test/log', ROLLCALL_AUDIT_SIGNING_KEY: KEY_B })).toThrow(
      new RegExp(`ROLLCALL_AUDIT_SIGNING_KEY is not the key this data dir's log is signed with \\(its public key \\S+ is kept in ${join(dataDir, 'audit-public-key')}\\)`),
    );
    // unset, a key would be generated: a new key as surely as another configured one
    expect(() => identity({ ROLLCALL_AUDIT_ORIGIN: 'audit.acme.test/log' })).toThrow(/ROLLCALL_AUDIT_SIGNING_KEY is not set, but this data dir's log is signed with a configured key/);
    // the refused start generated no key (one left in the data dir would stand for its key), and the right one starts
    expect(() => file('audit-signing-key')).toThrow(/ENOENT/);
    expect(identity({ ROLLCALL_AUDIT_ORIGIN: 'audit.acme.test/log', ROLLCALL_AUDIT_SIGNING_KEY: KEY_A }).origin).toBe('audit.acme.test/log');
  });

  it('a data dir from before this check, its key generated, records that key: another one configured now is refused', () => {
    identity();
    rmSync(join(dataDir, 'audit-public-key'));
    expect(() => identity({ ROLLCALL_AUDIT_SIGNING_KEY: KEY_A })).toThrow(/ROLLCALL_AUDIT_SIGNING_KEY is not the key .* \(generated into /);
    expect(identity({ ROLLCALL_AUDIT_SIGNING_KEY: file('audit-signing-key') }).seed).toEqual(identity().seed);
  });

  it('over a data dir whose key was generated: the same key set in the environment starts, another is refused naming audit-signing-key; another origin too', () => {
    const generated = identity();
    expect(generated.origin).toBe('localhost:3000/audit');
    expect(identity({ ROLLCALL_AUDIT_SIGNING_KEY: file('audit-signing-key'), ROLLCALL_AUDIT_ORIGIN: 'localhost:3000/audit' })).toEqual(generated);
    expect(() => identity({ ROLLCALL_AUDIT_SIGNING_KEY: KEY_A })).toThrow(
      `ROLLCALL_AUDIT_SIGNING_KEY is not the key this data dir's log is signed with (generated into ${join(dataDir, 'audit-signing-key')})`,
    );
    expect(() => identity({ ROLLCALL_AUDIT_ORIGIN: 'renamed.example/audit' })).toThrow(/ROLLCALL_AUDIT_ORIGIN is "renamed.example\/audit", but .* "localhost:3000\/audit"/);
    // unset, the origin is the data dir's whatever the public URL says now
    expect(identity({ ROLLCALL_PUBLIC_URL: 'https://elsewhere.test' })).toEqual(generated);
  });

  it("probe 44 F3: its key files removed, a data dir whose notary's tree another key signed is refused, naming both keys; the key that signed it starts", () => {
    const first = identity();
    const tree = new SqliteTreeStore(join(dataDir, 'audit.sqlite'));
    tree.saveCheckpoint({ size: 0, root: Buffer.alloc(32), note: signerFromSeed(first.origin, first.seed).sign(checkpointText({ origin: first.origin, size: 0, root: Buffer.alloc(32) })), signedAt: new Date() });
    tree.close();
    expect(identity()).toEqual(first);
    const keys = ['audit-signing-key', 'audit-public-key'].map((name) => [name, readFileSync(join(dataDir, name))] as const);
    for (const [name] of keys) rmSync(join(dataDir, name));
    expect(() => identity()).toThrow(/the notary's tree in .*audit\.sqlite is signed, but this data dir has no key .*: its key files were replaced or removed/);
    // another key put in their place (or configured): refused, naming the key that signed the tree
    expect(() => identity({ ROLLCALL_AUDIT_SIGNING_KEY: KEY_B })).toThrow(
      /ROLLCALL_AUDIT_SIGNING_KEY is not the key that signed the notary's tree in .* \(The note is not signed by a known key: it is signed by .* \(key id [0-9a-f]{8}\), the key trusted is .* \(key id [0-9a-f]{8}\)\)/,
    );
    writeFileSync(join(dataDir, 'audit-signing-key'), `${KEY_B}\n`);
    expect(() => identity()).toThrow(/signed by another key than this data dir's \(The note is not signed by a known key: it is signed by .* \(key id [0-9a-f]{8}\)/);
    rmSync(join(dataDir, 'audit-signing-key'));
    // a refused start made and recorded no key of its own
    expect(existsSync(join(dataDir, 'audit-public-key'))).toBe(false);
    // the key that signed it restored: it starts; `audit-origin` lost too: the tree's name is recorded again (probe 44b F4)
    for (const [name, content] of keys) writeFileSync(join(dataDir, name), content);
    rmSync(join(dataDir, 'audit-origin'));
    expect(identity({ ROLLCALL_PUBLIC_URL: 'https://elsewhere.example' })).toEqual(first);
    expect(file('audit-origin')).toBe(first.origin);
  });
});
