import { type DomainError, domainError, validationFailed } from '../shared/errors';
import { SYSTEM_ACTOR } from '../shared/events';
import { type Decision, accept, reject } from '../shared/result';
import type { ApiKeyRevoked, OrganizationClosed, OrganizationClosing } from './events';
import { activeUser, type OrganizationState } from './state';

/**
 * The operator closes an organization whose contract ended (docs/adr/0035; probe 76 F1: nothing could, and the last org
 * admin's name and address stayed for good). `confirmName` is the organization's name as it stands: a closing is not
 * undone, and a wrong id pasted by mistake then asks for a name it does not have.
 */
export interface StartClosingOrganization {
  type: 'StartClosingOrganization';
  organizationId: string;
  actorId: string;
  now: string;
  confirmName: string;
}

/** Every user deleted and every invited address erased (the handler's walk found none left): closed for good. */
export interface FinishClosingOrganization {
  type: 'FinishClosingOrganization';
  organizationId: string;
  actorId: string;
  now: string;
}

/**
 * The refusal of a closing asked under another name than the organization's as it stands: asked at every call, begun
 * or not (probe 77 F4: a wrong name went on with a closing begun, its first step found done in the log)
 */
export const confirmationRefused = (state: OrganizationState, confirmName: string): DomainError | undefined =>
  confirmName.trim().normalize('NFC') === state.name
    ? undefined
    : validationFailed([{ field: 'confirmName', message: "must be the organization's name as it stands (closing cannot be undone)" }]);

const operatorOnly = () => domainError('INSUFFICIENT_AUTHORITY', 'Only the operator (the system key) can close an organization.');

/**
 * The closing begins: `OrganizationClosing`, and every API key revoked in the same append (the organization's clients
 * are refused from its commit on; the last key too, which LAST_API_KEY keeps otherwise). Begun already: nothing more.
 */
export function decideStartClosing(command: StartClosingOrganization, state: OrganizationState): Decision<OrganizationClosing | ApiKeyRevoked> {
  if (!state.exists) return reject(domainError('ORGANIZATION_NOT_FOUND', `Organization ${command.organizationId} does not exist.`));
  if (command.actorId !== SYSTEM_ACTOR) return reject(operatorOnly());
  const wrongName = confirmationRefused(state, command.confirmName);
  if (wrongName) return reject(wrongName);
  if (state.closingSince !== undefined) return accept([]);
  const { organizationId, now } = command;
  return accept([
    { type: 'OrganizationClosing', version: 1, data: { organizationId, startedAt: now } },
    ...[...state.apiKeys.keys()].map((keyId): ApiKeyRevoked => ({ type: 'ApiKeyRevoked', version: 1, data: { organizationId, keyId, revokedAt: now, revokedBy: SYSTEM_ACTOR } })),
  ]);
}

/** Closed: only once the closing began and no user is left (the handler erased the invited addresses before). */
export function decideFinishClosing(command: FinishClosingOrganization, state: OrganizationState): Decision<OrganizationClosed> {
  if (!state.exists) return reject(domainError('ORGANIZATION_NOT_FOUND', `Organization ${command.organizationId} does not exist.`));
  if (command.actorId !== SYSTEM_ACTOR) return reject(operatorOnly());
  if (state.closedAt !== undefined) return accept([]);
  if (state.closingSince === undefined) return reject(validationFailed([{ field: 'organizationId', message: 'names an organization whose closing has not begun' }]));
  const left = [...state.users.keys()].filter((userId) => activeUser(state, userId));
  if (left.length > 0) return reject(validationFailed([{ field: 'organizationId', message: `still has ${left.length} users not deleted` }]));
  return accept([{ type: 'OrganizationClosed', version: 1, data: { organizationId: command.organizationId, closedAt: command.now } }]);
}
