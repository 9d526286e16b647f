/** Nest injection tokens of the ports. */
export const EVENT_STORE = Symbol('EventStore');
export const READ_STORE = Symbol('ReadStore');
export const APP_CONFIG = Symbol('Config');
export const LOCAL_SECRETS = Symbol('LocalSecrets');

/** the notary's name for the log and its signing key, checked against the data dir's records (audit/audit-identity.ts) */
export const AUDIT_IDENTITY = Symbol('AuditIdentity');
