import { type OrganizationState, type WorkspaceState, hasAddress } from '@rollcall/domain';

/**
 * Whether a link is still the one to mail: the invitation pending at this link version (not resent, accepted or
 * cancelled since), its address not erased, not expired at `nowMs`. A replay mails again only such a link, and the
 * mail dispatcher sends only such a link (docs/adr/0018).
 */
export const invitationLinkCurrent = (ws: WorkspaceState, invitationId: string, linkVersion: number, nowMs: number): boolean => {
  const inv = ws.invitations.get(invitationId);
  return inv?.status === 'pending' && inv.linkVersion === linkVersion && hasAddress(inv) && Date.parse(inv.expiresAt) > nowMs;
};

/** The user's email change pending at this version, not expired at `nowMs`: its confirmation link is still the one to mail. */
export const emailChangeLinkCurrent = (org: OrganizationState, userId: string, version: number, nowMs: number) => {
  const pending = org.users.get(userId)?.pendingEmail;
  return pending && pending.version === version && Date.parse(pending.expiresAt) > nowMs ? pending : undefined;
};
