import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { resolve } from 'node:path';
import ts from 'typescript';
import { Logger } from '@nestjs/common';
import { EVENT_STORE } from '../apps/api/src/shared/tokens';
import { SYSTEM_KEY, type TestApp, startTestApp } from './support/app';
import { Conformance, type Document } from './support/openapi-conformance';
import { type RollcallClient, consoleFlow, housekeepingFlow, partnerAndEmailFlow, refusalFlow, rollcallClient } from './support/openapi-flows';
import { TYPES_FILE, generateTypes } from './support/openapi-types';

/**
 * The API as its OpenAPI document describes it (issue 15): the types of a client are generated from the served
 * document (openapi-typescript), a console backend written against them (test/support/openapi-flows.ts, with
 * openapi-fetch) drives the main flows, and every answer is checked against the document: its status and content
 * type are documented for the operation and its body matches the schema, with no undocumented field.
 */
let app: TestApp;
let document: Document;
let conformance: Conformance;
let client: RollcallClient;
const nonConforming: string[] = [];

beforeAll(async () => {
  app = await startTestApp();
  document = (await (await fetch(`${app.url}/docs/openapi.json`)).json()) as Document;
  conformance = new Conformance(document);
  client = rollcallClient(app.url, async (method, schemaPath, response) => {
    nonConforming.push(...conformance.answer(method, schemaPath, response.status, response.headers.get('content-type'), await response.text()));
  });
});
afterAll(async () => {
  await app.stop();
  // jest links an ES module's `import … from 'node:process'` (openapi-typescript's dependencies) by reading every
  // property of process, `process.stdin` too: that opens the worker's stdin pipe, a handle that kept the jest worker
  // alive after the suite ("A worker process has failed to exit gracefully", once per CI run until session 36). A
  // stdin that is a file (jest run in band with `< /dev/null`) is a stream without unref, and holds nothing open
  (process.stdin as { unref?: () => void }).unref?.();
});
afterEach(() => {
  // every answer a test received through the client, successes and problems alike
  expect(nonConforming.splice(0)).toEqual([]);
});

describe('main flows through the typed client', () => {
  it('create org, workspace, invite, accept, list members, change access, revoke, history: public resources only', async () => {
    const flow = await consoleFlow(client, SYSTEM_KEY, 'ada@acme.test');
    expect(flow.members.map((m) => [m.userId, m.status]).sort()).toEqual(
      [flow.org.adminUserId, flow.jane.userId, flow.joe.userId].map((id) => [id, 'active']).sort(),
    );
    expect(flow.invitations).toEqual([expect.objectContaining({ invitationId: flow.pending.invitationId, email: 'jörg.pending@acme.test', status: 'pending', expiresAt: flow.pending.expiresAt })]);
    expect(flow.list.items.find((m) => m.status === 'active' && m.userId === flow.jane.userId)).toMatchObject({ roles: ['agent'], restrictions: { mask_contact_info: true } });
    expect(flow.changed).toMatchObject({ userId: flow.jane.userId, access: { roles: ['manager'], restrictions: { data_export: true } } });
    expect(flow.revoked.contacts).toEqual({ mode: 'reassigned', toUserId: flow.jane.userId });
    expect(flow.janeNow).toMatchObject({ displayName: 'Jane Doe', roles: ['manager'], effectivePermissions: { permissions: expect.arrayContaining(['settings.users']) } });
    expect(flow.janeNow.effectivePermissions?.permissions).not.toContain('data.export');
    // agent with mask_contact_info → manager with data_export: the agent's restriction goes, the level, the manager's comes (rule 17)
    // the flow copies jane's link before she accepts: recorded (probe 83 F4)
    expect(flow.history.items.map((e) => e.change)).toEqual(['invited', 'invitation_link_copied', 'joined', 'restrictions_changed', 'roles_changed', 'restrictions_changed']);
    const invited = flow.fullHistory.items.find((e) => e.change === 'invited' && e.invitationId === flow.janeInvited.invitationId)!;
    expect(flow.fullHistory.items.map((e) => Number(e.position))).toEqual(flow.fullHistory.items.map((e) => Number(e.position)).sort((a, b) => b - a));
    // the link version stays inside; the position is a string like every other position of the API
    expect(invited.details).toEqual({ expiresAt: flow.janeInvited.expiresAt });
    expect(invited.position).toMatch(/^\d+$/);
    expect(flow.accessAsOf).toMatchObject({ status: 'active', roles: ['manager'] });
  });

  it('resend, cancel, profile change, CSV export, user deletion, health', async () => {
    const flow = await consoleFlow(client, SYSTEM_KEY, 'bea@acme.test');
    const done = await housekeepingFlow(client, flow);
    expect(done.resent.invitationId).toBe(flow.pending.invitationId);
    expect(done.cancelled).toMatchObject({ invitationId: flow.pending.invitationId });
    expect(done.profile.changed).toEqual(expect.arrayContaining(['displayName', 'avatarUrl']));
    expect(done.csv.split('\n')[0]).toBe('email,display_name,alias,status,roles,restrictions,grants,invited_at,joined_at,last_seen_at,org_admin,user_id,invitation_id,workspace_id,permissions,expires_at,revoked_at,workspace_name,expired,team_ids,export_permission,owner_authority,revoked_by,access_model,invited_by');
    expect(done.csv).toContain('Jane D.');
    expect(done.deleted).toMatchObject({ userId: flow.jane.userId, workspaceIds: [flow.ws.workspaceId] });
    expect(done.health.status).toBe('ok');
  });
});

