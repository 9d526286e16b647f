import 'reflect-metadata';
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { INTERCEPTORS_METADATA } from '@nestjs/common/constants';
import { PATTERN_METADATA } from '@nestjs/microservices/constants';
import { MESSAGE_INTERCEPTORS } from './message-route';
import { MESSAGE_TWINS } from './message-twins';

// Every message pattern runs what only messages need (the acting user's activity once it succeeded, NATS's answer
// limit), as method interceptors: none is global, so that no HTTP route goes through Nest's interceptor chain
// (docs/adr/0010, nineteenth pass). A pattern declared with Nest's @MessagePattern alone would lose them.
const src = join(__dirname, '../..');
const sources = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') && !/\.(spec|int-spec)\.ts$/.test(e.name) ? [join(dir, e.name)] : [],
  );

/** every method of the app's classes that Nest registers as a message pattern, with its interceptors */
function messageHandlers(): { pattern: string; where: string; interceptors: unknown[] }[] {
  const found: { pattern: string; where: string; interceptors: unknown[] }[] = [];
  for (const file of sources(src).filter((f) => readFileSync(f, 'utf8').includes('@nestjs/microservices'))) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    for (const exported of Object.values(require(file) as Record<string, unknown>)) {
      if (typeof exported !== 'function' || !exported.prototype) continue;
      for (const name of Object.getOwnPropertyNames(exported.prototype)) {
        const method = (exported.prototype as Record<string, unknown>)[name];
        if (typeof method !== 'function') continue;
        const patterns = Reflect.getMetadata(PATTERN_METADATA, method) as unknown[] | undefined;
        if (!patterns) continue;
        const interceptors = (Reflect.getMetadata(INTERCEPTORS_METADATA, method) as unknown[] | undefined) ?? [];
        for (const pattern of patterns) found.push({ pattern: String(pattern), where: `${relative(src, file)} ${exported.name}.${name}`, interceptors });
      }
    }
  }
  return found;
}

describe('message patterns (MessageRoute)', () => {
  const handlers = messageHandlers();

  it('finds every message pattern the API documents', () => {
    expect(handlers.map((h) => h.pattern).sort()).toEqual(Object.keys(MESSAGE_TWINS).sort());
  });

  it('every message pattern carries the message interceptors (its user marked active, the NATS answer limit)', () => {
    const missing = handlers.filter((h) => !MESSAGE_INTERCEPTORS.every((i) => h.interceptors.includes(i))).map((h) => h.where);
    expect(missing).toEqual([]);
  });
});
