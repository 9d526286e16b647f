// What stops the API at start and is the operator's to fix (black-box probe 8): a data dir that cannot be used, a port
// another process listens on. Each is one sentence naming the setting, exit 78 (EX_CONFIG), no stack trace, as a bad
// value of any variable is (config.spec.ts), never a crash or a process that spins.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, type Server, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(__dirname, '..');

/** runs the API until it exits (at most 60 s): its exit code and what it wrote on stderr */
function startApi(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, ['--no-experimental-strip-types', '-r', join(root, 'tools/register.cjs'), join(root, 'apps/api/src/main.ts')], {
    cwd: root,
    env: { ...process.env, LOG_LEVEL: 'silent', PORT: '0', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  return new Promise((done) =>
    child.on('exit', (code) => {
      clearTimeout(timer);
      done({ code, stderr: stderr.trim() });
    }),
  );
}

const listening = (): Promise<Server> =>
  new Promise((ok) => {
    const server = createServer();
    server.listen(0, '0.0.0.0', () => ok(server));
  });

describe('a start the operator has to fix: one sentence naming the setting, exit 78', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rollcall-startup-'));
  const file = join(dir, 'a-file');
  writeFileSync(file, '');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each([
    ['a file', file, `ROLLCALL_DATA_DIR ${file} cannot be used: ${file} is a file, not a directory`],
    ['under a file', join(file, 'sub'), `ROLLCALL_DATA_DIR ${join(file, 'sub')} cannot be used: ${file} is a file, not a directory`],
    // Node's recursive mkdir loops for ever there: the process spun at 90 % CPU and never said anything
    ['under /proc', '/proc/rollcall-data', "ROLLCALL_DATA_DIR /proc/rollcall-data cannot be used: ENOENT: no such file or directory, mkdir '/proc/rollcall-data'"],
  ])('ROLLCALL_DATA_DIR %s', async (_, dataDir, sentence) => {
    expect(await startApi({ ROLLCALL_DATA_DIR: dataDir })).toEqual({ code: 78, stderr: `Invalid configuration:\n  - ${sentence}` });
  }, 90_000);

  it.each([
    ['PORT', (port: number) => ({ PORT: String(port) })],
    ['ROLLCALL_TCP_PORT', (port: number) => ({ ROLLCALL_TCP_PORT: String(port) })],
  ])('%s where another process listens', async (name, env) => {
    const busy = await listening();
    const port = (busy.address() as AddressInfo).port;
    try {
      const { code, stderr } = await startApi({ ROLLCALL_DATA_DIR: mkdtempSync(join(dir, 'data-')), ...env(port) });
      expect({ code, last: stderr.split('\n').slice(-2).join('\n') }).toEqual({
        code: 78,
        last: `Invalid configuration:\n  - ${name} ${port} is in use by another process (EADDRINUSE): stop that process, or choose another port`,
      });
    } finally {
      busy.close();
    }
  }, 90_000);
});