describe('partner teams and email changes through the typed client (probe 45 F1, F2)', () => {
  it('a partner team read in the offered list, the team list and its invitees; an email change asked for, then withdrawn', async () => {
    const flow = await consoleFlow(client, SYSTEM_KEY, 'cid@acme.test');
    const done = await partnerAndEmailFlow(client, SYSTEM_KEY, flow);
    const partner = { workspaceId: done.partner.workspaceId, workspaceName: 'Partner support' };
    expect(done.offered.items).toEqual([expect.objectContaining({ teamId: done.team.teamId, partner })]);
    expect(done.teams.items).toContainEqual(expect.objectContaining({ teamId: done.team.teamId, partner }));
    expect(done.invitees.partner).toEqual(partner);
    expect(done.workspace.partners).toEqual([{ workspaceId: done.partner.workspaceId, name: 'Partner support' }]);
    expect(done.asked.emailChange).toEqual({ status: 'pending_confirmation', email: 'joe.new@acme.test', expiresAt: expect.any(String), mail: 'handed_over' });
    // (its mail's record follows the change in the log: read at the change's position, it may not be known yet)
    const { mailedAt, ...pendingEmail } = done.joeBefore.pendingEmail!;
    expect(pendingEmail).toEqual({ email: 'joe.new@acme.test', expiresAt: done.asked.emailChange!.expiresAt, expired: false, taken: false, mailRefusedAt: null });
    expect(mailedAt === null || !Number.isNaN(Date.parse(mailedAt))).toBe(true);
    expect(done.withdrawn.emailChange).toEqual({ status: 'withdrawn', email: done.joeBefore.email });
  });
});

