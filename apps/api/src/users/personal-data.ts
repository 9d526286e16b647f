import { Inject, Injectable, Optional } from '@nestjs/common';
import { ApiProperty } from '@nestjs/swagger';
import { emailKey } from '@rollcall/domain';
import { type HistoryChange, type HistoryEntryDoc, type PresenceReportRow, type ReadStore, getMember, listHistory, presenceReportDays } from '@rollcall/read-store';
import { StreamStates } from '../shared/command-path/stream-states';
import type { Config } from '../config';
import { HistoryEntry, toHistoryEntry } from '../history/resources';
import { toMemberDetail } from '../members/resources';
import { ApiKeyItem, ApiKeyReads } from '../organizations/api-keys';
import { OrganizationChanges, type OrgChangeView } from '../organizations/organization-changes';
import { OrganizationReads } from '../organizations/organization-reads';
import { APP_CONFIG, READ_STORE } from '../shared/tokens';

/** how many history entries and organization changes one export holds at most (`truncated` past them) */
export const EXPORT_MAX_ENTRIES = 20_000;
/** the days of presence sums an export holds (the report, `GET …/reports/presence`, gives 366 a call) */
export const EXPORT_PRESENCE_DAYS = 31;

export class PersonalDataExport {
  @ApiProperty({ format: 'date-time' })
  exportedAt!: string;
  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    description:
      "the user as the organization's user detail has them (profile, org admin, last active, `invitations`: those pending for them, bound to them — rule 8 — in workspaces they are no member of), and `formerAddresses`: the addresses they held before their current one (earlier display names are not kept but in the log)",
  })
  user!: Record<string, unknown>;
  @ApiProperty({ type: 'array', items: { type: 'object', additionalProperties: true }, description: "the member detail in each workspace they are or were a member of (access, effective permissions, teams, invitation, last seen), as `GET …/members/{userId}` gives it" })
  memberships!: Record<string, unknown>[];
  @ApiProperty({
    type: [HistoryEntry],
    description:
      "every permission history entry about them (`userId`), made by them (`actorId`), reassigning someone's contacts to them (a revoke's `details`), or of an invitation pending for them (`user.invitations`), in every workspace of the organization; an entry about someone else keeps that person's id, not their address",
  })
  history!: HistoryEntry[];
  @ApiProperty({ type: 'array', items: { type: 'object', additionalProperties: true }, description: "the organization's changes about them or made by them (`GET …/changes`' entries)" })
  organizationChanges!: OrgChangeView[];
  @ApiProperty({ type: [ApiKeyItem], description: 'the API keys they issued or revoked (revoked ones included)' })
  apiKeys!: ApiKeyItem[];
  @ApiProperty({ type: 'array', items: { type: 'object', additionalProperties: true }, description: `their seconds online and away per workspace and UTC day, the last ${EXPORT_PRESENCE_DAYS} days (the presence report gives more)` })
  presence!: PresenceReportRow[];
  @ApiProperty({ description: `true when the history or the organization's changes held more than ${EXPORT_MAX_ENTRIES} entries: the first ones are here, the rest in those lists' own pages` })
  truncated!: boolean;
}

/**
 * An entry as the subject gets it: another person's address left out (probe 78 F2: an org admin's export held the
 * address of everyone they invited — that person's data, not the subject's; GDPR Art. 15(4)); ids stay.
 */
const aboutThemOnly = (entry: HistoryEntry, userId: string, theirs: ReadonlySet<string>): HistoryEntry =>
  entry.userId === userId || (typeof entry.email === 'string' && theirs.has(emailKey(entry.email))) ? entry : { ...entry, email: null };

/** the user a revoke reassigned the member's contacts to, if any */
const reassignedTo = (doc: HistoryEntryDoc): string | undefined => {
  const contacts = (doc.details as { contacts?: { mode?: string; toUserId?: string } } | null)?.contacts;
  return contacts?.mode === 'reassigned' ? contacts.toUserId : undefined;
};

/**
 * A data subject's access request (GDPR Art. 15; probe 76 F3: 19+ calls for two workspaces, and no file): everything
 * the organization's reads hold about one user, in one JSON document an org admin hands over — their profile, their
 * memberships, the history about and by them, the organization's changes about and by them, the keys they issued or
 * revoked, their recent presence. Read from the read models and the organization's decision state, as each of those
 * reads is; what a deletion erased is erased here too (a deleted user's export is their pseudonymous remains).
 */
