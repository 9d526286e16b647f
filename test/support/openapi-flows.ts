/**
 * A console backend written against the generated types only (test/generated/rollcall-api.d.ts, from the served
 * OpenAPI document) with openapi-fetch: if the document stops describing a request or an answer used here, this
 * file stops compiling. test/openapi-client.e2e-spec.ts runs these flows against the real app, checks every answer
 * against the document, and compiles this file against the types generated from the live document.
 * Imports nothing of the app, so that compiling it is quick and independent of the app's code.
 */
import createClient, { type Client } from 'openapi-fetch';
import type { components, paths } from '../generated/rollcall-api';

export type RollcallClient = Client<paths>;
export type Schemas = components['schemas'];

/** A client whose every answer is handed to `check` (status, content type and body against the document). */
export function rollcallClient(baseUrl: string, check: (method: string, schemaPath: string, response: Response) => Promise<void>): RollcallClient {
  const client = createClient<paths>({ baseUrl });
  client.use({
    onResponse: async ({ request, response, schemaPath }) => {
      await check(request.method, schemaPath, response.clone());
      return undefined;
    },
  });
  return client;
}

const bearer = (key: string) => ({ Authorization: `Bearer ${key}` });

/** The answer of a call that must succeed; otherwise an error that shows the problem. */
export function ok<T>(result: { data?: T; error?: unknown; response: Response }): T {
  if (result.data === undefined) throw new Error(`HTTP ${result.response.status}: ${JSON.stringify(result.error)}`);
  return result.data;
}

/** The JSON answer of an operation that answers text too (`format=csv`): the client types it as either. */
function json<T extends object>(data: T | string): T {
  if (typeof data === 'string') throw new Error(`expected JSON, got text: ${data.slice(0, 80)}`);
  return data;
}

const tokenOf = (inviteUrl: string): string => new URL(inviteUrl).searchParams.get('token') ?? '';

/**
 * Create an organization and a workspace, invite Jane and Joe, accept both (by token, no key), list the members,
 * edit Jane's access, revoke Joe, read the history: the main flows a console drives.
 */
export async function consoleFlow(client: RollcallClient, systemKey: string, adminEmail: string) {
  const org = ok(await client.POST('/v1/organizations', { headers: bearer(systemKey), body: { name: 'Acme', admin: { email: adminEmail, displayName: 'Ada Admin' } } }));
  const key = bearer(org.apiKey);
  const actor = { 'X-Actor-Id': org.adminUserId };
  const ws = ok(
    await client.POST('/v1/organizations/{org}/workspaces', {
      headers: key,
      params: { path: { org: org.organizationId }, header: { ...actor, 'Idempotency-Key': 'ws-1' } },
      body: { name: 'Support', plan: 'advanced' },
    }),
  );
  const inWs = { path: { ws: ws.workspaceId }, header: actor };
  const invite = (email: string, roles: string[], restrictions: Record<string, true | string>) =>
    client.POST('/v1/workspaces/{ws}/invitations', { headers: key, params: inWs, body: { email, roles, restrictions } });
  const janeInvited = ok(await invite('jane@acme.test', ['agent'], { mask_contact_info: true }));
  const joeInvited = ok(await invite('joe@acme.test', ['agent'], {}));
  const link = ok(await client.GET('/v1/workspaces/{ws}/invitations/{id}/link', { headers: key, params: { path: { ws: ws.workspaceId, id: janeInvited.invitationId }, header: actor } }));
  const jane = ok(await client.POST('/v1/invitations/accept', { body: { token: tokenOf(link.inviteUrl), displayName: 'Jane Doe' } }));
  const joe = ok(await client.POST('/v1/invitations/accept', { body: { token: tokenOf(joeInvited.inviteUrl) } }));
  // an internationalized address (RFC 6531): answers declare `idn-email`, not `email` (probe 50 F1)
  const pending = ok(await invite('jörg.pending@acme.test', ['agent'], {}));

  const read = (position: string) => ({ path: { ws: ws.workspaceId }, header: { ...actor, 'X-Min-Position': position } });
  const list = ok(await client.GET('/v1/workspaces/{ws}/members', { headers: key, params: { ...read(pending.position), query: { limit: 50 } } }));
  const members = list.items.filter((item): item is Schemas['Member'] => item.status !== 'pending');
  const invitations = list.items.filter((item): item is Schemas['Invitation'] => item.status === 'pending');

  const changed = ok(
    await client.PATCH('/v1/workspaces/{ws}/members/{userId}/access', {
      headers: key,
      params: { path: { ws: ws.workspaceId, userId: jane.userId }, header: actor },
      body: { roles: ['manager'], restrictions: { data_export: true } },
    }),
  );
  const revoked = ok(
    await client.DELETE('/v1/workspaces/{ws}/members/{userId}', {
      headers: key,
      params: { path: { ws: ws.workspaceId, userId: joe.userId }, header: actor },
      body: { reassignContactsTo: jane.userId },
    }),
  );
  const janeNow = ok(await client.GET('/v1/workspaces/{ws}/members/{userId}', { headers: key, params: { path: { ws: ws.workspaceId, userId: jane.userId }, header: read(revoked.position).header } }));
  const history = json(ok(await client.GET('/v1/workspaces/{ws}/history', { headers: key, params: { ...read(revoked.position), query: { userId: jane.userId } } })));
  const fullHistory = json(
    ok(await client.GET('/v1/workspaces/{ws}/history', { headers: key, params: { ...read(revoked.position), query: { direction: 'desc', limit: 500 } } })),
  );
  const accessAsOf = ok(
    await client.GET('/v1/workspaces/{ws}/members/{userId}/access', {
      headers: key,
      params: { path: { ws: ws.workspaceId, userId: jane.userId }, header: actor, query: { asOf: new Date().toISOString() } },
    }),
  );
  return { org, ws, janeInvited, link, jane, joe, pending, list, members, invitations, changed, revoked, janeNow, history, fullHistory, accessAsOf };
}

