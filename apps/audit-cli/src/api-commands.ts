import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { AccessExplanation } from '@rollcall/domain';
import type * as Proofs from './proofs';
import type { ProofBundle } from './proofs';
import type { Output } from './output';
import { UsageError } from './verify';

export interface ApiOptions {
  url: string;
  key?: string;
  actor?: string;
}

/**
 * The auditor's reads go through the API with an API key (and the acting user, for workspace reads). Over node:http,
 * not fetch: fetch refuses the ports browsers block (6000, 6665–6669, 10080…: "bad port", probe 56 F4), where an API
 * may well listen; and its "fetch failed" named neither the server nor why (probe 29).
 */
async function get(api: ApiOptions, path: string, accept = 'application/json'): Promise<{ status: number; text: string }> {
  const headers: Record<string, string> = { accept };
  if (api.key) headers.authorization = `Bearer ${api.key}`;
  if (api.actor) headers['x-actor-id'] = api.actor;
  const url = apiUrl(path, api.url);
  return new Promise((resolve, reject) => {
    const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, { headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      res.on('error', reject);
    });
    // the cause names why (ECONNREFUSED, ENOTFOUND, a certificate…)
    req.on('error', (error: NodeJS.ErrnoException) => reject(new ApiError(`cannot reach ${api.url}: ${error.code ?? error.message}`)));
    // a server that accepts and never answers: given up, as fetch did (probe 58 F8: it waited for good)
    req.setTimeout(API_TIMEOUT_MS, () => req.destroy(Object.assign(new Error(`no answer within ${API_TIMEOUT_MS / 1000} s`), { code: `no answer within ${API_TIMEOUT_MS / 1000} s` })));
    req.end();
  });
}

/** how long a read may go without a byte from the API (node:http's socket timeout) */
export const API_TIMEOUT_MS = 60_000;

/** `path` on the API at `url` (--url, ROLLCALL_URL): one that is no http(s) URL is a usage error */
function apiUrl(path: string, url: string): URL {
  let base: URL;
  try {
    base = new URL(url);
  } catch {
    throw new UsageError(`--url (or ROLLCALL_URL) must be the API's http(s) URL, got ${url}`);
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new UsageError(`--url (or ROLLCALL_URL) must be the API's http(s) URL, got ${url}`);
  return new URL(path, base);
}

/** the body of a 200 answer; any other is an ApiError naming the problem's code and detail */
export async function getText(api: ApiOptions, path: string, accept = 'application/json'): Promise<string> {
  const { status, text } = await get(api, path, accept);
  if (status !== 200) {
    let detail = text;
    try {
      const problem = JSON.parse(text) as { code?: string; detail?: string };
      detail = `${problem.code}: ${problem.detail}`;
    } catch {
      /* not a problem document */
    }
    throw new ApiError(`${path} answered ${status} ${detail}`);
  }
  return text;
}

export async function getJson<T>(api: ApiOptions, path: string): Promise<T> {
  return JSON.parse(await getText(api, path)) as T;
}

export class ApiError extends Error {}

const need = (value: string | undefined, flag: string): string => {
  if (!value) throw new UsageError(`${flag} is required`);
  return value;
};
/** a calendar date, or a date-time with a zone (`Z` or `±hh:mm`): what the API takes; without a zone, a time means another instant on every machine */
const TIME = /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2}))?$/i;

/** whether the date part names a day of the calendar: Date.parse takes 2026-02-30 as 2 March (probe 29) */
const calendarDate = (v: string): boolean => {
  const [y, m, d] = v.slice(0, 10).split('-').map(Number) as [number, number, number];
  const day = new Date(Date.UTC(y, m - 1, d));
  return day.getUTCFullYear() === y && day.getUTCMonth() === m - 1 && day.getUTCDate() === d;
};

/**
 * A time as given, checked: sent as it is, so that the API reads it as documented (a date as the end of a history
 * range means through the end of that day, docs/rules.md#rule-17; converted here to an instant, it meant its start).
 */
const instant = (value: string | undefined, flag: string): string => {
  const v = need(value, flag);
  if (!TIME.test(v) || Number.isNaN(Date.parse(v)) || !calendarDate(v))
    throw new UsageError(`${flag} must be a date (YYYY-MM-DD) or an ISO-8601 time with a zone (Z or +hh:mm), got ${v}`);
  return v;
};

/** A member's access at T as the API answers it (GET …/access?asOf=T). */
interface AccessAtT {
  userId: string;
  /** the instant answered for: `--at`, or now when it was a few seconds ahead of the server's clock */
  asOf: string;
  status: string;
  /** an org admin then: an owner's authority in every workspace of the organization, member or not (rule 5) */
  orgAdmin: boolean;
  roles: string[];
  grants: string[];
  restrictions: Record<string, true | string>;
  /** null for a user who held no access then */
  scopes: Record<string, unknown> | null;
  teams: { teamId: string; name: string }[];
  permissions: string[];
}

