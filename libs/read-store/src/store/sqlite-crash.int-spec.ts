import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { SqliteReadStore } from './sqlite-read-store';

const testing = join(__dirname, 'testing');

/** runs the child writer (another Node process) and SIGKILLs it once it acknowledged `killAfter` batches */
async function burstAndKill(
  file: string,
  killAfter: number,
): Promise<{ acked: number; signal: string | null }> {
  const child = spawn(
    process.execPath,
    [
      '--no-experimental-strip-types',
      '-r',
      join(__dirname, '..', '..', '..', '..', 'tools', 'register.cjs'),
      join(testing, 'sqlite-crash-child.ts'),
      file,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<string | null>((resolve) =>
    child.on('exit', (_code, signal) => resolve(signal)),
  );
  let acked = 0;
  for await (const line of createInterface({ input: child.stdout })) {
    if (!line.startsWith('ack ')) continue;
    acked = Number(line.slice(4));
    if (acked === killAfter) child.kill('SIGKILL');
  }
  const signal = await exited;
  if (acked < killAfter) throw new Error(`child exited after ${acked} batches: ${stderr}`);
  return { acked, signal };
}

describe('SqliteReadStore under kill -9', () => {
  const dir = mkdtempSync(join(tmpdir(), 'read-store-crash-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps every acknowledged batch, and each batch with its checkpoint entirely or not at all', async () => {
    const file = join(dir, 'read.sqlite');
    const { acked, signal } = await burstAndKill(file, 40);
    expect(signal).toBe('SIGKILL');

    const store = new SqliteReadStore({ path: file });
    try {
      await store.init({ docs: { indexes: ['batch'], search: ['text'] } });
      const checkpoint = Number(await store.checkpoint('crash'));
      expect(checkpoint).toBeGreaterThanOrEqual(acked);
      // every batch up to the checkpoint is complete, none after it started
      expect(await store.count('docs', {})).toBe(checkpoint * 50);
      for (const k of [1, acked, checkpoint]) {
        expect(await store.count('docs', { where: { batch: k } })).toBe(50);
        expect((await store.get('docs', `${k}-49`))?.position).toBe(BigInt(k * 100 + 49));
      }
      expect(await store.count('docs', { where: { batch: checkpoint + 1 } })).toBe(0);
      expect(await store.count('docs', { search: { text: `batch ${acked} doc`, fields: ['text'] } })).toBe(
        50,
      );
    } finally {
      await store.close();
    }
  });
});
