import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { NODE_FLAGS } from './node-flags';

// V8 takes these flags only on the command line (node-flags.ts): every place that starts the API must carry them, or
// that deployment loads large workspaces with the long pauses they avoid; the projector's process must not (its
// replays are slower with them).
const root = join(__dirname, '../../../..');
const read = (file: string) => readFileSync(join(root, file), 'utf8');
const ENTRY = /dist\/apps\/(api|projector)\/src\/main\.js|bench\/cold-load\.ts/;

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
      .map((command) => ({ where: `${file} ${/projector/.test(command) ? 'projector' : 'api'}`, command })),
  );
  return [...fromScripts, ...fromFiles];
}

describe('the V8 flags the API starts with', () => {
  it("every command that starts the API (npm start, the image, compose's api) or its in-process cold-load bench passes them before the entry point; the projector's do not", () => {
    const found = starts();
    expect(found.map((s) => s.where).sort()).toEqual([
      'Dockerfile api',
      'docker-compose.yml api',
      'docker-compose.yml projector',
      'package.json scripts.bench:cold-load',
      'package.json scripts.start',
      'package.json scripts.start:projector',
    ]);
    for (const { where, command } of found) {
      const beforeEntry = command.slice(0, command.search(ENTRY));
      const carries = NODE_FLAGS.every((flag) => beforeEntry.includes(flag));
      expect({ where, carries }).toEqual({ where, carries: !where.includes('projector') });
    }
  });
});
