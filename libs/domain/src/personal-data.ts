/**
 * Which fields of which events are personal data, and whose (docs/rules.md#crypto-shredding: personal data in events is encrypted
 * with a per-subject key; deleting the key erases it everywhere while the events stay valid).
 *
 * A subject is an org user (by id) or, before anyone has accepted an invitation, an email address. Deleting a
 * user forgets the keys of the user and of every email address the user had, so invitations to those
 * addresses are erased too.
 */
export type DataSubject = { kind: 'user'; userId: string } | { kind: 'email'; email: string };

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
        ...(typeof data.email === 'string' && !data.email.startsWith('enc:') ? [{ subject: { kind: 'email' as const, email: data.email }, paths: [], copied: true as const }] : []),
      ];
    case 'UserInvited':
      return typeof data.email === 'string' ? [{ subject: { kind: 'email', email: data.email }, paths: ['email'] }] : [];
    case 'InvitationCancelled':
    case 'InvitationResent':
      // the invitation's address, copied from its UserInvited
      return typeof data.email === 'string' ? [{ subject: { kind: 'email', email: data.email }, paths: ['email'], copied: true }] : [];
    default:
      return [];
  }
}

/** Event types that carry personal data (the encrypting store only looks inside these). */
export const PERSONAL_EVENT_TYPES: readonly string[] = [
  'UserJoinedOrganization',
  'UserProfileUpdated',
  'EmailChangeRequested',
  'EmailChangeConfirmed',
  'InvitationAccepted',
  'UserInvited',
  'InvitationCancelled',
  'InvitationResent',
];
