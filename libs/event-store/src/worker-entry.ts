import { join } from 'node:path';

/** the TypeScript hook the sources run under (tools/register.cjs), from this file's folder in the sources */
const REGISTER = join(__dirname, '..', '..', '..', 'tools', 'register.cjs');

/**
 * What a worker thread of the project is started with: its module beside the caller's (`dir`, the caller's
 * `__dirname`; `name` without extension), compiled or not as the caller is. Running from the TypeScript sources
 * (tests, benches, scripts) the thread needs the register hook; nothing else of the process's execArgv is passed on (a
 * bench's preloaded child hook once killed the process from a thread).
 */
export function workerEntry(dir: string, name: string, callerFile: string): { file: string; execArgv: string[] } {
  return callerFile.endsWith('.ts')
    ? { file: join(dir, `${name}.ts`), execArgv: ['--no-experimental-strip-types', '-r', REGISTER] }
    : { file: join(dir, `${name}.js`), execArgv: [] };
}
