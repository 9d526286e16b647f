// Runs the benchmarks' TypeScript straight from source on the project's Node 24:
//   node --no-experimental-strip-types -r ./bench/lib/append-register.cjs bench/append.ts
// - compiles each .ts file with @swc/core (a devDependency already, used by jest) as it is required;
// - resolves the `@rollcall/*` path aliases of tsconfig.base.json.
// No build step, no extra dependency; --no-experimental-strip-types keeps Node's own type stripping
// (which does not resolve extensionless imports nor the aliases) out of the way.
'use strict';
const { readFileSync } = require('node:fs');
const Module = require('node:module');
const path = require('node:path');
const swc = require('@swc/core');

const root = path.resolve(__dirname, '..', '..');
const { paths } = JSON.parse(readFileSync(path.join(root, 'tsconfig.base.json'), 'utf8')).compilerOptions;
const aliases = new Map(Object.entries(paths).map(([alias, [target]]) => [alias, path.join(root, target)]));

const resolveFilename = Module._resolveFilename;
Module._resolveFilename = function resolveWithAliases(request, ...rest) {
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
