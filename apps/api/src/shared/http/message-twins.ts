/**
 * Every message pattern and its HTTP twin: the same command or read, the same body, the same answer and the same
 * problems. The payload of a message is the twin's JSON body plus the envelope (`apiKey`, `actorId`,
 * `idempotencyKey`, `correlationId`: shared/http/messages.ts) and the twin's path parameters as fields (PATH_PARAM_FIELDS);
 * reads that wait for a position take `minPosition` where HTTP takes `X-Min-Position`.
 *
 * The AsyncAPI document (/docs/asyncapi.json, shared/http/asyncapi-document.ts) is built from this map and the OpenAPI
 * document; test/message-fuzz.e2e-spec.ts fuzzes each pattern with its twin's body and fails when the app registers a
 * pattern this map does not name.
 */
export const MESSAGE_TWINS: Readonly<Record<string, string>> = {
  'organizations.create': 'POST /v1/organizations',
  'workspaces.create': 'POST /v1/organizations/{org}/workspaces',
  'workspaces.get': 'GET /v1/workspaces/{ws}',
  'workspaces.changePlan': 'PUT /v1/workspaces/{ws}/plan',
  'workspaces.list': 'GET /v1/organizations/{org}/workspaces',
  'users.list': 'GET /v1/organizations/{org}/users',
  'users.get': 'GET /v1/organizations/{org}/users/{userId}',
  'organizations.changes': 'GET /v1/organizations/{org}/changes',
  'organizations.events': 'GET /v1/organizations/{org}/events',
  'members.invite': 'POST /v1/workspaces/{ws}/invitations',
  'invitations.resend': 'POST /v1/workspaces/{ws}/invitations/{id}/resend',
  'invitations.cancel': 'DELETE /v1/workspaces/{ws}/invitations/{id}',
  'invitations.accept': 'POST /v1/invitations/accept',
  'invitations.preview': 'POST /v1/invitations/preview',
  'members.changeAccess': 'PATCH /v1/workspaces/{ws}/members/{userId}/access',
  'members.revoke': 'DELETE /v1/workspaces/{ws}/members/{userId}',
  'users.updateProfile': 'PATCH /v1/organizations/{org}/users/{userId}',
  'users.delete': 'DELETE /v1/organizations/{org}/users/{userId}',
  'addresses.erase': 'POST /v1/organizations/{org}/address-erasures',
  'users.grantOrgAdmin': 'PUT /v1/organizations/{org}/users/{userId}/org-admin',
  'users.revokeOrgAdmin': 'DELETE /v1/organizations/{org}/users/{userId}/org-admin',
  'users.confirmEmail': 'POST /v1/users/email-confirmations',
  'organizations.close': 'POST /v1/organizations/{org}/close',
  'apiKeys.issue': 'POST /v1/organizations/{org}/api-keys',
  'apiKeys.revoke': 'DELETE /v1/organizations/{org}/api-keys/{keyId}',
  'apiKeys.label': 'PATCH /v1/organizations/{org}/api-keys/{keyId}',
  'apiKeys.list': 'GET /v1/organizations/{org}/api-keys',
  'teams.create': 'POST /v1/workspaces/{ws}/teams',
  'teams.rename': 'PATCH /v1/workspaces/{ws}/teams/{teamId}',
  'teams.delete': 'DELETE /v1/workspaces/{ws}/teams/{teamId}',
  'teams.addMember': 'PUT /v1/workspaces/{ws}/teams/{teamId}/members/{userId}',
  'teams.removeMember': 'DELETE /v1/workspaces/{ws}/teams/{teamId}/members/{userId}',
  'teams.setSharing': 'PUT /v1/workspaces/{ws}/teams/{teamId}/sharing',
  'teams.setPartnerTeamVisibility': 'PUT /v1/workspaces/{ws}/partner-teams/{teamId}/visibility',
  'teams.list': 'GET /v1/workspaces/{ws}/teams',
  'teams.invitees': 'GET /v1/workspaces/{ws}/teams/{teamId}/invitees',
  'network.link': 'POST /v1/workspaces/{ws}/network',
  'network.unlink': 'DELETE /v1/workspaces/{ws}/network/{partnerWorkspaceId}',
  'presence.heartbeat': 'POST /v1/workspaces/{ws}/presence/heartbeat',
  'presence.setOffline': 'POST /v1/workspaces/{ws}/members/{userId}/presence/offline',
  'events.list': 'GET /v1/events',
};

/** The message's field for each path parameter of an HTTP twin. */
export const PATH_PARAM_FIELDS: Readonly<Record<string, string>> = {
  ws: 'workspaceId',
  org: 'organizationId',
  id: 'invitationId',
  userId: 'userId',
  teamId: 'teamId',
  partnerWorkspaceId: 'partnerWorkspaceId',
  keyId: 'keyId',
};

/**
 * A twin's query parameter whose name is an envelope field, and the message's field for it: a message's `actorId` is
 * its acting user (X-Actor-Id over HTTP), so the changes' `actorId` filter is `changesBy` (probe 82 F1; probe 83 F8:
 * the AsyncAPI document listed the filter as `actorId`, and a client following it got every change, unfiltered).
 */
export const QUERY_PARAM_FIELDS: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  'organizations.changes': { actorId: 'changesBy' },
};
