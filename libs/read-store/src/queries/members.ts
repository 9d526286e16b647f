import { type EffectivePermissions, accessModel, effectivePermissions } from '@rollcall/domain';
import type { FieldValue, Query, ReadStore } from '../port';
import { MEMBERS, type MemberDoc, type MemberStatus, type MemberView, memberId } from '../projections/members';
import { WORKSPACES, type WorkspaceDoc } from '../projections/workspaces';
import { ORG_USERS, type OrgUserDoc, orgUserId } from '../projections/org-users';
import { searchKey } from '../projections/sort-key';
import { type CsvOptions, csvStream, list, restrictionsCell, safeCell } from './csv';

export type MemberSort = 'name' | 'email' | 'lastSeen' | 'joined';

export interface MemberFilters {
  /** case-insensitive substring of email, display name or alias */
  q?: string;
  /** default: pending and active */
  status?: MemberStatus | MemberStatus[];
  /** any of these roles */
  role?: string | string[];
  team?: string;
  presence?: 'online' | 'away' | 'offline';
  /** default `name` */
  sort?: MemberSort;
  /** default `asc` for name and email, `desc` (most recent first) for lastSeen and joined */
  direction?: 'asc' | 'desc';
}

export interface ListMembersOptions extends MemberFilters {
  /** default 50, at most 500 */
  limit?: number;
  cursor?: string;
}

export type { MemberView };

/** A list item: a member with `orgAdmin` (rule 5, from the organization's users), or a pending invitation. */
export type MemberListItem = MemberView & { orgAdmin?: boolean };

export interface MemberPage {
  items: MemberListItem[];
  /** absent on the last page */
  nextCursor?: string;
}

export interface MemberWithPermissions extends MemberView {
  /** what the member can do in the workspace now; null unless active */
  effectivePermissions: EffectivePermissions | null;
  /** an org admin: an owner's authority here besides their own access (rule 5) */
  orgAdmin: boolean;
}

const SORT_FIELDS: Record<MemberSort, string> = { name: 'sortName', email: 'email', lastSeen: 'seenOrder', joined: 'joinedAt' };

const toView = ({ sortName: _sortName, searchText: _searchText, seenOrder: _seenOrder, addressKey: _addressKey, ...member }: MemberDoc): MemberView => member;

/** the statuses a list shows: pending invitations have no presence, so a presence filter leaves them out */
const statusesOf = (f: MemberFilters): MemberStatus[] => {
  const statuses = f.status === undefined ? (['pending', 'active'] as MemberStatus[]) : Array.isArray(f.status) ? f.status : [f.status];
  return f.presence === undefined ? statuses : statuses.filter((s) => s !== 'pending');
};

function memberQuery(workspaceId: string, f: MemberFilters): Omit<Query, 'limit' | 'cursor'> {
  const where: Record<string, FieldValue | FieldValue[]> = { workspaceId, status: statusesOf(f) };
  if (f.role !== undefined) where.roles = f.role;
  if (f.team !== undefined) where.teamIds = f.team;
  if (f.presence !== undefined) where.presence = f.presence;
  const sort = f.sort ?? 'name';
  const direction = f.direction ?? (sort === 'name' || sort === 'email' ? 'asc' : 'desc');
  const query: Omit<Query, 'limit' | 'cursor'> = { where, sort: { field: SORT_FIELDS[sort], direction } };
  // folded as the documents' searchText is (sort-key.ts searchKey): case, accents, "José" typed either way, ß and ss
  const q = f.q?.trim() ? searchKey(f.q).trim() : '';
  if (q) query.search = { text: q, fields: ['searchText'] };
  // a q of what folds to nothing (a lone accent, "´") finds nobody: it matched everyone (review, session 16)
  else if (f.q?.trim()) where.status = [];
  return query;
}

/** The user list of a workspace (docs/rules.md#http-api `GET /v1/workspaces/{ws}/members`): pending invitations and active members by default. */
export async function listMembers(store: ReadStore, workspaceId: string, options: ListMembersOptions = {}): Promise<MemberPage> {
  if (statusesOf(options).length === 0) return { items: [] };
  const page = await store.find<MemberDoc>(MEMBERS, { ...memberQuery(workspaceId, options), limit: options.limit, cursor: options.cursor });
  const admins = await orgAdminsAmong(store, page.items);
  const items = page.items.map((m): MemberListItem => (m.kind === 'member' ? { ...toView(m), orgAdmin: admins.has(m.userId!) } : toView(m)));
  return { items, ...(page.nextCursor !== undefined && { nextCursor: page.nextCursor }) };
}

