#!/usr/bin/env node
// The `rollcall-audit` bin: the built CLI when `npm run build` made one, else the TypeScript sources through the
// repository's register hook (as `npm run audit` does).
'use strict';
const { existsSync } = require('node:fs');
const { join } = require('node:path');
const root = join(__dirname, '..', '..', '..');
const built = join(root, 'dist', 'apps', 'audit-cli', 'src', 'main.js');
let cli;
if (existsSync(built)) cli = require(built);
else {
  require(join(root, 'tools', 'register.cjs'));
  cli = require(join(root, 'apps', 'audit-cli', 'src', 'main.ts'));
}
cli.main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (error) => {
    process.stderr.write(`${error && error.message ? error.message : String(error)}\n`);
    process.exitCode = error && error.constructor && error.constructor.name === 'UsageError' ? 2 : 1;
  },
);
