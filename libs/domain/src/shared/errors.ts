/** Stable, machine-readable error codes. The API maps them to HTTP statuses; consoles switch on them. */
export type ErrorCode =
  | 'VALIDATION_FAILED'
  | 'CANNOT_MODIFY_SELF'
  | 'INSUFFICIENT_AUTHORITY'
  | 'LAST_OWNER'
  | 'LAST_API_KEY'
  | 'API_KEY_LABEL_TAKEN'
  | 'API_KEY_NOT_FOUND'
  | 'ALREADY_MEMBER'
  | 'ALREADY_INVITED'
  | 'INVITATION_EXPIRED'
  | 'INVITATION_NOT_PENDING'
  | 'INVITATION_NOT_FOUND'
  | 'INVITATION_LINK_SUPERSEDED'
  | 'INVALID_RESTRICTION'
  | 'INVALID_ROLE'
  | 'INVALID_GRANT'
  | 'INVALID_REASSIGNMENT'
  | 'PLAN_REQUIRED'
  | 'PLAN_IN_USE'
  | 'NOT_A_MEMBER'
  | 'USER_NOT_FOUND'
  | 'ADDRESS_NOT_FOUND'
  | 'ADDRESS_IS_A_USERS'
  | 'EMAIL_TAKEN'
  | 'EMAIL_PENDING_INVITATION'
  | 'EMAIL_CHANGE_NOT_PENDING'
  | 'EMAIL_CHANGE_EXPIRED'
  | 'INVITATION_ADDRESSEE_ERASED'
  /** a resend of an invitation bound to a user who changed their address since (refusals.ts) */
  | 'INVITEE_ADDRESS_CHANGED'
  | 'ORGANIZATION_NOT_FOUND'
  | 'ORGANIZATION_EXISTS'
  /** the organization was closed, or is being closed, by the operator: nothing more is decided in it (docs/adr/0035) */
  | 'ORGANIZATION_CLOSED'
  | 'WORKSPACE_NOT_FOUND'
  | 'WORKSPACE_EXISTS'
  | 'TEAM_NOT_FOUND'
  | 'TEAM_EXISTS'
  | 'TEAM_NAME_TAKEN'
  | 'MEMBER_NOT_ACTIVE'
  /** a heartbeat of a user someone else set offline, without `resume` (docs/adr/0032) */
  | 'FORCED_OFFLINE'
  | 'ALREADY_NETWORKED'
  | 'NOT_NETWORKED'
  /** a command would take an organization or workspace past one of its quotas (shared/quotas.ts) */
  | 'QUOTA_EXCEEDED'
  | 'AUDIT_ENTRY_NOT_FOUND'
  | 'AUDIT_TREE_SIZE'
  | 'AUDIT_BEHIND'
  /** the notary's tree holds an entry the event log no longer has: the log was altered after it was notarized (probe 60 F1) */
  | 'AUDIT_LOG_ALTERED';

export interface FieldError {
  field: string;
  message: string;
}

/**
 * What a refusal is about, for a client to act on without parsing its sentence (probe 80 F6, F9, F15: the workspaces a
 * last owner must hand over, the invitation to resend, the quota reached); the API puts them beside the problem's code.
 */
export interface ErrorFacts {
  workspaceId?: string;
  workspaceIds?: string[];
  invitationId?: string;
  /** API_KEY_LABEL_TAKEN: the key that carries the label */
  keyId?: string;
  quota?: { name: QuotaName; used: number; limit: number };
}

/** the quotas a refusal may name (shared/quotas.ts) */
export type QuotaName = 'workspacesPerOrganization' | 'teamsPerWorkspace' | 'apiKeysPerOrganization';

/** An error is a value: a stable code and a sentence a console user can act on. */
export interface DomainError {
  code: ErrorCode;
  message: string;
  fields?: FieldError[];
  facts?: ErrorFacts;
}

export const domainError = (code: ErrorCode, message: string, fields?: FieldError[]): DomainError =>
  fields ? { code, message, fields } : { code, message };

/** the error with what it is about (ErrorFacts) */
export const withFacts = (error: DomainError, facts: ErrorFacts): DomainError => ({ ...error, facts });

export const validationFailed = (fields: FieldError[]): DomainError =>
  domainError(
    'VALIDATION_FAILED',
    `The request is not valid: ${fields.map((f) => `${f.field} ${f.message}`).join('; ')}.`,
    fields,
  );
