import { randomUUID } from 'node:crypto';
import type { KurrentDBClient } from '@kurrent/kurrentdb-client';
import { kurrentDriver } from '../drivers/lazy-drivers';
import { type SnapshotStore, type SnapshotToWrite, SnapshotUnreadableError, type StoredSnapshot } from './snapshot-store';

export const SNAPSHOT_EVENT = 'RollcallSnapshot';
export const SNAPSHOT_CHUNK_EVENT = 'RollcallSnapshotChunk';
/** events read per page while looking back for the latest head */
const HEAD_PAGE = 64;

/** the snapshot stream of a stream: not under the `organization-` / `workspace-` prefixes the application reads */
export const snapshotStreamOf = (stream: string) => `rollcall-snapshot-${stream}`;

interface ChunkData {
  generation: string;
  seq: number;
  /** the sealed chunk, base64 (a JSON event, readable in the server's UI like the domain events) */
  body: string;
}
interface HeadData {
  generation: string;
  revision: string;
  version: string;
  head: string;
  chunks: number;
  /** revision (in the snapshot stream) of the snapshot's first chunk */
  fromRevision: string;
}

/**
 * KurrentDB / EventStoreDB snapshot store: one snapshot stream per aggregate stream. A snapshot is its chunk events
 * (one append each: a server bounds an append's size, 1 MB by default) followed by one head event naming its
 * generation, revision, version and where its chunks start. A reader takes the stream's last event; a head is only
 * ever appended after all its chunks, so a writer that died midway leaves chunks that no head names (ignored, and
 * truncated away with the older snapshots). After a new head, the stream is truncated before the previous
 * snapshot's chunks: the latest two stay, so a reader still on the previous one finishes.
 *
 * The chunks are sealed bytes (docs/adr/0013-snapshots-sealed-per-snapshot.md), stored base64 in JSON events: 4/3 of
 * their size, so `chunkBytes` keeps an append under the server's 1 MB default.
 *
 * Snapshot events are not domain events: every reader of `$all` in the application filters on domain event types.
 */
export class KurrentDbSnapshotStore implements SnapshotStore {
  readonly chunkEntries = 1_000;
  readonly chunkBytes = 512 * 1024;

  constructor(private readonly client: KurrentDBClient) {}

  async read(stream: string): Promise<StoredSnapshot | undefined> {
    const found = await this.latestHead(stream);
    if (!found) return undefined;
    const { head, at } = found;
    const client = this.client;
    const snapshotStream = snapshotStreamOf(stream);
    return {
      stream,
      revision: BigInt(head.revision),
      version: head.version,
      head: head.head,
      chunkCount: head.chunks,
      async *chunks() {
        if (head.chunks === 0) return;
        let next = 0;
        const from = BigInt(head.fromRevision);
        try {
          const events = client.readStream(snapshotStream, { fromRevision: from, maxCount: at - from });
          for await (const resolved of events) {
            const data = resolved.event?.data as ChunkData | undefined;
            if (resolved.event?.type !== SNAPSHOT_CHUNK_EVENT || data?.generation !== head.generation) continue;
            if (data.seq !== next) throw new SnapshotUnreadableError(stream, `chunk ${data.seq} found where ${next} was expected`);
            next++;
            yield Buffer.from(data.body, 'base64');
            if (next === head.chunks) return;
          }
        } catch (error) {
          if (error instanceof SnapshotUnreadableError) throw error;
          throw new SnapshotUnreadableError(stream, error instanceof Error ? error.message : String(error));
        }
        throw new SnapshotUnreadableError(stream, `${head.chunks - next} of ${head.chunks} chunks are gone`);
      },
    };
  }

  async write(snapshot: SnapshotToWrite): Promise<void> {
    const snapshotStream = snapshotStreamOf(snapshot.stream);
    const previous = await this.latestHead(snapshot.stream);
    if (previous && BigInt(previous.head.revision) > snapshot.revision) return;
    const generation = randomUUID();
    let fromRevision: bigint | undefined;
    for (const [seq, body] of snapshot.chunks.entries()) {
      const data: ChunkData = { generation, seq, body: Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('base64') };
      const written = await this.client.appendToStream(snapshotStream, [kurrentDriver().jsonEvent({ type: SNAPSHOT_CHUNK_EVENT, data: { ...data } })], { streamState: 'any' });
      fromRevision ??= written.nextExpectedRevision;
    }
    const head: HeadData = {
      generation,
      revision: snapshot.revision.toString(),
      version: snapshot.version,
      head: snapshot.head,
      chunks: snapshot.chunks.length,
      fromRevision: String(fromRevision ?? 0n),
    };
    await this.client.appendToStream(snapshotStream, [kurrentDriver().jsonEvent({ type: SNAPSHOT_EVENT, data: { ...head } })], { streamState: 'any' });
    if (previous) await this.client.setStreamMetadata(snapshotStream, { truncateBefore: Number(previous.head.fromRevision) });
  }

  async close(): Promise<void> {
    // the client belongs to whoever created it
  }

  /**
   * The last head event of the snapshot stream: its last event, unless a writer died midway (then the chunks it
   * wrote follow it: as many as a large snapshot has, more than one page). Read backwards a page at a time, it stops
   * at the first head, or at the start of what truncation left.
   */
  private async latestHead(stream: string): Promise<{ head: HeadData; at: bigint } | undefined> {
    const { BACKWARDS, END, StreamNotFoundError } = kurrentDriver();
    let from: bigint | typeof END = END;
    try {
      for (;;) {
        let read = 0;
        let lowest: bigint | undefined;
        for await (const resolved of this.client.readStream(snapshotStreamOf(stream), { direction: BACKWARDS, fromRevision: from, maxCount: HEAD_PAGE })) {
          read++;
          if (resolved.event?.type === SNAPSHOT_EVENT) return { head: resolved.event.data as unknown as HeadData, at: resolved.event.revision };
          lowest = resolved.event?.revision;
        }
        if (read < HEAD_PAGE || lowest === undefined || lowest === 0n) return undefined;
        from = lowest - 1n;
      }
    } catch (error) {
      if (error instanceof StreamNotFoundError) return undefined;
      throw error;
    }
  }
}
