// Probe 113 F1: with ROLLCALL_NATS_EVENT_SUBJECTS=both and Rollcall's NATS user allowed to publish to rollcall.events.>
// only (the permissions docs/security.md named before session 66), the server refused every event on the
// organizations' subjects — asynchronously, while the flush that confirms a batch still answered — and the publisher
// moved its checkpoint past them: dropped for good, `/health` "running". A refusal now fails the confirmation.
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../apps/api/src/config';
import { captureLogLines } from '../apps/api/src/shared/testing/log-capture';
import { startTestApp } from './support/app';
import { freePort, natsBinary, startNats } from './support/nats';

const METRICS_TOKEN = 'metrics-token-0123456789';

/** a nats-server configuration: Rollcall's user `rc` may publish to `publish`; `reader` subscribes to anything */
const conf = (publish: string[]) => `authorization {
  users = [
    { user: rc, password: rc-secret, permissions: { publish: ${JSON.stringify(publish)}, subscribe: ">" } }
    { user: reader, password: reader-secret, permissions: { publish: "_INBOX.>", subscribe: ">" } }
  ]
}
`;

if (natsBinary) {
  describe("the NATS server refusing Rollcall's publishes of integration events (permissions)", () => {
    const logs = captureLogLines();

    it('probe 113 F1: holds the checkpoint before the refused events and says retrying with the subject; once allowed, every event reaches its organization\'s subject', async () => {
      const file = join(mkdtempSync(join(tmpdir(), 'rollcall-nats-perm-')), 'nats.conf');
      writeFileSync(file, conf(['rollcall.events.>', '_INBOX.>']));
      const port = await freePort();
      const nats = await startNats(['-c', file], port);
      const app = await startTestApp({ NATS_URL: `nats://rc:rc-secret@127.0.0.1:${port}`, ROLLCALL_NATS_EVENT_SUBJECTS: 'both', ROLLCALL_METRICS_TOKEN: METRICS_TOKEN, LOG_LEVEL: 'warn' }, logs.stream);
      const { connect } = await import('@nats-io/transport-node');
      const reader = await connect({ servers: `127.0.0.1:${port}`, user: 'reader', pass: 'reader-secret' });
      const health = async () => (await app.api.request('GET', '/health')).body.info.integrationEvents;
      try {
        const own: string[] = [];
        const sub = reader.subscribe('rollcall.org.>');
        void (async () => {
          for await (const m of sub) own.push(m.subject);
        })();
        await reader.flush();
        const { organizationId } = await app.api.organization();
        // the publisher fails its confirmation and says why in its log (a public /health names no error text)
        const said = () => logs.lines.some((l) => String(l.msg).includes(`permissions violation, e.g. on "rollcall.org.${organizationId}.events.`));
        for (const deadline = Date.now() + 15_000; !said() && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 100));
        expect(said()).toBe(true);
        const refused = await health();
        expect(refused.state).toBe('retrying');
        // probe 114 F4: counted as the transport refusing, in /health and /metrics (it stayed 0)
        expect(refused.failedSends).toBeGreaterThan(0);
        expect(refused.transports.nats.failedSends).toBe(refused.failedSends);
        expect((await app.api.request('GET', '/metrics', { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).body as string).toMatch(/rollcall_integration_events_failed_sends\{transport="nats"\} [1-9]/);
        // nothing refused is passed over: the log's head is still ahead of the checkpoint
        expect(refused.behind).toBeGreaterThan(0);
        expect(own).toEqual([]);

        // the operator grants the permission (the server reloads its configuration)
        writeFileSync(file, conf(['rollcall.events.>', 'rollcall.org.*.events.>', '_INBOX.>']));
        nats.process.kill('SIGHUP');
        for (const deadline = Date.now() + 40_000; !own.includes(`rollcall.org.${organizationId}.events.WorkspaceCreated`) && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 100));
        expect(own).toEqual(expect.arrayContaining([`rollcall.org.${organizationId}.events.OrganizationCreated`, `rollcall.org.${organizationId}.events.UserJoinedOrganization`, `rollcall.org.${organizationId}.events.WorkspaceCreated`]));
        for (const deadline = Date.now() + 10_000; (await health()).behind !== 0 && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 100));
        expect(await health()).toMatchObject({ state: 'running', behind: 0, failedSends: 0 });
      } finally {
        await reader.close();
        await app.stop();
        nats.process.kill();
      }
    }, 90_000);
  });
} else {
  describe("the NATS server refusing Rollcall's publishes of integration events (permissions)", () => {
    it('nats-server is not installed here (apt-get install nats-server to run this test); ROLLCALL_NATS_EVENT_SUBJECTS is still validated', () => {
      expect(loadConfig({ ROLLCALL_NATS_EVENT_SUBJECTS: 'both' }).natsEventSubjects).toBe('both');
      expect(() => loadConfig({ ROLLCALL_NATS_EVENT_SUBJECTS: 'per-org' })).toThrow(/ROLLCALL_NATS_EVENT_SUBJECTS/);
    });
  });
}
