// Generated requests for test/fuzz.e2e-spec.ts: any documented operation (from the live OpenAPI document) or a
// wrong method on it, with path ids, query strings, headers, content types and bodies that are now valid, now
// hostile (huge, unicode, control characters, duplicate keys, prototype-pollution keys, wrong types, malformed JSON).
// Everything comes from one seeded Random: the same seed gives the same requests.
import { type OpenApiDoc, type Operation, type Schema, exampleOf, resolve } from './openapi-ops';
import type { Random } from './random';

/** What the requests may name: the fuzzed organization's ids and keys, another organization's, the system key. */
export interface FuzzWorld {
  key: string;
  otherKey: string;
  systemKey: string;
  actors: string[];
  /** path parameter name → ids of that kind in the fuzzed organization */
  ids: Record<string, string[]>;
  /** ids of another organization, any kind */
  foreignIds: string[];
  emails: string[];
  tokens: string[];
  positions: () => bigint;
}

export interface FuzzRequest {
  method: string;
  template: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
}

const UNICODE = ['名前', '🙂👍🏽', 'e\u0301', 'Ω≈ç√∫', '\u202egnp.exe', '\u200b', '\ufeff', 'ﷺ', 'Ǆ', '𝔘𝔫𝔦𝔠𝔬𝔡𝔢', 'İ', 'ß'];
const HOSTILE = ["' OR 1=1 --", '../../etc/passwd', '%00', '\u0000', '${jndi:ldap://x/a}', '<script>alert(1)</script>', '{{7*7}}', 'null', 'undefined', 'NaN', '-1', '1e309', '0x10', '__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', '\\', '"', '\r\nX-Injected: 1'];
const POLLUTION = [
  '{"__proto__":{"isAdmin":true,"roles":["owner"]}}',
  '{"constructor":{"prototype":{"polluted":1}}}',
  '{"email":"p@acme.test","__proto__":{"status":200}}',
  '{"roles":["agent"],"__proto__":[],"constructor":null}',
  '{"name":"t","toString":"x","valueOf":1,"hasOwnProperty":2}',
];
const CONTENT_TYPES = ['application/json', 'application/json; charset=utf-8', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/json; charset=latin1', 'application/json; charset=utf-16', 'application/merge-patch+json', 'application/xml', '*/*', ''];
const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];

/** A string that node:http sends as a header value: its UTF-8 bytes, control characters but tab replaced. */
const headerSafe = (value: string) =>
  [...Buffer.from(value, 'utf8').toString('latin1')].map((c) => (c.charCodeAt(0) < 0x20 && c !== '\t') || c === '\x7f' ? '?' : c).join('');

export class FuzzGenerator {
  /** this request is meant to get through: own ids and keys, valid-looking values, no junk */
  plausible = false;

  constructor(
    private readonly r: Random,
    private readonly doc: OpenApiDoc,
    private readonly ops: Operation[],
    private readonly world: FuzzWorld,
  ) {}

  junkString(): string {
    const r = this.r;
    switch (r.int(7)) {
      case 0:
        return r.pick(UNICODE).repeat(1 + r.int(3));
      case 1:
        return r.pick(HOSTILE);
      case 2:
        return 'x'.repeat(r.pick([0, 1, 255, 256, 1_000, 10_000, 70_000]));
      case 3:
        return String.fromCharCode(...Array.from({ length: 1 + r.int(20) }, () => r.int(0xd7ff)));
      case 4:
        return `${r.pick(UNICODE)}${r.pick(HOSTILE)}${r.int(1e6)}`;
      case 5:
        return ' '.repeat(r.int(3)) + r.pick(this.world.emails).toUpperCase() + ' '.repeat(r.int(3));
      default:
        return r.pick(['', ' ', 'a', 'true', '[]', '{}', '-0', '999999999999999999999']);
    }
  }

  junkValue(depth = 0): unknown {
    const r = this.r;
    switch (r.int(depth > 3 ? 5 : 8)) {
      case 0:
        return null;
      case 1:
        return r.chance(0.5);
      case 2:
        return r.pick([0, -1, 1.5, 2 ** 53 + 1, -(2 ** 63), 1e308, Number.MIN_VALUE]);
      case 3:
      case 4:
        return this.junkString();
      case 5:
        return Array.from({ length: r.int(4) }, () => this.junkValue(depth + 1));
      case 6:
        return Object.fromEntries(Array.from({ length: r.int(4) }, () => [r.chance(0.3) ? r.pick(HOSTILE) : this.junkString().slice(0, 30), this.junkValue(depth + 1)]));
      default:
        return this.nested(5 + r.int(300));
    }
  }

  private nested(depth: number): unknown {
    let v: unknown = 1;
    for (let i = 0; i < depth; i++) v = this.r.chance(0.5) ? [v] : { a: v };
    return v;
  }

  /** a value for a named field: mostly plausible, sometimes junk */
  fieldValue(name: string, schema: Schema): unknown {
    const r = this.r;
    if (!this.plausible && r.chance(0.25)) return this.junkValue();
    const s = resolve(this.doc, schema);
    const lower = name.toLowerCase();
    if (lower.includes('email')) return r.chance(0.7) ? r.pick(this.world.emails) : this.junkString();
    if (lower === 'token') return r.chance(0.6) ? r.pick(this.world.tokens) : this.junkString();
    if (lower.endsWith('id') || lower.endsWith('to')) return r.pick(this.plausible ? this.world.ids.userId ?? [] : [...Object.values(this.world.ids).flat(), ...this.world.foreignIds]);
    if (lower === 'roles') return r.pick([['owner'], ['manager'], ['agent'], ['environment_manager', 'developer'], ['member'], [], ['owner', 'agent'], ['nope']]);
    if (lower === 'grants') return r.pick([[], ['users'], ['settings', 'reporting'], ['ib_publisher'], ['nope']]);
    if (lower === 'restrictions')
      return r.pick([{}, { workspace_settings: true }, { contact_visibility: 'self_only' }, { mask_contact_info: true }, { nope: true }, { workflows: 'x' }]);
    if (Array.isArray(s.enum) && (this.plausible || r.chance(0.8))) return r.pick(s.enum);
    if (s.type === 'boolean') return r.chance(0.5);
    if (s.type === 'array') return Array.from({ length: r.int(3) }, () => this.fieldValue('item', s.items ?? {}));
    if (s.type === 'object') return this.objectOf(s);
    if (this.plausible) return lower.includes('name') ? `${r.pick(['Ada', 'Team', 'Nuit', '名前'])} ${r.int(1000)}` : exampleOf(this.doc, s);
    return r.chance(0.5) ? exampleOf(this.doc, s) : this.junkString().slice(0, 300);
  }

  objectOf(schema: Schema): Record<string, unknown> {
    const s = resolve(this.doc, schema);
    const out: Record<string, unknown> = {};
    for (const [name, prop] of Object.entries<Schema>(s.properties ?? {})) {
      const required = (s.required ?? []).includes(name);
      if (required ? this.r.chance(0.9) : this.r.chance(0.4)) out[name] = this.fieldValue(name, prop);
    }
    if (!this.plausible && this.r.chance(0.1)) out[this.r.chance(0.5) ? this.r.pick(HOSTILE) : 'unexpected'] = this.junkValue();
    return out;
  }

  body(op: Operation | undefined): string | undefined {
    const r = this.r;
    const k = this.plausible ? 0 : r.int(20);
    if (k < 11 && op?.body) return JSON.stringify(this.objectOf(op.body));
    if (k < 13) return JSON.stringify(this.junkValue());
    if (k < 15) return r.pick(['{', '{"email": ', '[1,2', 'nul', '{"a":1}}', "{'a':1}", '\u0000', '', '{"a":1,}', this.junkString()]);
    if (k === 15) {
      // duplicate keys: the last one wins in JSON.parse, so a validator that looked at the first would be fooled
      const [a, b] = [r.pick(this.world.emails), this.junkString().slice(0, 50)];
      return `{"email":${JSON.stringify(a)},"email":${JSON.stringify(b)},"roles":["agent"],"roles":["owner"],"name":"a","name":${JSON.stringify(b)}}`;
    }
    if (k === 16) return r.pick(POLLUTION);
    if (k === 17) return JSON.stringify({ name: 'x'.repeat(r.pick([60_000, 66_000, 200_000])), email: 'big@acme.test' });
    if (k === 18) return JSON.stringify(this.nested(r.pick([30, 64, 65, 500, 3000])));
    return undefined;
  }

  /** a well-formed id that names nothing */
  uuid(): string {
    const hex = (n: number) => Array.from({ length: n }, () => this.r.int(16).toString(16)).join('');
    return `${hex(8)}-${hex(4)}-4${hex(3)}-8${hex(3)}-${hex(12)}`;
  }

  pathParam(name: string): string {
    const r = this.r;
    const own = this.world.ids[name] ?? Object.values(this.world.ids).flat();
    const k = this.plausible ? 0 : r.int(10);
    if (k < 6) return r.pick(own);
    if (k === 6) return r.pick(this.world.foreignIds);
    if (k === 7) return this.uuid();
    return encodeURIComponent(this.junkString().slice(0, r.pick([10, 200, 5000])));
  }

  query(op: Operation | undefined): string {
    const r = this.r;
    const params = new URLSearchParams();
    for (const q of op?.query ?? []) {
      if (!q.required && r.chance(0.5)) continue;
      const value = this.plausible || r.chance(0.6) ? String(exampleOf(this.doc, q.schema)) : r.chance(0.5) ? this.junkString().slice(0, 400) : String(r.pick([-1, 0, 10 ** 6, 1.5]));
      params.append(q.name, value);
      if (r.chance(0.1)) params.append(q.name, this.junkString().slice(0, 50)); // repeated: an array
    }
    if (!this.plausible && r.chance(0.15)) params.append(r.pick(['__proto__[polluted]', 'constructor[prototype][x]', 'toString', 'x', 'limit[]', 'q[$ne]']), this.junkString().slice(0, 40));
    const text = params.toString();
    return text ? `?${text}` : '';
  }

  headers(hasBody: boolean): Record<string, string> {
    const r = this.r;
    const w = this.world;
    const h: Record<string, string> = {};
    const auth = this.plausible ? 0 : r.int(20);
    if (auth < 14) h.authorization = `Bearer ${w.key}`;
    else if (auth === 14) h.authorization = `Bearer ${w.otherKey}`;
    else if (auth === 15) h.authorization = `Bearer ${w.systemKey}`;
    else if (auth === 16) h.authorization = headerSafe(`Bearer ${this.junkString().slice(0, 300)}`);
    else if (auth === 17) h.authorization = 'Basic dXNlcjpwYXNz';
    else if (auth === 18) h.authorization = `Bearer ${w.key.slice(0, -3)}abc`;
    if (this.plausible || r.chance(0.9)) h['x-actor-id'] = this.plausible || r.chance(0.85) ? r.pick(w.actors) : headerSafe(this.junkString().slice(0, 200));
    if (r.chance(0.3)) h['idempotency-key'] = r.chance(0.8) ? `fz-${r.int(400)}` : headerSafe(this.junkString().slice(0, 300));
    if (this.plausible) {
      if (hasBody) h['content-type'] = 'application/json';
      return h;
    }
    if (r.chance(0.1)) h['x-min-position'] = r.chance(0.5) ? String(w.positions() - BigInt(r.int(5))) : headerSafe(r.pick(['-1', 'abc', '1e5', '99999999999999999999', '18446744073709551616', String(w.positions() + 1000n)]));
    if (hasBody || r.chance(0.1)) {
      const ct = r.chance(0.75) ? 'application/json' : r.pick(CONTENT_TYPES);
      if (ct) h['content-type'] = ct;
    }
    if (r.chance(0.05)) h['accept'] = r.pick(['text/csv', 'application/xml', '*/*', 'text/event-stream']);
    if (r.chance(0.05)) h['x-forwarded-for'] = headerSafe(this.junkString().slice(0, 100));
    return h;
  }

  next(): FuzzRequest {
    const r = this.r;
    const op = r.pick(this.ops);
    this.plausible = r.chance(0.35);
    // sometimes a method the path does not have
    const method = !this.plausible && r.chance(0.05) ? r.pick(METHODS) : op.method;
    const path = op.template.replace(/\{([^}]+)\}/g, (_m, name: string) => this.pathParam(name)) + this.query(method === op.method ? op : undefined);
    const body = method === 'GET' && (this.plausible || r.chance(0.9)) ? undefined : this.body(method === op.method ? op : undefined);
    return { method, template: `${method} ${op.template}`, path, headers: this.headers(body !== undefined), body };
  }
}
