#!/usr/bin/env node
// The npm registry reachable here serves only the linux-x64 builds of packages that ship native binaries as
// optional per-platform dependencies (@swc/core-*, @oxlint/binding-*, @unrs/resolver-binding-*). `npm install`
// then leaves the other platforms out of package-lock.json, and `npm ci` refuses the lock as out of sync.
// This script adds the missing optional entries (name, version, os/cpu/libc read off the name), exactly as
// npm writes them when it can see every platform; `npm ci` skips them on other platforms as usual.
// Run it after every `npm install` that changes the lock:  node scripts/lock-optional-platforms.mjs
import { readFileSync, writeFileSync } from 'node:fs';

const file = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(readFileSync(file, 'utf8'));
const OS = ['darwin', 'linux', 'win32', 'freebsd', 'android', 'openharmony', 'sunos', 'aix', 'netbsd', 'openbsd'];
const CPU = ['arm64', 'x64', 'ia32', 'arm', 'ppc64', 'riscv64', 's390x', 'loong64', 'wasm32'];

let added = 0;
for (const [path, meta] of Object.entries(lock.packages)) {
  for (const [name, range] of Object.entries(meta.optionalDependencies ?? {})) {
    const here = `${path ? `${path}/` : ''}node_modules/${name}`;
    if (lock.packages[here] || lock.packages[`node_modules/${name}`]) continue;
    const tokens = name.split('/').pop().split('-');
    const os = tokens.find((t) => OS.includes(t));
    const cpu = tokens.find((t) => CPU.includes(t)) ?? (tokens.includes('universal') ? undefined : undefined);
    if (!os && !cpu && !tokens.includes('wasm32')) continue; // not a per-platform binary: leave it to npm
    const entry = { version: range.replace(/^[\^~=]/, ''), optional: true };
    if (cpu) entry.cpu = [cpu];
    if (os) entry.os = [os];
    if (tokens.includes('musl') || tokens.includes('musleabihf')) entry.libc = ['musl'];
    else if (tokens.some((t) => t.startsWith('gnu'))) entry.libc = ['glibc'];
    lock.packages[`node_modules/${name}`] = entry;
    added++;
  }
}
lock.packages = Object.fromEntries(Object.entries(lock.packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a.localeCompare(b))));
writeFileSync(file, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`package-lock.json: added ${added} optional platform entries`);
