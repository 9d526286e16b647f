import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../apps/api/src/config';
import { type RunningApp, startApp } from '../../apps/api/src/bootstrap';

export const SYSTEM_KEY = 'rk_system_e2e-test-system-key-0123456789';

export interface TestApp extends RunningApp {
  dataDir: string;
  api: Api;
  stop(): Promise<void>;
}

/** Starts the real app (HTTP + TCP) on random ports over a fresh data dir (its log lines to `logDestination`, if given). */
export async function startTestApp(env: Record<string, string> = {}, logDestination?: Parameters<typeof startApp>[1]): Promise<TestApp> {
  const dataDir = env.ROLLCALL_DATA_DIR ?? mkdtempSync(join(tmpdir(), 'rollcall-e2e-'));
  const config = loadConfig({
    PORT: '0',
    ROLLCALL_TCP_PORT: '0',
    ROLLCALL_DATA_DIR: dataDir,
    ROLLCALL_SYSTEM_API_KEY: SYSTEM_KEY,
    ROLLCALL_PUBLIC_URL: 'https://console.acme.test',
    ROLLCALL_DURABILITY: 'normal',
    LOG_LEVEL: 'silent',
    ...env,
  });
  const running = await startApp(config, logDestination);
  return {
    ...running,
    dataDir,
    api: new Api(running.url),
    stop: async () => {
      await running.close();
      if (!env.ROLLCALL_DATA_DIR) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

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
