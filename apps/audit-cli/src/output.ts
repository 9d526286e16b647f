import { SingleBar } from 'cli-progress';

/** How the CLI reports: a progress bar on a terminal, plain lines in CI or a pipe, one JSON document with --json. */
export interface Output {
  json: boolean;
  line(text: string): void;
  error(text: string): void;
  result(value: unknown): void;
  progress(label: string, total?: number): Progress;
}

export interface Progress {
  update(done: number): void;
  stop(): void;
}

export function createOutput(options: { json: boolean }, streams = { out: process.stdout, err: process.stderr }): Output {
  const interactive = Boolean(streams.err.isTTY) && !process.env.CI && !options.json;
  return {
    json: options.json,
    line: (text) => {
      if (!options.json) streams.out.write(`${text}\n`);
    },
    error: (text) => streams.err.write(`${text}\n`),
    result: (value) => streams.out.write(`${JSON.stringify(value, null, 2)}\n`),
    progress: (label, total) => {
      if (interactive && total !== undefined) {
        const bar = new SingleBar({ format: `${label} [{bar}] {percentage}% | {value}/{total} events | {eta_formatted} left`, hideCursor: true }, undefined);
        bar.start(total, 0);
        return { update: (done) => bar.update(Math.min(done, Math.max(total, done)), {}), stop: () => bar.stop() };
      }
      // CI and pipes: a plain line every 100,000 events, none with --json
      let next = 100_000;
      return {
        update: (done) => {
          if (options.json || done < next) return;
          streams.err.write(`${label}: ${done}${total ? `/${total}` : ''} events\n`);
          next = done + 100_000;
        },
        stop: () => undefined,
      };
    },
  };
}
