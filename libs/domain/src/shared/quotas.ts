import { type DomainError, type QuotaName, domainError, withFacts } from './errors';

/**
 * How many of the things a tenant creates at will one organization or workspace may hold (docs/rules.md "Quotas",
 * docs/adr/0030). Each is a bound on state that every later command or read pays for: an organization's workspaces
 * are decided over at each user's deletion and listed in one page; a workspace's teams are its team list and part of
 * its decision state; an organization's API keys are its key list (probe 59 F2/F7: one key built 20,343 workspaces
 * and 27,053 teams in 30 s, and their lists then held the event loop ~1 s a request). The operator may raise them
 * (ROLLCALL_MAX_*); a command past one is refused with QUOTA_EXCEEDED (409) and changes nothing.
 */
export interface Quotas {
  workspacesPerOrganization: number;
  teamsPerWorkspace: number;
  /** keys not revoked: a revoked key frees its place */
  apiKeysPerOrganization: number;
}

export const DEFAULT_QUOTAS: Quotas = {
  // the organization's workspace list answers this many in its default page (organizations/workspace reads)
  workspacesPerOrganization: 1_000,
  // two pages of the team list at its largest page (500)
  teamsPerWorkspace: 1_000,
  apiKeysPerOrganization: 100,
};

/**
 * The refusal of a command past a quota: `holder` ("This organization") holds `used` `things` ("workspaces") where this
 * service allows `limit` (fewer than it holds when the operator lowered the quota: probe 63 F4), and what frees a place,
 * if anything does.
 */
export const quotaExceeded = (name: QuotaName, holder: string, used: number, limit: number, [thing, things]: [one: string, many: string], freeing?: string): DomainError =>
  withFacts(
    domainError(
      'QUOTA_EXCEEDED',
      // "1 team", not "1 teams" (probe 121 F8: a quota lowered to 1)
      `${holder} has ${used.toLocaleString('en-US')} ${used === 1 ? thing : things}, and this service allows at most ${limit.toLocaleString('en-US')}; ${freeing ? `${freeing}, or ` : ''}ask the service's operator to raise the limit.`,
    ),
    { quota: { name, used, limit } },
  );