/** Resend and cancel an invitation, change a profile, export CSV, delete a user. */
export async function housekeepingFlow(client: RollcallClient, flow: Awaited<ReturnType<typeof consoleFlow>>) {
  const key = bearer(flow.org.apiKey);
  const actor = { 'X-Actor-Id': flow.org.adminUserId };
  const invitation = { path: { ws: flow.ws.workspaceId, id: flow.pending.invitationId }, header: actor };
  const resent = ok(await client.POST('/v1/workspaces/{ws}/invitations/{id}/resend', { headers: key, params: invitation }));
  const cancelled = ok(await client.DELETE('/v1/workspaces/{ws}/invitations/{id}', { headers: key, params: invitation }));
  const profile = ok(
    await client.PATCH('/v1/organizations/{org}/users/{userId}', {
      headers: key,
      params: { path: { org: flow.org.organizationId, userId: flow.jane.userId }, header: { 'X-Actor-Id': flow.jane.userId } },
      body: { displayName: 'Jane D.', alias: null, avatarUrl: 'https://cdn.acme.test/jane.png' },
    }),
  );
  const csv = ok(
    await client.GET('/v1/workspaces/{ws}/members/export.csv', {
      headers: key,
      params: { path: { ws: flow.ws.workspaceId }, header: { ...actor, 'X-Min-Position': profile.position }, query: { status: ['active', 'revoked'] } },
      parseAs: 'text',
    }),
  );
  const deleted = ok(await client.DELETE('/v1/organizations/{org}/users/{userId}', { headers: key, params: { path: { org: flow.org.organizationId, userId: flow.jane.userId }, header: actor } }));
  const health = ok(await client.GET('/health'));
  return { resent, cancelled, profile, csv, deleted, health };
}

