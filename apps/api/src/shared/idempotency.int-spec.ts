import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteIdempotencyStore } from './idempotency';

describe('SqliteIdempotencyStore', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'rollcall-idempotency-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('stores the answers still queued when it is closed (a stopping API closes it in the same turn as the last put)', async () => {
    const store = new SqliteIdempotencyStore(dir);
    const put = store.put('key-1', { requestHash: 'h', status: 201, body: { id: 1 } });
    await store.close();
    expect(await put).toEqual({ requestHash: 'h', status: 201, body: { id: 1 } });
    const reopened = new SqliteIdempotencyStore(dir);
    try {
      expect(await reopened.get('key-1')).toEqual({ requestHash: 'h', status: 201, body: { id: 1 } });
    } finally {
      await reopened.close();
    }
  });
});
