import { Inject, Injectable } from '@nestjs/common';
import type { Readable } from 'node:stream';
import { type CsvOptions, type MemberFilters, type ReadStore, exportWorkspacesMembersCsv } from '@rollcall/read-store';
import { LAST_SEEN, type LastSeen, withLiveLastSeen } from '../shared/last-seen';
import { type MinPosition, ReadAccess } from '../shared/reads/read-access';
import { READ_STORE } from '../shared/tokens';
import { OrganizationReads } from './organization-reads';

/**
 * Every workspace's user list in one CSV (org admins): the columns of a workspace's `members/export.csv`, its rows one
 * workspace after another in the order they were created, each row naming its `workspace_id` — one row per membership
 * or pending invitation, with its roles, restrictions, grants and effective permissions: an access review of the
 * organization in one download (probe 79 F6: the users CSV's `;`-separated workspaces outgrew a spreadsheet's cell
 * past ~880 of them; probe 75 F1). From the read models, as each workspace's download: `X-Min-Position` waits for them.
 */
@Injectable()
export class OrgMembersCsv {
  constructor(
    @Inject(OrganizationReads) private readonly reads: OrganizationReads,
    @Inject(ReadAccess) private readonly access: ReadAccess,
    @Inject(READ_STORE) private readonly store: ReadStore,
    @Inject(LAST_SEEN) private readonly lastSeen: LastSeen,
  ) {}

  /** the CSV, and the organization's name to name the download */
  async export(organizationId: string, actorId: string, filters: MemberFilters, minPosition: MinPosition | undefined, csv: CsvOptions): Promise<{ csv: Readable; organizationName: string }> {
    // the org-admin check (403 / 404 before any row): an org admin holds an owner's authority in every workspace (rule 5)
    const org = await this.reads.asOrgAdmin(organizationId, actorId);
    if (minPosition !== undefined) await this.access.caughtUp(minPosition);
    const workspaceIds = [...org.workspaces.keys()];
    const rows = exportWorkspacesMembersCsv(this.store, workspaceIds, filters, (workspaceId) => (docs) => withLiveLastSeen(this.lastSeen, workspaceId, docs), csv);
    return { csv: rows, organizationName: org.name };
  }
}