@Injectable()
export class PersonalDataExports {
  constructor(
    @Inject(OrganizationReads) private readonly reads: OrganizationReads,
    @Inject(OrganizationChanges) private readonly changes: OrganizationChanges,
    @Inject(ApiKeyReads) private readonly keys: ApiKeyReads,
    @Inject(READ_STORE) private readonly store: ReadStore,
    @Inject(StreamStates) private readonly states: StreamStates,
    @Optional() @Inject(APP_CONFIG) private readonly config?: Pick<Config, 'presenceTimeoutSeconds'>,
  ) {}

  async export(organizationId: string, actorId: string, userId: string): Promise<PersonalDataExport> {
    // the org-admin check and the user (404 when none), with every membership
    // (`workspacesNext`: the detail's paging, nothing of theirs: probe 86 F2)
    const { workspaces, workspacesNext: _paging, ...profile } = await this.reads.user(organizationId, actorId, userId);
    // every address they held (the first is the current one): a deleted user's are gone
    const org = (await this.states.organization(organizationId)).state;
    const addresses = org.users.get(userId)?.knownEmails ?? [];
    const user = { ...profile, formerAddresses: addresses.filter((a) => a !== profile.email) };
    const theirs = new Set(addresses.map(emailKey));
    const memberships: Record<string, unknown>[] = [];
    for (const { workspaceId } of workspaces) {
      const member = await getMember(this.store, workspaceId, userId);
      if (member) memberships.push({ ...toMemberDetail(member) });
    }
    let truncated = false;
    const history: HistoryEntry[] = [];
    for (const workspaceId of org.workspaces.keys()) {
      const seen = new Set<string>();
      // about them, by them, and the revokes that reassigned someone's contacts to them (named in `details` only). Not
      // the invitations to an address of theirs never accepted: they name no one, and an address passes from one person
      // to another (probe 79 F1: a newcomer's invitation to Margaret's former address was in Margaret's file). The
      // invitations pending for them, bound to them (rule 8: the detail's `invitations`), are theirs: their entries too
      // (probe 86 F2)
      const bound = profile.invitations.filter((i) => i.workspaceId === workspaceId).map((i) => ({ invitationId: i.invitationId }));
      const filters: { keep?: (doc: HistoryEntryDoc) => boolean; userId?: string; actorId?: string; invitationId?: string; change?: readonly HistoryChange[] }[] = [
        { userId },
        { actorId: userId },
        { change: ['revoked'], keep: (doc) => reassignedTo(doc) === userId },
        ...bound,
      ];
      for (const { keep, ...filter } of filters)
        for (let cursor: string | undefined, first = true; first || cursor !== undefined; first = false) {
          const page = await listHistory(this.store, workspaceId, { ...filter, limit: 500, cursor });
          for (const doc of page.items as HistoryEntryDoc[])
            if (!seen.has(doc._id) && (keep?.(doc) ?? true)) {
              seen.add(doc._id);
              history.push(aboutThemOnly(toHistoryEntry(doc), userId, theirs));
            }
          cursor = history.length >= EXPORT_MAX_ENTRIES ? undefined : page.nextCursor;
          if (history.length >= EXPORT_MAX_ENTRIES) truncated = true;
        }
    }
    const organizationChanges: OrgChangeView[] = [];
    for (let after: string | undefined, first = true; first || after !== undefined; first = false) {
      const page = await this.changes.list(organizationId, actorId, { limit: 500, after });
      organizationChanges.push(...page.items.filter((c) => c.userId === userId || c.actorId === userId));
      after = organizationChanges.length >= EXPORT_MAX_ENTRIES ? undefined : (page.next ?? undefined);
      if (organizationChanges.length >= EXPORT_MAX_ENTRIES) truncated = true;
    }
    const apiKeys = (await this.keys.list(organizationId, actorId, undefined, true)).items.filter((k) => k.issuedBy === userId || k.revokedBy === userId);
    return { exportedAt: new Date().toISOString(), user, memberships, history: history.slice(0, EXPORT_MAX_ENTRIES), organizationChanges: organizationChanges.slice(0, EXPORT_MAX_ENTRIES), apiKeys, presence: await this.presence(workspaces, userId), truncated };
  }

  private async presence(workspaces: { workspaceId: string }[], userId: string): Promise<PresenceReportRow[]> {
    const day = 24 * 3600_000;
    const range = {
      from: new Date(Date.now() - (EXPORT_PRESENCE_DAYS - 1) * day).toISOString().slice(0, 10),
      to: new Date().toISOString().slice(0, 10),
      nowMs: Date.now(),
      timeoutMs: (this.config?.presenceTimeoutSeconds ?? 60) * 1000,
    };
    const rows: PresenceReportRow[] = [];
    // (each row names its workspace, as the report's own rows do)
    for (const { workspaceId } of workspaces)
      for await (const { items } of presenceReportDays(this.store, workspaceId, range)) for (const row of items) if (row.userId === userId) rows.push(row);
    return rows;
  }
}
