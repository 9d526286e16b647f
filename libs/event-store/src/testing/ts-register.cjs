// Lets a child process `require` this repository's TypeScript (CommonJS, no path aliases):
//   node --no-experimental-strip-types -r ./libs/event-store/src/testing/ts-register.cjs some-file.ts
// Compiles each .ts file with @swc/core (already used by jest) as it is loaded.
'use strict';
const { readFileSync } = require('node:fs');
const swc = require('@swc/core');

require.extensions['.ts'] = function compileTs(module, filename) {
  const { code } = swc.transformSync(readFileSync(filename, 'utf8'), {
    filename,
    jsc: { target: 'es2023', parser: { syntax: 'typescript' } },
    module: { type: 'commonjs' },
    sourceMaps: 'inline',
  });
  module._compile(code, filename);
};
