// Lets a child process run this repository's TypeScript directly (decorators and @rollcall/* aliases included):
//   node -r ./test/support/register.cjs apps/api/src/main.ts
'use strict';
const { readFileSync } = require('node:fs');
const { join } = require('node:path');
const Module = require('node:module');
const swc = require('@swc/core');

const root = join(__dirname, '..', '..');
const aliases = { '@rollcall/domain': 'libs/domain/src/index.ts', '@rollcall/event-store': 'libs/event-store/src/index.ts', '@rollcall/read-store': 'libs/read-store/src/index.ts' };
const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  return resolve.call(this, aliases[request] ? join(root, aliases[request]) : request, ...rest);
};
require.extensions['.ts'] = function compileTs(module, filename) {
  const { code } = swc.transformSync(readFileSync(filename, 'utf8'), {
    filename,
    jsc: { target: 'es2023', parser: { syntax: 'typescript', decorators: true }, transform: { legacyDecorator: true, decoratorMetadata: true } },
    module: { type: 'commonjs' },
    sourceMaps: 'inline',
  });
  module._compile(code, filename);
};
