// CSV downloads for Excel over real HTTP (probe 73 F2): `bom=true` starts the user list, the permission history and
// the presence report with a UTF-8 byte order mark, which Excel needs to read non-Latin names; without it, none.
import { type TestApp, startTestApp } from './support/app';

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(() => app.stop());

const BOM = [0xef, 0xbb, 0xbf];

/** the answer's first bytes as sent (fetch's text() drops a byte order mark) */
async function firstBytes(path: string, key: string, actor: string, minPosition: string): Promise<{ status: number; bytes: number[]; text: string }> {
  const res = await fetch(app.url + path, { headers: { authorization: `Bearer ${key}`, 'x-actor-id': actor, 'x-min-position': minPosition } });
  const body = Buffer.from(await res.arrayBuffer());
  return { status: res.status, bytes: [...body.subarray(0, 3)], text: body.toString('utf8') };
}

describe('CSV downloads for Excel', () => {
  it('bom=true puts a UTF-8 byte order mark first in each CSV, before the same header and rows; without it there is none', async () => {
    const o = await app.api.organization();
    const invited = await app.api.request('POST', `/v1/workspaces/${o.workspaceId}/invitations`, { key: o.key, actor: o.admin, body: { email: `strauss-${Math.random()}@acme.test` } });
    const at = invited.body.position as string;
    const ws = `/v1/workspaces/${o.workspaceId}`;
    for (const path of [`${ws}/members/export.csv`, `${ws}/history?format=csv`, `${ws}/reports/presence?from=2026-03-01&to=2026-03-02&format=csv`]) {
      const join = path.includes('?') ? '&' : '?';
      const plain = await firstBytes(path, o.key, o.admin, at);
      const excel = await firstBytes(`${path}${join}bom=true`, o.key, o.admin, at);
      expect({ path, status: [plain.status, excel.status] }).toEqual({ path, status: [200, 200] });
      expect({ path, plain: plain.bytes }).not.toEqual({ path, plain: BOM });
      expect({ path, excel: excel.bytes }).toEqual({ path, excel: BOM });
      // the rest is the same download
      expect(excel.text.slice(1)).toBe(plain.text);
    }
    // JSON pages have no mark to ask for
    for (const path of [`${ws}/history?bom=true`, `${ws}/reports/presence?from=2026-03-01&to=2026-03-02&bom=true`]) {
      const refused = await app.api.request('GET', path, { key: o.key, actor: o.admin });
      expect({ path, status: refused.status, field: refused.body.errors?.[0]?.field }).toEqual({ path, status: 400, field: 'bom' });
    }
  });
});