/** `name` for a switch, `name=value` for a scope: what the member's restrictions hold */
const restrictionsText = (r: AccessAtT['restrictions']): string =>
  Object.entries(r)
    .map(([name, value]) => (value === true ? name : `${name}=${value}`))
    .join(', ') || '-';
/** the data scopes in effect (each may be a value, or the value with the restriction that set it) */
const scopesText = (s: AccessAtT['scopes']): string =>
  Object.entries(s ?? {})
    .map(([name, v]) => `${name}=${typeof v === 'object' && v !== null && 'value' in v ? String((v as { value: unknown }).value) : String(v)}`)
    .join(', ') || '-';

/** the lines of an explanation: why each permission is held, why each other one is not */
function explanationLines(e: AccessExplanation): string[] {
  const lines = e.granted.map((g) => `  + ${g.permission} <- ${g.from.join(', ')}`);
  for (const m of e.missing)
    lines.push(
      m.reason === 'removed'
        ? `  - ${m.permission} removed by ${m.by.join(', ')} (given by ${m.from.join(', ')})`
        : `  - ${m.permission} not given${m.givenBy.length > 0 ? ` (${m.givenBy.join(', ')} would give it)` : ''}`,
    );
  for (const i of e.ignored) lines.push(`  ~ ${i.restriction} has no effect (${i.reason}): ${i.detail}`);
  return lines;
}

export async function accessCommand(api: ApiOptions, o: { workspace?: string; user?: string; at?: string; explain?: boolean }, out: Output): Promise<number> {
  const ws = need(o.workspace, '--workspace');
  const user = need(o.user, '--user');
  const at = instant(o.at, '--at');
  const answer = await getJson<Record<string, unknown>>(api, `/v1/workspaces/${encodeURIComponent(ws)}/members/${encodeURIComponent(user)}/access?asOf=${encodeURIComponent(at)}${o.explain ? '&explain=true' : ''}`);
  if (out.json) out.result(answer);
  else {
    const a = answer as unknown as AccessAtT & { explanation?: AccessExplanation };
    out.line(`${user} in ${ws} at ${a.asOf}: ${a.status}; roles ${a.roles.join(', ') || '-'}; grants ${a.grants.join(', ') || '-'}`);
    // the permissions below are the membership's: an org admin holds an owner's authority besides (probe 33 F3)
    if (a.orgAdmin) out.line(ORG_ADMIN_LINE);
    out.line(`restrictions: ${restrictionsText(a.restrictions)}`);
    out.line(`scopes: ${scopesText(a.scopes)}`);
    out.line(`teams: ${a.teams.map((t) => `${t.name} (${t.teamId})`).join(', ') || '-'}`);
    out.line(`permissions: ${a.permissions.join(', ') || '-'}`);
    if (a.explanation) for (const line of explanationLines(a.explanation)) out.line(line);
  }
  return 0;
}

const ORG_ADMIN_LINE = "org admin: yes (an owner's authority in every workspace of the organization, member or not: rule 5)";

export async function rosterCommand(api: ApiOptions, o: { workspace?: string; at?: string }, out: Output): Promise<number> {
  const ws = need(o.workspace, '--workspace');
  const at = instant(o.at, '--at');
  const answer = await getJson<{ members: AccessAtT[]; orgAdmins: string[]; partnerTeams?: PartnerTeamAtT[] }>(api, `/v1/workspaces/${encodeURIComponent(ws)}/access?asOf=${encodeURIComponent(at)}`);
  if (out.json) out.result(answer);
  else {
    out.line(['userId', 'status', 'orgAdmin', 'roles', 'grants', 'restrictions', 'scopes', 'teams', 'permissions'].join('\t'));
    const admins = new Set(answer.orgAdmins);
    for (const m of answer.members)
      out.line(
        [m.userId, m.status, admins.has(m.userId) ? 'yes' : 'no', m.roles.join(','), m.grants.join(','), restrictionsText(m.restrictions), scopesText(m.scopes), m.teams.map((t) => t.teamId).join(','), m.permissions.join(',')]
          .map((field) => field || '-')
          .join('\t'),
      );
    // org admins who were no member then hold an owner's authority all the same (probe 33 F3: the text left them out)
    const outside = answer.orgAdmins.filter((id) => !answer.members.some((m) => m.userId === id));
    out.line(`org admins (an owner's authority here, rule 5): ${answer.orgAdmins.join(', ') || '-'}${outside.length > 0 ? `; not members: ${outside.join(', ')}` : ''}`);
    // who from outside could be asked into this workspace's chats then (rule 16; probe 33 O9); absent from an older API
    if (answer.partnerTeams !== undefined) {
      out.line(`partner teams visible here (rule 16):${answer.partnerTeams.length === 0 ? ' -' : ''}`);
      for (const t of answer.partnerTeams) out.line(`  ${t.teamId} "${t.name}" of workspace ${t.workspaceId}: ${t.members.join(', ') || 'no members'}`);
    }
  }
  return 0;
}

