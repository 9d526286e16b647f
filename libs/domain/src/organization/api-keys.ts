import { domainError, validationFailed, withFacts } from '../shared/errors';
import { SYSTEM_ACTOR } from '../shared/events';
import { DEFAULT_QUOTAS, quotaExceeded } from '../shared/quotas';
import { type Decision, accept, reject } from '../shared/result';
import { checkText, cleanName, nameKey } from '../shared/validation';
import type { ApiKeyIssued, ApiKeyLabelChanged, ApiKeyRevoked } from './events';
import { isOrgAdmin, type OrganizationState } from './state';

/**
 * Another API key for the organization: its id and the SHA-256 of its secret (the secret never reaches the domain), and
 * optionally a label saying what it is for ("Zendesk sync"), shown in the list of keys so that an admin knows which to
 * revoke.
 */
export interface IssueApiKey {
  type: 'IssueApiKey';
  organizationId: string;
  actorId: string;
  now: string;
  apiKey: { keyId: string; secretHash: string };
  label?: string;
  /** the organization's quota of keys not revoked (shared/quotas.ts): the operator's setting, the default without it */
  maxApiKeys?: number;
}

/** A label is a name: trimmed, 1 to 100 characters, no control characters (the API's other names' check). */
export const API_KEY_LABEL_MAX = 100;

/** Withdraws one of the organization's API keys. */
export interface RevokeApiKey {
  type: 'RevokeApiKey';
  organizationId: string;
  actorId: string;
  now: string;
  keyId: string;
}

/** Names a key again (probe 75 F4): the organization's first key has no label, and a key's purpose may change. */
export interface LabelApiKey {
  type: 'LabelApiKey';
  organizationId: string;
  actorId: string;
  now: string;
  keyId: string;
  label: string;
}

/**
 * Labels are unique among the organization's keys not revoked, as team names are in a workspace (ignoring case, width
 * and spacing): a key could be labelled as another to pass for it in the list an admin revokes from (probe 83 F6). A
 * revoked key's label may be given again (a rotation's new key takes the old one's name once it is revoked).
 */
function labelTaken(state: OrganizationState, label: string, keyId: string) {
  const key = nameKey(label);
  for (const [otherId, other] of state.apiKeys)
    if (otherId !== keyId && other.label !== null && other.label !== undefined && nameKey(other.label) === key)
      return withFacts(domainError('API_KEY_LABEL_TAKEN', `Another API key of this organization (${otherId}) is labelled "${other.label}" (labels ignore case, width and spacing); choose another label.`), { keyId: otherId });
  return undefined;
}

const keyNotFound = (keyId: string) => domainError('API_KEY_NOT_FOUND', `The organization has no API key ${keyId} (it never had, or it was revoked).`);
const onlyOrgAdmins = () => domainError('INSUFFICIENT_AUTHORITY', "Only an organization admin (or the system key) can issue, label or revoke the organization's API keys.");
/** an org admin, or the operator with the system key (an organization whose only key leaked or was lost) */
const mayManageKeys = (state: OrganizationState, actorId: string) => actorId === SYSTEM_ACTOR || isOrgAdmin(state, actorId);

/**
 * API keys (docs/rules.md, "API keys"): an org admin issues another key, and revokes one, so that a key is rotated
 * (a new one issued, the clients moved to it, the old one revoked) or a leaked one withdrawn (probe 37 F9: a key could
 * be neither). The last key is not revoked: the organization would be left with none. The system key may do both: the
 * operator's way back for an organization whose only key leaked (issue one, then revoke the leaked one) or was lost.
 */
export function decideIssueApiKey(command: IssueApiKey, state: OrganizationState): Decision<ApiKeyIssued> {
  if (!mayManageKeys(state, command.actorId)) return reject(onlyOrgAdmins());
  if (command.label !== undefined) {
    const problem = checkText('label', command.label, API_KEY_LABEL_MAX);
    if (problem) return reject(validationFailed([problem]));
  }
  // the same key id comes from the same idempotency key: issued already
  if (state.apiKeys.has(command.apiKey.keyId)) return accept([]);
  // the request's own fault first, as a team's name is checked before the teams' quota (probe 89 F6: at the quota, a
  // label taken was refused for the quota, and a client freed a key to learn the label was taken)
  const label = command.label === undefined ? {} : { label: cleanName(command.label) };
  const taken = label.label === undefined ? undefined : labelTaken(state, label.label, command.apiKey.keyId);
  if (taken) return reject(taken);
  const maxApiKeys = command.maxApiKeys ?? DEFAULT_QUOTAS.apiKeysPerOrganization;
  // not the operator's: its key for an organization at its quota is the way back (probe 80 F15: support had to revoke
  // one of the customer's keys to issue its own)
  if (command.actorId !== SYSTEM_ACTOR && state.apiKeys.size >= maxApiKeys)
    return reject(quotaExceeded('apiKeysPerOrganization', 'This organization', state.apiKeys.size, maxApiKeys, ['API key not revoked', 'API keys not revoked'], 'revoke those it no longer uses'));
  return accept([{ type: 'ApiKeyIssued', version: 1, data: { organizationId: command.organizationId, ...command.apiKey, issuedAt: command.now, ...label, issuedBy: command.actorId } }]);
}

export function decideRevokeApiKey(command: RevokeApiKey, state: OrganizationState): Decision<ApiKeyRevoked> {
  if (!mayManageKeys(state, command.actorId)) return reject(onlyOrgAdmins());
  if (!state.apiKeys.has(command.keyId)) return reject(keyNotFound(command.keyId));
  if (state.apiKeys.size === 1)
    return reject(domainError('LAST_API_KEY', "This is the organization's last API key: issue another first, then revoke this one."));
  return accept([{ type: 'ApiKeyRevoked', version: 1, data: { organizationId: command.organizationId, keyId: command.keyId, revokedAt: command.now, revokedBy: command.actorId } }]);
}

/** The label a key's list shows, set again: the same label is no change (a retry, or a form saved whole). */
export function decideLabelApiKey(command: LabelApiKey, state: OrganizationState): Decision<ApiKeyLabelChanged> {
  if (!mayManageKeys(state, command.actorId)) return reject(onlyOrgAdmins());
  const problem = checkText('label', command.label, API_KEY_LABEL_MAX);
  if (problem) return reject(validationFailed([problem]));
  const key = state.apiKeys.get(command.keyId);
  if (!key) return reject(keyNotFound(command.keyId));
  const label = cleanName(command.label);
  if (key.label === label) return accept([]);
  const taken = labelTaken(state, label, command.keyId);
  if (taken) return reject(taken);
  return accept([{ type: 'ApiKeyLabelChanged', version: 1, data: { organizationId: command.organizationId, keyId: command.keyId, label, previousLabel: key.label, changedAt: command.now } }]);
}
