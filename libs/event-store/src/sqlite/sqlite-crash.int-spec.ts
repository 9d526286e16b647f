import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { RecordedEvent } from '../port';
import { SqliteEventStore } from './sqlite-event-store';

const testing = join(__dirname, '..', 'testing');

interface Ack {
  position: bigint;
  stream: string;
  revision: bigint;
  id: string;
}

/**
 * Runs the child writer (a real SqliteEventStore in another Node 24 process), collects the appends it
 * acknowledged, and SIGKILLs it once `killAfter` acknowledgements were read, while it is still writing.
 */
async function burstAndKill(
  file: string,
  killAfter: number,
): Promise<{ acks: Ack[]; signal: string | null }> {
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
  const acks: Ack[] = [];
  for await (const line of createInterface({ input: child.stdout })) {
    const [kind, position, stream, revision, id] = line.split(' ');
    // the kill can cut the child's last line short (CI71: "ack <position>" alone): an ack only once its line is whole
    if (kind !== 'ack' || id === undefined) continue;
    acks.push({ position: BigInt(position!), stream: stream!, revision: BigInt(revision!), id: id! });
    if (acks.length === killAfter) child.kill('SIGKILL');
  }
  const signal = await exited;
  if (acks.length < killAfter) throw new Error(`child exited after ${acks.length} acks: ${stderr}`);
  return { acks, signal };
}

describe('SqliteEventStore durability under kill -9', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rollcall-sqlite-crash-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps every acknowledged append, with no gap in positions, after the writer is killed mid-burst', async () => {
    const file = join(dir, 'events.sqlite');
    const { acks, signal } = await burstAndKill(file, 1500);
    expect(signal).toBe('SIGKILL');

    const store = new SqliteEventStore(file);
    try {
      const log: RecordedEvent[] = [];
      for await (const e of store.readAll()) log.push(e);
      const head = await store.headPosition();

      // the kill landed mid-burst: acknowledged appends were followed by more (at least queued) work
      expect(log.length).toBeGreaterThanOrEqual(acks.length);
      // positions: 1..head, no hole
      expect(head).toBe(BigInt(log.length));
      log.forEach((e, i) => expect(e.position).toBe(BigInt(i + 1)));
      // every acknowledged append is there, where the child was told it is
      const byId = new Map(log.map((e) => [e.id, e]));
      for (const ack of acks) {
        expect(byId.get(ack.id)).toMatchObject({
          position: ack.position,
          stream: ack.stream,
          revision: ack.revision,
        });
      }
      // each stream's revisions are 0..n-1
      const revisions = new Map<string, bigint[]>();
      for (const e of log) revisions.set(e.stream, [...(revisions.get(e.stream) ?? []), e.revision]);
      for (const revs of revisions.values()) expect(revs).toEqual(revs.map((_, i) => BigInt(i)));

      // and the store carries on where it stopped
      const next = await store.append(
        'after-crash',
        [{ id: crypto.randomUUID(), type: 'E', data: {}, metadata: {} }],
        'no_stream',
      );
      expect(next.position).toBe(head + 1n);
    } finally {
      await store.close();
    }
  }, 30_000);
});
