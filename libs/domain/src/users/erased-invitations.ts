import type { DataSubject } from '../personal-data';
import { hasAddress, invitationSubject, type WorkspaceState } from '../workspace/state';

/**
 * Rule 12, the invitations' own keys (docs/rules.md#crypto-shredding; docs/adr/0024, "Session 41"): of the invitations
 * an erasure's events name (a deletion's UserDeletedFromWorkspace, an address erasure's InvitationAddressErased), those
 * whose address is sealed under the invitation's own key and still held: their subjects, which the erasure forgets with
 * the address's and the user's. The events name exactly the invitations the erasure reaches, so the keys forgotten and
 * the read models' addresses blanked (by invitation id) are the same set. `workspaces`: the states the erasure was
 * decided on (before its events).
 */
export function erasedInvitationSubjects(
  events: readonly { type: string; data: unknown }[],
  workspaces: readonly WorkspaceState[],
): DataSubject[] {
  const byId = new Map(workspaces.map((ws) => [ws.info.workspaceId, ws]));
  const subjects: DataSubject[] = [];
  for (const e of events) {
    if (e.type !== 'UserDeletedFromWorkspace' && e.type !== 'InvitationAddressErased') continue;
    const { workspaceId, invitationIds } = e.data as { workspaceId: string; invitationIds: string[] };
    const ws = byId.get(workspaceId);
    for (const invitationId of invitationIds) {
      const inv = ws?.invitations.get(invitationId);
      if (ws && inv?.addressKey === 'invitation' && hasAddress(inv)) subjects.push(invitationSubject(ws, inv));
    }
  }
  return subjects;
}
