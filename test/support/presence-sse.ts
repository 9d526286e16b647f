/** A minimal server-sent-events client over fetch, for the presence stream tests (what EventSource does, by hand). */
export interface SseMessage {
  id?: string;
  /** the `event:` line's name (`resync`); absent for the transitions */
  event?: string;
  data: any;
}

export class SseClient {
  readonly messages: SseMessage[] = [];
  /** the last `id:` received, with or without data (as EventSource's lastEventId) */
  lastEventId: string | undefined;
  readonly comments: string[] = [];
  private ended = false;
  private readonly waiters = new Set<() => void>();
  /** the refusal's problem document, when the stream was not opened */
  problem?: any;

  private constructor(
    readonly status: number,
    readonly headers: Headers,
    private readonly abort: AbortController,
  ) {}

  /** Opens the stream; a refusal (not 200) is returned with its problem body in `problem`. */
  static async open(url: string, headers: Record<string, string> = {}): Promise<SseClient> {
    const abort = new AbortController();
    const res = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: abort.signal });
    const client = new SseClient(res.status, res.headers, abort);
    if (res.status !== 200) {
      client.problem = await res.json().catch(() => undefined);
      client.ended = true;
      return client;
    }
    void client.read(res.body!);
    return client;
  }

  private async read(body: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let end;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          this.frame(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
        }
      }
    } catch {
      // aborted
    } finally {
      this.ended = true;
      this.notify();
    }
  }

  private frame(text: string): void {
    let id: string | undefined;
    let event: string | undefined;
    const data: string[] = [];
    for (const line of text.split('\n')) {
      if (line.startsWith(':')) this.comments.push(line.slice(1).trim());
      else if (line.startsWith('id: ')) id = this.lastEventId = line.slice(4);
      else if (line.startsWith('event: ')) event = line.slice(7);
      else if (line.startsWith('data: ')) data.push(line.slice(6));
    }
    if (data.length > 0) this.messages.push({ id, ...(event !== undefined && { event }), data: JSON.parse(data.join('\n')) });
    this.notify();
  }

  private notify(): void {
    for (const w of this.waiters) w();
  }

  /** resolves once `done()` holds (checked after each frame), rejects after `timeoutMs` */
  until(done: (c: SseClient) => boolean, timeoutMs = 5000): Promise<void> {
    if (done(this)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = () => {
        if (done(this)) finish(resolve);
        else if (this.ended) finish(() => reject(new Error(`stream ended; got ${JSON.stringify(this.messages)}`)));
      };
      const finish = (f: () => void) => {
        clearTimeout(timer);
        this.waiters.delete(check);
        f();
      };
      const timer = setTimeout(() => finish(() => reject(new Error(`timed out; got ${JSON.stringify(this.messages)}`))), timeoutMs);
      this.waiters.add(check);
    });
  }

  /** whether the server ended the stream (or it was refused) */
  get hasEnded(): boolean {
    return this.ended;
  }

  /** resolves once the server ends the stream, rejects after `timeoutMs` */
  whenEnded(timeoutMs = 5000): Promise<void> {
    if (this.ended) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!this.ended) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`the stream was still open after ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.add(check);
    });
  }

  close(): void {
    this.abort.abort();
  }
}
