import { Writable } from 'node:stream';

/** A log destination that keeps every JSON line written to it, parsed (the logger's `json` format). */
export const captureLogLines = () => {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { stream, lines };
};
