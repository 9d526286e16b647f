import { unindexAddress } from '../shared/address-index';
import { type Invitation, type WorkspaceState, hasAddress, pendingKey } from '../workspace/state';

/**
 * Rule 12 across organizations, for invitations sent before session 24: their address was a data subject shared by
 * every organization (docs/adr/0003, "Session 24"), so deleting a user in one organization erases those invitations
 * to their addresses in others, with no event there. For tests of the deciders on such a state: this brings a state
 * folded before that erasure to what a replay reads now (the API drops such a state and loads it again from the log
 * instead, StreamStates.dropHoldingErasedAddresses: docs/adr/0003, "Erasure and sealing race"): the address of each
 * invitation not accepted whose address `isErased` becomes null, and it no longer counts as a pending address. (An accepted invitation's address is also in the accepting user's profile, which this
 * organization keeps until that user is deleted here.) Returns how many invitations lost their address.
 */
export function forgetErasedInvitationAddresses(state: WorkspaceState, isErased: (email: string, invitation: Invitation) => boolean): number {
  let forgotten = 0;
  for (const inv of state.invitations.values()) {
    if (inv.status === 'accepted' || !hasAddress(inv) || !isErased(inv.email, inv)) continue;
    unindexAddress(state.pendingByEmail, state.pendingByEmailShared, pendingKey(inv.email), inv.invitationId);
    // null, as the decrypting store reads a field whose subject's key is gone
    (inv as { email: string | null }).email = null;
    forgotten++;
  }
  return forgotten;
}