/** Requests of the wrong shape or to missing things: each answer is a documented problem. */
export async function refusalFlow(client: RollcallClient, flow: Awaited<ReturnType<typeof consoleFlow>>) {
  const key = bearer(flow.org.apiKey);
  const params = { path: { ws: flow.ws.workspaceId, userId: flow.jane.userId }, header: { 'X-Actor-Id': flow.org.adminUserId } };
  // @ts-expect-error restrictions are an object of restrictions, not a list: the types say so, and so does the 400
  const restrictionsAsList = await client.PATCH('/v1/workspaces/{ws}/members/{userId}/access', { headers: key, params, body: { restrictions: ['data_export'] } });
  // @ts-expect-error roles are a list of role names
  const roleAsString = await client.PATCH('/v1/workspaces/{ws}/members/{userId}/access', { headers: key, params, body: { roles: 'manager' } });
  const unknownMember = await client.GET('/v1/workspaces/{ws}/members/{userId}', { headers: key, params: { ...params, path: { ...params.path, userId: 'nobody' } } });
  const noKey = await client.GET('/v1/workspaces/{ws}/members', { params: { path: params.path, header: params.header } });
  const badToken = await client.POST('/v1/invitations/accept', { body: { token: 'not-a-token' } });
  const unknownWorkspace = await client.POST('/v1/workspaces/{ws}/invitations', {
    headers: key,
    params: { path: { ws: 'no-such-workspace' }, header: params.header },
    body: { email: 'x@acme.test' },
  });
  return { restrictionsAsList, roleAsString, unknownMember, noKey, badToken, unknownWorkspace };
}

/**
 * A second workspace linked to the first (system key), a team there shared and chosen here, read through every list
 * that shows a partner team; an email change asked for and withdrawn (probe 45 F1, F2: both answered shapes the
 * document did not have, and no flow read them).
 */
export async function partnerAndEmailFlow(client: RollcallClient, systemKey: string, flow: Awaited<ReturnType<typeof consoleFlow>>) {
  const key = bearer(flow.org.apiKey);
  const actor = { 'X-Actor-Id': flow.org.adminUserId };
  const partner = ok(
    await client.POST('/v1/organizations/{org}/workspaces', { headers: key, params: { path: { org: flow.org.organizationId }, header: actor }, body: { name: 'Partner support' } }),
  );
  ok(await client.POST('/v1/workspaces/{ws}/network', { headers: bearer(systemKey), params: { path: { ws: flow.ws.workspaceId } }, body: { partnerWorkspaceId: partner.workspaceId } }));
  const team = ok(await client.POST('/v1/workspaces/{ws}/teams', { headers: key, params: { path: { ws: partner.workspaceId }, header: actor }, body: { name: 'Experts' } }));
  const teamPath = { path: { ws: partner.workspaceId, teamId: team.teamId }, header: actor };
  const shared = ok(await client.PUT('/v1/workspaces/{ws}/teams/{teamId}/sharing', { headers: key, params: teamPath, body: { shared: true } }));
  const offered = ok(await client.GET('/v1/workspaces/{ws}/partner-teams', { headers: key, params: { path: { ws: flow.ws.workspaceId }, header: { ...actor, 'X-Min-Position': shared.position } } }));
  const chosen = ok(
    await client.PUT('/v1/workspaces/{ws}/partner-teams/{teamId}/visibility', { headers: key, params: { path: { ws: flow.ws.workspaceId, teamId: team.teamId }, header: actor }, body: { visible: true } }),
  );
  const here = { path: { ws: flow.ws.workspaceId }, header: { ...actor, 'X-Min-Position': chosen.position } };
  const teams = ok(await client.GET('/v1/workspaces/{ws}/teams', { headers: key, params: here }));
  const invitees = ok(await client.GET('/v1/workspaces/{ws}/teams/{teamId}/invitees', { headers: key, params: { path: { ws: flow.ws.workspaceId, teamId: team.teamId }, header: actor } }));
  const workspace = ok(await client.GET('/v1/workspaces/{ws}', { headers: key, params: here }));
  const user = { path: { org: flow.org.organizationId, userId: flow.joe.userId }, header: actor };
  const asked = ok(await client.PATCH('/v1/organizations/{org}/users/{userId}', { headers: key, params: user, body: { email: 'joe.new@acme.test' } }));
  const users = ok(await client.GET('/v1/organizations/{org}/users', { headers: key, params: { path: { org: flow.org.organizationId }, header: { ...actor, 'X-Min-Position': asked.position } } }));
  const joeBefore = users.items.find((u) => u.userId === flow.joe.userId)!;
  const withdrawn = ok(await client.PATCH('/v1/organizations/{org}/users/{userId}', { headers: key, params: user, body: { email: joeBefore.email! } }));
  return { partner, team, offered, teams, invitees, workspace, asked, joeBefore, withdrawn };
}
