/**
 * Request lines of 401 answers, sampled per client address (probe 59 F9: a wrong-key loop from 8 connections wrote
 * ~950 lines a second, ~340 bytes each: ~27 GB of log a day from one client). Within each window of WINDOW_MS an
 * address's first LINES_PER_WINDOW refusals are logged one by one as any request; the rest are counted, and one warn
 * line says how many when the window ends ("401 answers not logged one by one"). Other statuses are never sampled.
 * Behind a proxy every client shares its address: the sample is then the whole service's, which is what the log can
 * carry anyway. A key is never locked out (docs/security.md): this bounds the log, not the requests.
 */
export const WINDOW_MS = 10_000;
export const LINES_PER_WINDOW = 20;
/** addresses followed at once; past it, new addresses share one window (`address: "*"`) */
const ADDRESSES_MAX = 10_000;

interface Window {
  startedAt: number;
  logged: number;
  notLogged: number;
}

export interface RefusalsNotLogged {
  address: string;
  refused: number;
  windowSeconds: number;
}

export class RefusalLogSampler {
  private readonly windows = new Map<string, Window>();
  private sweep: NodeJS.Timeout | undefined;

  constructor(
    private readonly report: (summary: RefusalsNotLogged) => void,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Whether this 401's line is written; counted otherwise. */
  admit(address: string | undefined): boolean {
    const at = this.now();
    const key = address !== undefined && (this.windows.has(address) || this.windows.size < ADDRESSES_MAX) ? address : '*';
    let window = this.windows.get(key);
    if (window && at - window.startedAt >= WINDOW_MS) {
      this.end(key, window);
      window = undefined;
    }
    if (!window) {
      window = { startedAt: at, logged: 0, notLogged: 0 };
      this.windows.set(key, window);
    }
    if (window.logged < LINES_PER_WINDOW) {
      window.logged++;
      return true;
    }
    window.notLogged++;
    // a timer only while something waits to be reported, unref'd: it never holds the process open
    this.sweep ??= setInterval(() => this.endWindows(), WINDOW_MS).unref();
    return false;
  }

  /** Ends the windows that are over, reporting what they did not log; the timer stops once none is left. */
  endWindows(): void {
    const at = this.now();
    for (const [key, window] of this.windows) if (at - window.startedAt >= WINDOW_MS) this.end(key, window);
    if (this.windows.size === 0 && this.sweep) {
      clearInterval(this.sweep);
      this.sweep = undefined;
    }
  }

  private end(key: string, window: Window): void {
    this.windows.delete(key);
    if (window.notLogged > 0) this.report({ address: key, refused: window.notLogged, windowSeconds: WINDOW_MS / 1000 });
  }
}