interface PartnerTeamAtT {
  workspaceId: string;
  teamId: string;
  name: string;
  members: string[];
}

export async function historyCommand(api: ApiOptions, o: { workspace?: string; from?: string; to?: string; format?: string; user?: string; by?: string }): Promise<number> {
  const ws = need(o.workspace, '--workspace');
  const format = o.format ?? 'json';
  if (format !== 'json' && format !== 'csv') throw new UsageError('--format is csv or json');
  const params = new URLSearchParams();
  if (o.from) params.set('from', instant(o.from, '--from'));
  if (o.to) params.set('to', instant(o.to, '--to'));
  // the filters of rule 17: the member the entries are about, the user who made the changes
  if (o.user) params.set('userId', o.user);
  if (o.by) params.set('actorId', o.by);
  if (format === 'csv') {
    params.set('format', 'csv');
    const { status, text } = await get(api, `/v1/workspaces/${encodeURIComponent(ws)}/history?${params}`, 'text/csv');
    if (status !== 200) throw new ApiError(`history answered ${status} ${text}`);
    process.stdout.write(text);
    return 0;
  }
  // every page, in log order; each entry carries the `position` to ask a proof for
  const items: unknown[] = [];
  params.set('limit', '500');
  for (let cursor: string | undefined; ; ) {
    if (cursor) params.set('cursor', cursor);
    const page = await getJson<{ items: unknown[]; nextCursor?: string }>(api, `/v1/workspaces/${encodeURIComponent(ws)}/history?${params}`);
    items.push(...page.items);
    if (!page.nextCursor) break;
    cursor = page.nextCursor;
  }
  process.stdout.write(`${JSON.stringify(items, null, 2)}\n`);
  return 0;
}

/**
 * `prove`: fetches the inclusion proof of a position with its checkpoint, checks it, and writes the bundle. With a
 * checkpoint the auditor kept (`checkpoint`, its note's text), the proof is asked at that checkpoint's size and bundled
 * with it: the log keeps a day of checkpoints, then one an hour (docs/adr/0007, "Session 65"; probe 111 F4).
 */
export async function proveCommand(api: ApiOptions, o: { position?: string; treeSize?: string; checkpoint?: string }, out: Output): Promise<{ code: number; bundle?: ProofBundle }> {
  const position = need(o.position, '--position');
  if (!/^[1-9]\d*$/.test(position)) throw new UsageError('--position is a log position (a positive integer)');
  // a checkpoint's note: its origin, then its tree size, then its root (C2SP tlog-checkpoint)
  const keptSize = o.checkpoint === undefined ? undefined : /^[^\n]+\n(\d+)\n/.exec(o.checkpoint)?.[1];
  if (o.checkpoint !== undefined && keptSize === undefined) throw new UsageError('--checkpoint: not a checkpoint (the checkpoint command writes one)');
  if (keptSize !== undefined && o.treeSize !== undefined && o.treeSize !== keptSize)
    throw new UsageError(`--tree-size ${o.treeSize} is not the size of the checkpoint given (${keptSize}): leave one out`);
  const treeSize = keptSize ?? o.treeSize;
  const verifierKey = (await get({ url: api.url }, '/v1/audit/public-key', 'text/plain')).text.trim();
  // asked with the key alone: --actor is who reads workspaces (a history reader, say), and the API answers an inclusion
  // proof to a named actor only if they are an org admin (probe 83 F7), where the key's holder may always ask
  const proof = await getJson<ProofBundle['proof'] & { checkpoint?: string }>({ ...api, actor: undefined }, `/v1/audit/proofs/inclusion?position=${position}${treeSize ? `&treeSize=${treeSize}` : ''}`);
  const checkpoint = o.checkpoint ?? proof.checkpoint;
  if (!checkpoint)
    throw new ApiError(
      `the log holds no checkpoint of tree size ${proof.treeSize}: none was signed at that size, or it was thinned (the log keeps the checkpoints of the last day, then one an hour); give the one you kept with --checkpoint FILE, or omit --tree-size to use the latest`,
    );
  const { checkpoint: _given, ...rest } = proof;
  const bundle: ProofBundle = {
    format: 'rollcall-inclusion-proof/v1',
    verifierKey,
    checkpoint,
    proof: { leafIndex: rest.leafIndex, treeSize: rest.treeSize, position: rest.position, leafHash: rest.leafHash, entry: rest.entry, hashes: rest.hashes },
  };
  // checked against the key the same API gave: the answers agree with each other (an auditor checks the file later
  // with `check-proof --public-key`, against the key they trust)
  // loaded here, not at the top: the other API commands start without class-validator (~0.4 s to load)
  const { checkProof } = require('./proofs') as typeof Proofs;
  const check = checkProof(bundle, bundle.verifierKey);
  if (!check.ok) out.error(`the proof the API gave does not check: ${check.problems.join('; ')}`);
  return { code: check.ok ? 0 : 1, bundle };
}
