// Runs this repository's TypeScript without a build (scripts, benchmarks, child processes in tests):
//   node --no-experimental-strip-types -r ./tools/register.cjs some-file.ts
// Each .ts file is compiled to CommonJS by @swc/core (which jest already uses) as it is required, and the
// `@rollcall/*` path aliases of tsconfig.base.json resolve to the libraries' sources.
'use strict';
const Module = require('node:module');
const { readFileSync } = require('node:fs');
const { resolve } = require('node:path');
const swc = require('@swc/core');

const root = resolve(__dirname, '..');
const { paths } = JSON.parse(readFileSync(resolve(root, 'tsconfig.base.json'), 'utf8')).compilerOptions;
const aliases = new Map(Object.entries(paths).map(([alias, [target]]) => [alias, resolve(root, target)]));

const resolveFilename = Module._resolveFilename;
Module._resolveFilename = function resolveAlias(request, ...rest) {
  return resolveFilename.call(this, aliases.get(request) ?? request, ...rest);
};

require.extensions['.ts'] = function compileTs(module, filename) {
  const { code } = swc.transformSync(readFileSync(filename, 'utf8'), {
    filename,
    jsc: {
      target: 'es2023',
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true },
    },
    module: { type: 'commonjs' },
    sourceMaps: 'inline',
  });
  module._compile(code, filename);
};
