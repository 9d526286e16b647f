// Runs this repository's TypeScript without a build (scripts, benchmarks, child processes in tests):
//   node --no-experimental-strip-types -r ./tools/register.cjs some-file.ts
// Each .ts file is compiled to CommonJS by @swc/core (which jest already uses) as it is required, and the
// `@rollcall/*` path aliases of tsconfig.base.json resolve to the libraries' sources.
//
// Compiled files are kept in node_modules/.cache/rollcall-register, by a digest of the source, this file and swc's
// version, and V8's compile cache is on (module.enableCompileCache, in the same folder): the tests start the API in
// child processes and, in every app they start, worker threads (commit, projector, notary) that each compiled their
// sources again (session 48: ~0.5 s of swc for the whole of apps/ and libs/ per process, and the main thread of an
// app's start mostly idle, waiting for its threads).
'use strict';
const Module = require('node:module');
const { createHash } = require('node:crypto');
const { mkdirSync, readFileSync, renameSync, writeFileSync } = require('node:fs');
const { join, resolve } = require('node:path');

const root = resolve(__dirname, '..');
const { paths } = JSON.parse(readFileSync(resolve(root, 'tsconfig.base.json'), 'utf8')).compilerOptions;
const aliases = new Map(Object.entries(paths).map(([alias, [target]]) => [alias, resolve(root, target)]));

const resolveFilename = Module._resolveFilename;
Module._resolveFilename = function resolveAlias(request, ...rest) {
  return resolveFilename.call(this, aliases.get(request) ?? request, ...rest);
};

const cacheDir = join(root, 'node_modules', '.cache', 'rollcall-register');
Module.enableCompileCache?.(join(cacheDir, 'v8'));
// @swc/core is loaded on a cache miss only: loading it (its native binding) took ~40 ms of every process's and every
// worker thread's start, most of which compile nothing. What else decides the output is this file (its options) and
// swc's version, read from its package.json without loading it.
const swcVersion = JSON.parse(readFileSync(require.resolve('@swc/core/package.json'), 'utf8')).version;
const salt = createHash('sha256').update(readFileSync(__filename)).update(swcVersion ?? '').digest('hex');

function compiled(source, filename) {
  const key = createHash('sha256').update(salt).update(filename).update(source).digest('hex');
  const file = join(cacheDir, `${key}.js`);
  try {
    return readFileSync(file, 'utf8');
  } catch {
    // not compiled yet (or the cache cannot be read): compile, and keep it when the folder takes it
  }
  const { code } = require('@swc/core').transformSync(source, {
    filename,
    jsc: {
      target: 'es2023',
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true },
    },
    module: { type: 'commonjs' },
    sourceMaps: 'inline',
  });
  try {
    mkdirSync(cacheDir, { recursive: true });
    // written aside and renamed: a process reading it meanwhile sees the whole file or none
    const temp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}`;
    writeFileSync(temp, code);
    renameSync(temp, file);
  } catch {
    // a read-only checkout: compiled each time, as before
  }
  return code;
}

require.extensions['.ts'] = function compileTs(module, filename) {
  module._compile(compiled(readFileSync(filename, 'utf8'), filename), filename);
};
