/**
 * Which fields of which events are personal data, and whose (docs/rules.md#crypto-shredding: personal data in events is encrypted
 * with a per-subject key; deleting the key erases it everywhere while the events stay valid).
 *
 * A subject is an org user (by id) or, before anyone has accepted an invitation, an email address within an
 * organization. Deleting a user forgets the keys of the user and of the addresses erased with them
 * (addressesErasedWith), so invitations to those addresses are erased too.
 *
 * An address's subject is its organization's (`organizationId` set): a deletion in one organization does not reach
 * another's invitations to the same address (docs/adr/0003, "Session 24"). Invitations sent before session 24 sealed
 * their address under one subject shared by every organization (`organizationId` absent); their later events
 * (resend, cancel, accept) keep to it, and a deletion forgets that shared subject too.
 */
export type DataSubject = { kind: 'user'; userId: string } | { kind: 'email'; email: string; organizationId?: string };

/**
 * Which key seals an invitation's address, as its events and the workspace state record it: `'organization'`, the
 * address's key within the invitation's organization; absent, the key shared by every organization (invitations sent
 * before session 24).
 */
export type AddressKey = 'organization' | undefined;

/** The subject an invitation's address is sealed under (`addressKey` as its UserInvited recorded it). */
export function addressSubject(email: string, organizationId: string | undefined, addressKey: AddressKey): DataSubject {
  if (addressKey !== 'organization') return { kind: 'email', email };
  // never the shared subject by mistake: sealed there, a deletion in any organization would erase it
  if (typeof organizationId !== 'string' || organizationId === '') throw new TypeError('an address sealed within its organization needs the organization');
  return { kind: 'email', email, organizationId };
}

/** Both subjects an address may be sealed under in an organization: its own, and the shared one of older invitations. */
export const addressSubjects = (email: string, organizationId: string): DataSubject[] => [
  { kind: 'email', email, organizationId },
  { kind: 'email', email },
];

/**
 * The subjects a user's deletion forgets (rule 12): the user's, each erased address's within the organization, and the
 * shared one of `shared` (addresses the organization's invitations sent before session 24 went to: addressesSealedShared).
 */
export const deletionSubjects = (userId: string, organizationId: string, erased: Iterable<string>, shared: Iterable<string>): DataSubject[] => [
  { kind: 'user', userId },
  ...[...erased].map((email): DataSubject => ({ kind: 'email', email, organizationId })),
  ...[...shared].map((email): DataSubject => ({ kind: 'email', email })),
];

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const invitationAddress = (data: any): DataSubject => addressSubject(data.email, data.organizationId, data.addressKey);

export interface PersonalFields {
  subject: DataSubject;
  /** dot paths inside the event's data */
  paths: string[];
  /**
   * The values were copied from data sealed earlier under this subject, not brought by the command: the subject's key
   * must exist (one that does not was erased: the event must not bring the data back under a new key). With no
   * paths, only that check: an acceptance copies the invitation's address under the new user's own key
   * (docs/adr/0003, "Erasure and sealing race").
   */
  copied?: true;
}

const PROFILE_PATHS = ['changes.email', 'changes.displayName', 'changes.alias', 'changes.avatarUrl'];

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function personalFieldsOf(type: string, data: any): PersonalFields[] {
  switch (type) {
    case 'UserJoinedOrganization':
      return [{ subject: { kind: 'user', userId: data.userId }, paths: ['email', 'displayName'] }];
    case 'UserProfileUpdated':
      return [{ subject: { kind: 'user', userId: data.userId }, paths: PROFILE_PATHS }];
    case 'EmailChangeRequested':
    case 'EmailChangeConfirmed':
      return [{ subject: { kind: 'user', userId: data.userId }, paths: ['email'] }];
    case 'InvitationAccepted':
      return [
        { subject: { kind: 'user', userId: data.userId }, paths: ['email'] },
        // the invitation's address, copied from its UserInvited (a sealed value read back has the `enc:` form: no check)
        ...(typeof data.email === 'string' && !data.email.startsWith('enc:') ? [{ subject: invitationAddress(data), paths: [], copied: true as const }] : []),
      ];
    case 'UserInvited':
      return typeof data.email === 'string' ? [{ subject: invitationAddress(data), paths: ['email'] }] : [];
    case 'InvitationCancelled':
    case 'InvitationResent':
      // the invitation's address, copied from its UserInvited (under the same subject: `addressKey`, `organizationId`)
      return typeof data.email === 'string' ? [{ subject: invitationAddress(data), paths: ['email'], copied: true }] : [];
    default:
      return [];
  }
}
