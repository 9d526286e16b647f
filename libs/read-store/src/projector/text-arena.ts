/** texts per chunk: a chunk of a few hundred thousand characters is allocated in V8's large-object space */
const PER_CHUNK = 2048;

/**
 * The JSON texts of the documents a fold holds, joined into large strings ("chunks" of `PER_CHUNK` texts each) and
 * named by a number (a handle). Why: a text held as its own string is one more object per document, allocated young
 * and copied by the garbage collector's scavenges into the old generation (a 1M rebuild holds ~1.4 million of them,
 * ~370 MB), and each held record that points to a new young string is one more old-to-new slot for every scavenge to
 * visit. Joined, the texts are copied once (the join), and a chunk of that size is allocated outside the young
 * generation: never copied again, one object to mark. A handle is a small integer: a record holding it points to
 * nothing. A text read back is a slice of its chunk (no copy).
 *
 * Texts are never freed one by one (a text replaced by a newer version stays in its chunk until the arena is let go):
 * for the texts of documents mostly written once, and those of the others when written out (a few times per rebuild).
 */
export class TextArena {
  /** the chunks joined so far: texts [i * PER_CHUNK, (i + 1) * PER_CHUNK) */
  private readonly chunks: string[] = [];
  /** the texts of the chunk being filled */
  private pending: string[] = [];
  /** per handle: where its text ends in its chunk (it starts where the previous one of the chunk ends) */
  private ends = new Int32Array(PER_CHUNK * 16);
  private pendingChars = 0;
  /** texts added */
  count = 0;

  /** keeps `text`; returns its handle */
  add(text: string): number {
    const handle = this.count++;
    if (handle === this.ends.length) {
      const ends = new Int32Array(this.ends.length * 2);
      ends.set(this.ends);
      this.ends = ends;
    }
    this.pendingChars += text.length;
    this.ends[handle] = this.pendingChars;
    this.pending.push(text);
    if (this.pending.length === PER_CHUNK) {
      this.chunks.push(this.pending.join(''));
      this.pending = [];
      this.pendingChars = 0;
    }
    return handle;
  }

  /** the text of `handle` */
  text(handle: number): string {
    const chunk = Math.floor(handle / PER_CHUNK);
    if (chunk === this.chunks.length) return this.pending[handle % PER_CHUNK]!;
    const start = handle % PER_CHUNK === 0 ? 0 : this.ends[handle - 1]!;
    return this.chunks[chunk]!.slice(start, this.ends[handle]);
  }
}
