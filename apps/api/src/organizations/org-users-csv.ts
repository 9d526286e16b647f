import { Inject, Injectable, Optional } from '@nestjs/common';
import type { Readable } from 'node:stream';
import { type CsvOptions, csvStream, list, safeCell } from '@rollcall/read-store';
import { ActivityRecorder } from '../activity/activity-recorder';
import { StreamStates } from '../shared/command-path/stream-states';
import { OrganizationReads, pendingEmailExpired, pendingEmailTaken, pendingForNonMember } from './organization-reads';

/** The organization's users as CSV: one row per user, their memberships as `;`-separated workspace ids. */
export const ORG_USERS_CSV_COLUMNS = [
  'user_id',
  'email',
  'display_name',
  'alias',
  'avatar_url',
  'org_admin',
  'deleted',
  'joined_at',
  'last_active_on',
  'pending_email',
  'pending_email_expires_at',
  'active_workspaces',
  'revoked_workspaces',
  'invited_workspaces',
  // a deleted user's: the workspaces they were a member of when deleted, as the user detail lists them with the status
  // `deleted` (probe 85 F6: the presence report and the history keep their rows per workspace, and the file said none)
  'deleted_workspaces',
  // whether the pending email change's link has expired, as of the download (probe 89 F4); last, as columns are added
  'pending_email_expired',
  // whether another user holds that address since (probe 94 F4)
  'pending_email_taken',
  // what became of its link's mail, as the read models know it (session 64, probe 106 F5)
  'pending_email_mailed_at',
  'pending_email_mail_refused_at',
] as const;

/** users whose last-active days one lookup asks for */
const CHUNK = 500;

/**
 * Every user of the organization in one download (probe 76 F5: the organization's users were JSON only, and an org
 * admin who is no member of any workspace was in no CSV; probe 75 F8: "users revoked from every workspace" was a join
 * of N downloads — here an empty `active_workspaces`). From the organization's decision state and its workspaces',
 * as the users list and a user's detail are: current at once. A heavy read: every workspace's state is loaded once.
 */
@Injectable()
export class OrgUsersCsv {
  constructor(
    @Inject(OrganizationReads) private readonly reads: OrganizationReads,
    @Inject(StreamStates) private readonly states: StreamStates,
    @Optional() @Inject(ActivityRecorder) private readonly activity?: ActivityRecorder,
  ) {}

  /** the CSV, and the organization's name to name the download */
  async export(organizationId: string, actorId: string, csv: CsvOptions): Promise<{ csv: Readable; organizationName: string }> {
    // the org-admin check (403 / 404 before any row), and the workspaces' memberships by user
    const org = await this.reads.asOrgAdmin(organizationId, actorId);
    const active = new Map<string, string[]>();
    const revoked = new Map<string, string[]>();
    // an existing user's pending invitations to a workspace they are no active member of (probe 79 F3: an access
    // review saw nothing of them); a link past its 48 hours is listed too: it can be resent, or cancelled
    const invited = new Map<string, string[]>();
    // every membership, active or revoked, in the workspaces' order: a deleted user's `deleted_workspaces`
    const member = new Map<string, string[]>();
    const add = (into: Map<string, string[]>, userId: string, workspaceId: string) => into.set(userId, [...(into.get(userId) ?? []), workspaceId]);
    for (const workspaceId of org.workspaces.keys()) {
      const ws = (await this.states.workspace(org, workspaceId))?.state;
      for (const m of ws?.members.values() ?? []) {
        add(m.status === 'active' ? active : revoked, m.userId, workspaceId);
        add(member, m.userId, workspaceId);
      }
      for (const inv of ws?.invitations.values() ?? []) if (ws && pendingForNonMember(ws, inv)) add(invited, inv.inviteeUserId, workspaceId);
    }
    const users = [...org.users.values()];
    const { activity, reads } = this;
    const now = Date.now();
    async function* rows(): AsyncGenerator<string[]> {
      for (let i = 0; i < users.length; i += CHUNK) {
        const chunk = users.slice(i, i + CHUNK);
        const days = (await activity?.lastOn(organizationId, 'user', chunk.map((u) => u.userId), actorId)) ?? new Map<string, string>();
        const mails = await reads.pendingMails(organizationId, chunk);
        for (const u of chunk) {
          const gone = u.deleted;
          yield [
            u.userId,
            gone ? '' : safeCell(u.email),
            gone ? '' : safeCell(u.displayName),
            gone ? '' : safeCell(u.alias),
            gone ? '' : safeCell(u.avatarUrl),
            String(u.orgAdmin),
            String(u.deleted),
            u.joinedAt,
            days.get(u.userId) ?? '',
            gone || !u.pendingEmail ? '' : safeCell(u.pendingEmail.email),
            gone || !u.pendingEmail ? '' : u.pendingEmail.expiresAt,
            // a deleted user's memberships are neither (`deleted` says it: probe 79 F2, as the user detail's status)
            gone ? '' : list(active.get(u.userId)),
            gone ? '' : list(revoked.get(u.userId)),
            gone ? '' : list(invited.get(u.userId)),
            gone ? list(member.get(u.userId)) : '',
            gone || !u.pendingEmail ? '' : String(pendingEmailExpired(u, now)),
            gone || !u.pendingEmail ? '' : String(pendingEmailTaken(org, u)),
            mails.get(u.userId)?.mailedAt ?? '',
            mails.get(u.userId)?.mailRefusedAt ?? '',
          ];
        }
      }
    }
    return { csv: csvStream(ORG_USERS_CSV_COLUMNS, rows(), csv), organizationName: org.name };
  }
}
