// The schemas of the integration events' data in the AsyncAPI document are generated from the domain's types
// (scripts/event-schemas.mjs): the committed file must be what the types give now, or an event's type changed without
// its documented schema (probe 38 F8).
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';

it('generated/event-data-schemas.json is what the domain event types give (else: npm run asyncapi:event-schemas)', () => {
  const root = resolve(__dirname, '../../../../..');
  const run = spawnSync(process.execPath, ['scripts/event-schemas.mjs', '--check'], { cwd: root, encoding: 'utf8' });
  expect({ status: run.status, stderr: run.stderr.trim() }).toEqual({ status: 0, stderr: '' });
}, 60_000);
