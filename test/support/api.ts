// The API as a console backend and an operator see it over HTTP: the system key the tests' servers start with, a JSON
// client, and the assertion on a problem answer. Nothing here loads the app (apps/api/src/bootstrap.ts and its ~1,300
// modules, ~2 s of CPU in each jest file that loads them): files that start servers in child processes
// (./server-process) need only this.

export const SYSTEM_KEY = 'rk_system_e2e-test-system-key-0123456789';

export interface Reply<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

/** A console backend's view of the API: JSON over HTTP with a key and an actor. */
export class Api {
  constructor(readonly url: string) {}

  async request<T = any>(
    method: string,
    path: string,
    opts: { key?: string; actor?: string; body?: unknown; raw?: string; headers?: Record<string, string> } = {},
  ): Promise<Reply<T>> {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.key) headers.authorization = `Bearer ${opts.key}`;
    if (opts.actor) headers['x-actor-id'] = opts.actor;
    if (opts.body !== undefined || opts.raw !== undefined) headers['content-type'] ??= 'application/json';
    const res = await fetch(this.url + path, { method, headers, body: opts.raw ?? (opts.body === undefined ? undefined : JSON.stringify(opts.body)) });
    const text = await res.text();
    let body: any = text;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      /* not JSON (CSV, metrics) */
    }
    return { status: res.status, body, headers: res.headers };
  }

  /** Creates an organization (system key) with a workspace; returns the org key, the admin and the workspace. */
  async organization(opts: { plan?: string; accessModel?: string } = {}) {
    const adminEmail = `admin-${Math.random().toString(36).slice(2)}@acme.test`;
    const org = await this.request('POST', '/v1/organizations', {
      key: SYSTEM_KEY,
      body: { name: 'Acme', admin: { email: adminEmail, displayName: 'Ada Admin' } },
    });
    expect(org.status).toBe(201);
    const { apiKey: key, adminUserId: admin, organizationId } = org.body;
    const ws = await this.request('POST', `/v1/organizations/${organizationId}/workspaces`, { key, actor: admin, body: { name: 'Support', ...opts } });
    expect(ws.status).toBe(201);
    return { key: key as string, admin: admin as string, adminEmail, organizationId: organizationId as string, workspaceId: ws.body.workspaceId as string };
  }

  /** Invites and accepts; returns the new member's user id. */
  async member(o: { key: string; actor: string; workspaceId: string }, email: string, access: Record<string, unknown> = {}) {
    const inv = await this.request('POST', `/v1/workspaces/${o.workspaceId}/invitations`, { key: o.key, actor: o.actor, body: { email, ...access } });
    expect(inv.status).toBe(201);
    const accepted = await this.request('POST', '/v1/invitations/accept', { body: { token: tokenOf(inv.body.inviteUrl) } });
    expect(accepted.status).toBe(200);
    return accepted.body.userId as string;
  }
}

export const tokenOf = (inviteUrl: string) => new URL(inviteUrl).searchParams.get('token')!;

/** Asserts an RFC 9457 problem with a stable code. */
export function expectProblem(reply: Reply, status: number, code: string) {
  expect({ status: reply.status, code: reply.body?.code }).toEqual({ status, code });
  expect(reply.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(reply.body).toMatchObject({ type: expect.any(String), title: expect.any(String), status, detail: expect.any(String) });
}