/**
 * Which of these members are org admins (rule 5). Read from the organization's users at query time, as the member
 * detail does, rather than copied into every member document: an org admin change would rewrite a document per
 * workspace of theirs, and a rebuild would pay for it.
 */
async function orgAdminsAmong(store: ReadStore, members: readonly MemberDoc[]): Promise<Set<string>> {
  const ids = members.filter((m) => m.kind === 'member').map((m) => orgUserId(m.organizationId, m.userId!));
  if (ids.length === 0) return new Set();
  const users = await store.getMany<OrgUserDoc>(ORG_USERS, ids, { fields: ['userId', 'orgAdmin'] });
  return new Set([...users.values()].filter((u) => u.doc.orgAdmin === true).map((u) => u.doc.userId));
}

/** an active member's effective permissions in their workspace (its model and plan); null for anyone else */
const permissionsIn = (m: MemberDoc, workspace: WorkspaceDoc): EffectivePermissions | null =>
  m.status === 'active' ? effectivePermissions({ roles: m.roles, restrictions: m.restrictions, grants: m.grants }, accessModel(workspace.accessModel), workspace.plan) : null;

/** One member (any status) with their effective permissions; undefined when the user never was a member. */
export async function getMember(store: ReadStore, workspaceId: string, userId: string): Promise<MemberWithPermissions | undefined> {
  const [member, workspace] = await Promise.all([
    store.get<MemberDoc>(MEMBERS, memberId(workspaceId, userId)),
    store.get<WorkspaceDoc>(WORKSPACES, workspaceId),
  ]);
  if (!member) return undefined;
  const m = member.doc;
  const user = await store.get<OrgUserDoc>(ORG_USERS, orgUserId(m.organizationId, userId));
  const permissions = workspace ? permissionsIn(m, workspace.doc) : null;
  return { ...toView(m), effectivePermissions: permissions, orgAdmin: user?.doc.orgAdmin === true };
}

export const MEMBER_CSV_COLUMNS = [
  'email',
  'display_name',
  'alias',
  'status',
  'roles',
  'restrictions',
  'grants',
  'invited_at',
  'joined_at',
  'last_seen_at',
  'org_admin',
  // last, so that the columns before keep their places: the keys the presence report and the history use (probe 38 F11)
  'user_id',
  'invitation_id',
  // where the row came from, so that exports of several workspaces put together keep it (probe 69 F5)
  'workspace_id',
  // what an active member may do here (the member detail's effectivePermissions): "who can export?" is a filter of
  // this column, not a call per member (probe 69 F5); an org admin holds an owner's authority whatever it says (rule 5)
  'permissions',
  // when a pending invitation's current link stops working (a resend moves it: invited_at + 48 h is the first link's)
  // and when a member was revoked: what an access review files (probe 75 F5)
  'expires_at',
  'revoked_at',
  // an access review from the download alone, whatever the workspace's preset (probe 82 F2): the workspace's name, a
  // pending invitation's link expired or not, the member's teams, whether they hold the preset's export permission
  // (`data.export` under levels, `users` otherwise: downloading the list also needs to read it, rule 18) and an
  // owner's authority (the preset's owner role or permission, or org admin: rule 5)
  'workspace_name',
  'expired',
  'team_ids',
  'export_permission',
  'owner_authority',
  // who revoked a revoked member: their user id (probe 80 F14)
  'revoked_by',
  // the workspace's preset (levels, studio, permissions): what its role names and permissions mean, for a review that
  // spans workspaces of several presets (probe 82 F2)
  'access_model',
  // who sent a pending invitation: their user id, or `system` (probe 82 F7; probe 106 F6: the JSON list had it)
  'invited_by',
] as const;

/** members streamed into the export per overlay call */
const EXPORT_CHUNK = 500;

/** replaces members of each chunk before they are written (the API sets live last-seen times) */
export type MemberOverlay = (members: MemberDoc[]) => Promise<MemberDoc[]>;

/**
 * The user list as CSV (rule 18), streamed from the read store in bounded memory. Lists: `;`-separated.
 * `overlay` may replace members of each chunk before they are written (the API sets live last-seen times).
 */
