import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteReadStore } from './sqlite-read-store';
import { readStoreContract } from './testing/read-store.contract';

const dir = mkdtempSync(join(tmpdir(), 'read-store-contract-'));
let n = 0;
afterAll(() => rmSync(dir, { recursive: true, force: true }));

readStoreContract('SQLite', async () => new SqliteReadStore({ path: join(dir, `read-${++n}.sqlite`) }));
