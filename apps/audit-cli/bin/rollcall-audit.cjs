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
// the exit codes (2 for every usage error, an unknown option included), the usage and EPIPE as `npm run audit`
cli.run(process.argv.slice(2));