describe('refusals are documented problems', () => {
  it('a wrong shape names the expected shape with an example; missing things and missing keys are documented problems', async () => {
    const flow = await consoleFlow(client, SYSTEM_KEY, 'cy@acme.test');
    const r = await refusalFlow(client, flow);
    expect(r.restrictionsAsList.response.status).toBe(400);
    expect(r.restrictionsAsList.error).toMatchObject({ code: 'VALIDATION_FAILED', errors: [{ field: 'restrictions', message: expect.stringContaining('not a list') }] });
    expect(r.restrictionsAsList.error?.detail).toContain('e.g. {"data_export": true}');
    expect(r.roleAsString.error?.errors).toContainEqual({ field: 'roles', message: 'must be a list of role names, e.g. ["agent"]' });
    expect([r.unknownMember.response.status, r.unknownMember.error?.code]).toEqual([404, 'NOT_A_MEMBER']);
    expect([r.noKey.response.status, r.noKey.error?.code]).toEqual([401, 'UNAUTHENTICATED']);
    expect([r.badToken.response.status, r.badToken.error?.code]).toEqual([400, 'VALIDATION_FAILED']);
    expect([r.unknownWorkspace.response.status, r.unknownWorkspace.error?.code]).toEqual([404, 'WORKSPACE_NOT_FOUND']);
  });

  it('/health: 503 UNHEALTHY names the indicators that are down; a body that is not JSON is 400 MALFORMED_JSON', async () => {
    const store = app.app.get<{ ping(): Promise<void> }>(EVENT_STORE);
    const ping = jest.spyOn(store, 'ping').mockRejectedValue(new Error('connection refused'));
    const logged = jest.spyOn(Logger.prototype, 'error');
    const recovered = jest.spyOn(Logger.prototype, 'log');
    try {
      const down = await client.GET('/health');
      // the driver's error goes to the log instead, once as the store goes down, not at every poll
      await client.GET('/health');
      expect(logged.mock.calls.filter(([message]) => String(message).startsWith('eventStore does not answer'))).toEqual([['eventStore does not answer its ping: connection refused']]);
      expect([down.response.status, down.error]).toEqual([503, expect.objectContaining({ code: 'UNHEALTHY', detail: 'Not ready: eventStore down: does not answer.' })]);
      // every indicator, as the 200 answer names them, a down one with why; no driver's error text (probe 95 F2)
      expect(down.error?.checks).toMatchObject({ eventStore: { status: 'down', message: 'does not answer' }, readStore: { status: 'up' }, audit: { status: 'up' } });
      expect(JSON.stringify(down.error)).not.toContain('connection refused');
      ping.mockRestore();
      expect((await client.GET('/health')).response.status).toBe(200);
      expect(recovered.mock.calls.filter(([message]) => String(message).startsWith('eventStore'))).toEqual([['eventStore answers its ping again']]);
    } finally {
      ping.mockRestore();
      logged.mockRestore();
      recovered.mockRestore();
    }
    const malformed = await new Promise<{ status: number; type: string; body: string }>((done, fail) => {
      // fetch sends no body with GET: node:http does
      const req = httpRequest(`${app.url}/health`, { method: 'GET', headers: { 'content-type': 'application/json', 'content-length': '10' } }, (res) => {
        let body = '';
        res.on('data', (chunk) => (body += String(chunk)));
        res.on('end', () => done({ status: res.statusCode!, type: String(res.headers['content-type']), body }));
      });
      req.on('error', fail);
      req.end('{"not json');
    });
    expect([malformed.status, JSON.parse(malformed.body).code]).toEqual([400, 'MALFORMED_JSON']);
    expect(conformance.answer('GET', '/health', malformed.status, malformed.type, malformed.body)).toEqual([]);
  });
});

// last: compiling blocks this process (and the in-process server) for seconds
describe('the generated client and the served document', () => {
  it('test/generated/rollcall-api.d.ts is what openapi-typescript generates from the served document (else: npm run openapi:types)', async () => {
    expect(readFileSync(TYPES_FILE, 'utf8')).toBe(await generateTypes(document));
  });

  it('the client program compiles against the types generated from the served document', async () => {
    const live = await generateTypes(document);
    const program = resolve(__dirname, 'support/openapi-flows.ts');
    const config = ts.getParsedCommandLineOfConfigFile(resolve(__dirname, '../tsconfig.json'), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => undefined })!;
    const host = ts.createCompilerHost(config.options);
    const readFile = host.readFile.bind(host);
    // the committed types replaced by the live ones: the program is checked against what the app serves now
    host.readFile = (file) => (resolve(file) === TYPES_FILE ? live : readFile(file));
    const compiled = ts.createProgram({ rootNames: [program], options: { ...config.options, noEmit: true }, host });
    const diagnostics = [program, TYPES_FILE].flatMap((file) => ts.getPreEmitDiagnostics(compiled, compiled.getSourceFile(file)));
    expect(diagnostics.map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'))).toEqual([]);
  });

  it('the document checker refuses an undocumented field, status and content type (so the checks below can fail)', () => {
    const member = { userId: 'u', workspaceId: 'w', status: 'active', roles: [], restrictions: {}, grants: [] };
    expect(conformance.errors({ $ref: '#/components/schemas/Member' }, { ...member, _id: 'w:u' })).toContain('$._id: not documented');
    expect(conformance.answer('GET', '/v1/workspaces/{ws}/members', 418, 'application/json', '{}')[0]).toMatch(/418, which is not documented/);
    expect(conformance.answer('GET', '/v1/workspaces/{ws}/members', 200, 'text/html', '')[0]).toMatch(/text\/html is not documented/);
  });
});
