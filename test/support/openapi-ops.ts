import { request as httpRequest } from 'node:http';

// The operations of the live OpenAPI document (/docs/openapi.json), for tests that must cover every endpoint,
// including ones added after the test was written: the cross-tenant check and the fuzzer.

export type Schema = Record<string, any>;
export type OpenApiDoc = { paths: Record<string, Record<string, any>>; components?: { schemas?: Record<string, Schema> } };

export interface Operation {
  method: string;
  /** the path as documented: `/v1/workspaces/{ws}/members/{userId}` */
  template: string;
  pathParams: string[];
  query: { name: string; required: boolean; schema: Schema }[];
  body?: Schema;
  /** the security schemes that may call it (none: public) */
  security: string[];
}

const METHODS = ['get', 'post', 'put', 'patch', 'delete'];

/** Every operation of the document, its parameters and body schema resolved. */
export function operationsOf(doc: OpenApiDoc): Operation[] {
  const ops: Operation[] = [];
  for (const [template, item] of Object.entries(doc.paths))
    for (const method of METHODS) {
      const op = item[method];
      if (!op) continue;
      const params: any[] = op.parameters ?? [];
      const content = op.requestBody?.content ?? {};
      const body = content['application/json']?.schema;
      ops.push({
        method: method.toUpperCase(),
        template,
        pathParams: params.filter((p) => p.in === 'path').map((p) => p.name),
        query: params.filter((p) => p.in === 'query').map((p) => ({ name: p.name, required: p.required === true, schema: resolve(doc, p.schema ?? {}) })),
        body: body ? resolve(doc, body) : undefined,
        security: (op.security ?? []).flatMap((s: Record<string, unknown>) => Object.keys(s)),
      });
    }
  return ops;
}

/** A schema with its `$ref` followed (one level at a time, as it is read). */
export function resolve(doc: OpenApiDoc, schema: Schema): Schema {
  let s = schema;
  for (let i = 0; s?.$ref && i < 10; i++) s = doc.components?.schemas?.[String(s.$ref).split('/').pop()!] ?? {};
  return s ?? {};
}

/** A small valid value of a schema: its example, its first enum value, or one of its type with the required fields. */
export function exampleOf(doc: OpenApiDoc, schema: Schema, depth = 0): unknown {
  const s = resolve(doc, schema);
  if (s.example !== undefined) return s.example;
  if (s.default !== undefined) return s.default;
  if (Array.isArray(s.enum) && s.enum.length > 0) return s.enum[0];
  const alternative = s.oneOf ?? s.anyOf ?? s.allOf;
  if (Array.isArray(alternative) && alternative.length > 0) return exampleOf(doc, alternative[0], depth + 1);
  switch (s.type) {
    case 'object': {
      const out: Record<string, unknown> = {};
      if (depth < 4) for (const name of s.required ?? []) out[name] = exampleOf(doc, s.properties?.[name] ?? {}, depth + 1);
      return out;
    }
    case 'array':
      return [];
    case 'integer':
    case 'number':
      return s.minimum ?? 1;
    case 'boolean':
      return true;
    case 'string':
      if (s.format === 'email') return 'someone@acme.test';
      if (s.format === 'date') return new Date().toISOString().slice(0, 10);
      if (s.format === 'date-time') return new Date().toISOString();
      if (s.format === 'uri') return 'https://acme.test/x';
      return 'x';
    default:
      return s.properties ? {} : 'x';
  }
}

export interface PreparedRequest {
  method: string;
  template: string;
  path: string;
  send(url: string, auth: { key: string; actor: string }): Promise<{ status: number; body: any; headers: Headers }>;
}

/** Sends with a deadline: an event stream answered by mistake must not hang the test. */
export async function sendRaw(url: string, init: RequestInit & { timeoutMs?: number }): Promise<{ status: number; body: any; headers: Headers }> {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(init.timeoutMs ?? 10_000) });
  if (res.headers.get('content-type')?.startsWith('text/event-stream')) {
    await res.body?.cancel();
    return { status: res.status, body: '(event stream)', headers: res.headers };
  }
  const text = await res.text();
  let body: any = text;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    /* CSV, plain text */
  }
  return { status: res.status, body, headers: res.headers };
}

/**
 * Sends over node:http, which (unlike fetch) sends whatever it is given: a body with GET, raw header bytes. An event
 * stream is cut after its headers; an answer that does not come within `timeoutMs` rejects.
 */
export function sendHttp(
  url: string,
  init: { method: string; headers: Record<string, string>; body?: string; timeoutMs?: number },
): Promise<{ status: number; body: any; headers: Headers }> {
  return new Promise((resolve, reject) => {
    // node:http sends a GET or DELETE body without a length unless told: the server would read it as the next request
    const headers = init.body === undefined ? init.headers : { ...init.headers, 'content-length': String(Buffer.byteLength(init.body)) };
    const req = httpRequest(url, { method: init.method, headers, timeout: init.timeoutMs ?? 10_000 }, (res) => {
      const answered = new Headers();
      for (const [name, value] of Object.entries(res.headers)) if (value !== undefined) answered.set(name, Array.isArray(value) ? value.join(', ') : value);
      if (answered.get('content-type')?.startsWith('text/event-stream')) {
        res.destroy();
        resolve({ status: res.statusCode!, body: '(event stream)', headers: answered });
        return;
      }
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let body: any = text;
        try {
          body = text ? JSON.parse(text) : undefined;
        } catch {
          /* CSV, plain text */
        }
        resolve({ status: res.statusCode!, body, headers: answered });
      });
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${init.timeoutMs ?? 10_000} ms`)));
    req.on('error', reject);
    req.end(init.body);
  });
}

/**
 * One request per tenant operation (an organization key may call it, and it names an organization's resource: a
 * `{ws}` or `{org}` path, or a log position), with `ids` for the path and the `position` query, and a valid body
 * and required query parameters from the document, so that validation passes and the tenancy check decides.
 */
export function crossTenantRequests(doc: OpenApiDoc, ids: Record<string, string>): PreparedRequest[] {
  return operationsOf(doc)
    .filter((op) => op.security.includes('bearer'))
    .filter((op) => op.pathParams.includes('ws') || op.pathParams.includes('org') || op.query.some((q) => q.name === 'position'))
    .map((op) => {
      const path = op.pathParams.reduce((p, name) => p.replace(`{${name}}`, encodeURIComponent(ids[name] ?? 'missing-id')), op.template);
      const query = new URLSearchParams();
      for (const q of op.query) if (q.required || q.name in ids) query.set(q.name, ids[q.name] ?? String(exampleOf(doc, q.schema)));
      const full = query.size > 0 ? `${path}?${query}` : path;
      const body = op.body ? JSON.stringify(exampleOf(doc, op.body)) : undefined;
      return {
        method: op.method,
        template: op.template,
        path: full,
        send: (url, auth) =>
          sendRaw(url + full, {
            method: op.method,
            headers: { authorization: `Bearer ${auth.key}`, 'x-actor-id': auth.actor, ...(body && { 'content-type': 'application/json' }) },
            body,
            timeoutMs: 5000,
          }),
      };
    });
}
