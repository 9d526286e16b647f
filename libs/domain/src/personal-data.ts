/**
 * Which fields of which events are personal data, and whose (docs/rules.md#crypto-shredding: personal data in events is encrypted
 * with a per-subject key; deleting the key erases it everywhere while the events stay valid).
 *
 * A subject is an org user (by id) or, before anyone has accepted an invitation, an email address within an
 * organization. Deleting a user forgets the keys of the user and of the addresses erased with them
 * (addressesErasedWith), so invitations to those addresses are erased too.
 *
 * An address's subject is its invitation's (`invitationId` and `organizationId` set, since session 41): no two
 * invitations share a key's name, so an address erased and invited again is sealed under a name the log never held
 * before, and nothing there links the erased person to the address's next holder (docs/adr/0024, "Session 41").
 * Invitations sent from session 24 to session 40 sealed it under the address's subject within their organization
 * (`organizationId` set, no `invitationId`): a deletion in one organization does not reach another's (docs/adr/0003,
 * "Session 24"). Invitations sent before session 24 sealed it under one subject shared by every organization (neither
 * set). An invitation's later events (resend, cancel, accept) keep to its subject, and a deletion forgets all three.
 */
export type DataSubject = { kind: 'user'; userId: string } | { kind: 'email'; email: string; organizationId?: string; invitationId?: string };

/**
 * Which key seals an invitation's address, as its events and the workspace state record it: `'invitation'`, the
 * invitation's own key (since session 41); `'organization'`, the address's key within the invitation's organization
 * (sessions 24–40); absent, the key shared by every organization (invitations sent before session 24).
 */
export type AddressKey = 'invitation' | 'organization' | undefined;

/** `addressKey` as an event or a stored state holds it (anything else: absent, the shared key) */
export const addressKeyOf = (value: unknown): AddressKey => (value === 'invitation' || value === 'organization' ? value : undefined);

/** The subject an invitation's address is sealed under (`addressKey` as its UserInvited recorded it). */
export function addressSubject(email: string, organizationId: string | undefined, addressKey: AddressKey, invitationId?: string): DataSubject {
  if (addressKey === undefined) return { kind: 'email', email };
  // never the shared subject by mistake: sealed there, a deletion in any organization would erase it
  if (typeof organizationId !== 'string' || organizationId === '') throw new TypeError('an address sealed within its organization needs the organization');
  if (addressKey === 'organization') return { kind: 'email', email, organizationId };
  if (typeof invitationId !== 'string' || invitationId === '') throw new TypeError("an address sealed under its invitation's key needs the invitation");
  return { kind: 'email', email, organizationId, invitationId };
}

/** Both subjects an address may be sealed under in an organization: its own, and the shared one of older invitations. */
export const addressSubjects = (email: string, organizationId: string): DataSubject[] => [
  { kind: 'email', email, organizationId },
  { kind: 'email', email },
];

/**
 * The subjects a user's deletion forgets (rule 12) besides its invitations' own (erasedInvitationSubjects): the user's,
 * the subject within the organization of each address in `erased` (those its invitations of sessions 24–40 went to),
 * and the shared one of `shared` (those its invitations sent before session 24 went to: addressesSealedUnder).
 */
export const deletionSubjects = (userId: string, organizationId: string, erased: Iterable<string>, shared: Iterable<string>): DataSubject[] => [
  { kind: 'user', userId },
  ...addressSubjectsErased(organizationId, erased, shared),
];

/**
 * The address subjects an erasure forgets (a deletion's besides the user's, or an address's erasure): each address of
 * `withinOrganization`'s within the organization, and the shared one of each of `shared` (addressesSealedUnder).
 */
export const addressSubjectsErased = (organizationId: string, withinOrganization: Iterable<string>, shared: Iterable<string>): DataSubject[] => [
  ...[...withinOrganization].map((email): DataSubject => ({ kind: 'email', email, organizationId })),
  ...[...shared].map((email): DataSubject => ({ kind: 'email', email })),
];

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const invitationAddress = (data: any): DataSubject => addressSubject(data.email, data.organizationId, addressKeyOf(data.addressKey), data.invitationId);

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
      // the invitation's address, copied from its UserInvited (under the same subject: `addressKey`, `organizationId`, `invitationId`)
      return typeof data.email === 'string' ? [{ subject: invitationAddress(data), paths: ['email'], copied: true }] : [];
    default:
      return [];
  }
}
