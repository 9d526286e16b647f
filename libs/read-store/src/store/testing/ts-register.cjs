// Lets a plain `node` process `require` this repository's TypeScript (CommonJS, no path aliases):
//   node --no-experimental-strip-types -r ./libs/read-store/src/store/testing/ts-register.cjs some-file.ts
// Each .ts file is compiled with @swc/core (already used by jest) as it is loaded. Used by the crash test's
// child process and by the benchmark.
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