export function exportMembersCsv(store: ReadStore, workspaceId: string, filters: MemberFilters = {}, overlay: MemberOverlay = async (members) => members, csv: CsvOptions = {}) {
  return csvStream(MEMBER_CSV_COLUMNS, memberCsvRows(store, workspaceId, filters, overlay), csv);
}

/**
 * The user lists of several workspaces as one CSV, one after the other in the order given, with the same columns as
 * one workspace's (its `workspace_id` says where each row is from): an organization's access review in one download,
 * one row per membership or pending invitation (probe 79 F6: the users CSV's `;`-separated workspaces outgrew a
 * spreadsheet's cell past ~880 workspaces; probe 75 F1: access across the organization took a download per workspace).
 */
export function exportWorkspacesMembersCsv(store: ReadStore, workspaceIds: readonly string[], filters: MemberFilters, overlayOf: (workspaceId: string) => MemberOverlay, csv: CsvOptions = {}) {
  async function* rows(): AsyncIterable<string[]> {
    for (const workspaceId of workspaceIds) yield* memberCsvRows(store, workspaceId, filters, overlayOf(workspaceId));
  }
  return csvStream(MEMBER_CSV_COLUMNS, rows(), csv);
}

/** One row of the user list's CSV: `ws`, the workspace's document (its model and plan), when the read store has it */
function memberCsvRow(m: MemberDoc, admins: Set<string>, ws: WorkspaceDoc | undefined, nowMs: number): string[] {
  // empty for pending invitations and revoked members: they hold nothing here
  const effective = ws && permissionsIn(m, ws);
  const model = ws && accessModel(ws.accessModel);
  const active = m.kind === 'member' && m.status === 'active';
  const owner = active && model !== undefined && ('role' in model.owner ? m.roles.includes(model.owner.role) : (effective?.permissions.includes(model.owner.permission) ?? false));
  return [
    safeCell(m.email),
    safeCell(m.displayName),
    safeCell(m.alias),
    m.status,
    list(m.roles),
    restrictionsCell(m.restrictions),
    list(m.grants),
    m.invitedAt ?? '',
    m.joinedAt ?? '',
    m.lastSeenAt ?? '',
    // empty for a pending invitation (no user yet)
    m.kind === 'member' ? String(admins.has(m.userId!)) : '',
    // an invitation's: the user it is bound to (rule 8), empty for an address no user held (probe 82 F5)
    m.kind === 'member' ? m.userId! : (m.inviteeUserId ?? ''),
    m.kind === 'invitation' ? (m.invitationId ?? '') : '',
    m.workspaceId,
    list(effective?.permissions ?? []),
    m.kind === 'invitation' ? (m.expiresAt ?? '') : '',
    m.revokedAt ?? '',
    safeCell(ws?.name),
    m.kind === 'invitation' && m.expiresAt ? String(nowMs >= Date.parse(m.expiresAt)) : '',
    list(m.teamIds),
    active && model ? String(effective?.permissions.includes(model.exportMembers) ?? false) : '',
    // an org admin holds an owner's authority whatever their own access (rule 5), a revoked membership included
    m.kind === 'member' ? String(owner || admins.has(m.userId!)) : '',
    m.revokedBy ?? '',
    ws?.accessModel ?? '',
    m.kind === 'invitation' ? (m.invitedBy ?? '') : '',
  ];
}

async function* memberCsvRows(store: ReadStore, workspaceId: string, filters: MemberFilters, overlay: MemberOverlay): AsyncIterable<string[]> {
  // the workspace's model and plan as the first rows are written (a plan changed during a long download applies from
  // the next), read once
  let workspace: Promise<{ doc: WorkspaceDoc } | undefined> | undefined;
  const rowsOf = async (chunk: MemberDoc[]) => {
    const [members, ws] = await Promise.all([overlay(chunk), (workspace ??= store.get<WorkspaceDoc>(WORKSPACES, workspaceId))]);
    const admins = await orgAdminsAmong(store, members);
    const nowMs = Date.now();
    return members.map((m) => memberCsvRow(m, admins, ws?.doc, nowMs));
  };
  let chunk: MemberDoc[] = [];
  const members = statusesOf(filters).length === 0 ? [] : store.stream<MemberDoc>(MEMBERS, memberQuery(workspaceId, filters));
  for await (const m of members) {
    chunk.push(m);
    if (chunk.length >= EXPORT_CHUNK) {
      yield* await rowsOf(chunk);
      chunk = [];
    }
  }
  if (chunk.length > 0) yield* await rowsOf(chunk);
}
