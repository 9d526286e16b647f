import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { NODE_FLAGS } from './node-flags';

// V8 takes these flags only on the command line (node-flags.ts): every place that starts the API or the projector
// must carry them, or that deployment loads large workspaces with the long pauses they avoid.
const root = join(__dirname, '../../../..');
const read = (file: string) => readFileSync(join(root, file), 'utf8');
const ENTRY = /dist\/apps\/(api|projector)\/src\/main\.js/;

/** the lines (or package.json scripts) that start an entry point, with the file they are in */
function starts(): { where: string; command: string }[] {
  const scripts = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts;
  const fromScripts = Object.entries(scripts)
    .filter(([, command]) => ENTRY.test(command))
    .map(([name, command]) => ({ where: `package.json scripts.${name}`, command }));
  const fromFiles = ['Dockerfile', 'docker-compose.yml'].flatMap((file) =>
    read(file)
      .split('\n')
      .filter((line) => ENTRY.test(line) && /^\s*(CMD|command:)/.test(line))
      .map((command) => ({ where: file, command })),
  );
  return [...fromScripts, ...fromFiles];
}

describe('the V8 flags the processes start with', () => {
  it('every command that starts the API or the projector (npm scripts, the image, compose) passes them before the entry point', () => {
    const found = starts();
    // npm start, start:projector, the image's CMD, compose's api and projector
    expect(found.map((s) => s.where).sort()).toEqual([
      'Dockerfile',
      'docker-compose.yml',
      'docker-compose.yml',
      'package.json scripts.start',
      'package.json scripts.start:projector',
    ]);
    for (const { where, command } of found) {
      const beforeEntry = command.slice(0, command.search(ENTRY));
      for (const flag of NODE_FLAGS)
        expect({ where, has: beforeEntry.includes(flag) }).toEqual({ where, has: true });
    }
  });
});
