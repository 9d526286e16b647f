import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, outboxWarning, publicUrlWarning } from './config';
import { ConfigError } from './settings';

describe('configuration from the environment', () => {
  it('has working defaults: port 3000, ./data, 48 h invitations, embedded stores, projector in process', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({ port: 3000, invitationTtlSeconds: 172_800, publicUrl: 'http://localhost:3000', tcpPort: 3001, durability: 'full', projectorInProcess: true });
    expect(c.dataDir).toMatch(/\/data$/);
    expect(c.eventstoreUrl ?? c.mongoUrl ?? c.natsUrl ?? c.systemApiKey).toBeUndefined();
    // metrics are off until a token is set: /metrics is on the public port
    expect(c.metricsToken).toBeUndefined();
    // JSON lines at info unless asked otherwise
    expect(c).toMatchObject({ logLevel: 'info', logFormat: 'json' });
  });

  it('reads LOG_FORMAT and LOG_LEVEL, and refuses any other format or level by name', () => {
    expect(loadConfig({ LOG_FORMAT: 'pretty', LOG_LEVEL: 'debug' })).toMatchObject({ logFormat: 'pretty', logLevel: 'debug' });
    expect(loadConfig({ LOG_FORMAT: ' json ', LOG_LEVEL: 'silent' })).toMatchObject({ logFormat: 'json', logLevel: 'silent' });
    expect(() => loadConfig({ LOG_FORMAT: 'xml' })).toThrow(/LOG_FORMAT must be one of json, pretty, got "xml"/);
    expect(() => loadConfig({ LOG_LEVEL: 'verbose' })).toThrow(/LOG_LEVEL must be one of debug, info, warn, error, silent, got "verbose"/);
  });

  it('reads every variable', () => {
    const c = loadConfig({
      PORT: '8080',
      ROLLCALL_DATA_DIR: '/tmp/rc',
      ROLLCALL_PUBLIC_URL: 'https://console.acme.test/',
      ROLLCALL_INVITATION_TTL_SECONDS: '60',
      ROLLCALL_SYSTEM_API_KEY: 'x'.repeat(30),
      EVENTSTORE_URL: 'esdb://localhost:2113?tls=false',
      MONGO_URL: 'mongodb://localhost/rollcall',
      NATS_URL: 'nats://localhost:4222',
      ROLLCALL_EVENTS_TCP_TARGET: 'contacts:4100',
      ROLLCALL_NATS_EVENT_SUBJECTS: 'both',
      ROLLCALL_PROJECTOR: 'external',
      ROLLCALL_METRICS_TOKEN: ' metrics-token-0123456789 ',
    });
    expect(c).toMatchObject({
      port: 8080,
      dataDir: '/tmp/rc',
      publicUrl: 'https://console.acme.test',
      invitationTtlSeconds: 60,
      eventstoreUrl: 'esdb://localhost:2113?tls=false',
      eventsTcpTarget: { host: 'contacts', port: 4100 },
      natsEventSubjects: 'both',
      projectorInProcess: false,
      metricsToken: 'metrics-token-0123456789',
    });
  });

  it('refuses bad values with one message naming each of them', () => {
    let error: unknown;
    try {
      loadConfig({ PORT: 'eighty', EVENTSTORE_URL: 'http://x', ROLLCALL_SYSTEM_API_KEY: 'short', ROLLCALL_DURABILITY: 'maybe', ROLLCALL_EVENTS_TCP_TARGET: 'nohost', ROLLCALL_METRICS_TOKEN: 'short' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    for (const name of ['PORT', 'EVENTSTORE_URL', 'ROLLCALL_SYSTEM_API_KEY', 'ROLLCALL_DURABILITY', 'ROLLCALL_EVENTS_TCP_TARGET', 'ROLLCALL_METRICS_TOKEN']) expect(message).toContain(name);
  });

  it('probe 116 F3: ROLLCALL_DURABILITY and ROLLCALL_COMMIT_THREAD empty are the default, blanks around a value ignored, as every setting', () => {
    expect(loadConfig({ ROLLCALL_DURABILITY: '', ROLLCALL_COMMIT_THREAD: '' })).toMatchObject({ durability: 'full', commitThread: true });
    expect(loadConfig({ ROLLCALL_DURABILITY: ' normal\r', ROLLCALL_COMMIT_THREAD: ' off ' })).toMatchObject({ durability: 'normal', commitThread: false });
    expect(() => loadConfig({ ROLLCALL_COMMIT_THREAD: 'of' })).toThrow('ROLLCALL_COMMIT_THREAD must be on or off, got "of"');
  });

  it('ROLLCALL_CHECK_CACHED_STATES is 1 or unset: another value (meant to turn it on or off) is refused, not taken silently', () => {
    expect(() => loadConfig({ ROLLCALL_CHECK_CACHED_STATES: 'yes' })).toThrow('ROLLCALL_CHECK_CACHED_STATES must be 1 (or unset), got "yes"');
    // read as every setting: blanks around it ignored (probe 38b F15: " 1 " passed the check and left it off)
    expect(loadConfig({ ROLLCALL_CHECK_CACHED_STATES: ' 1 ' }).checkCachedStates).toBe(true);
    expect(loadConfig({ ROLLCALL_CHECK_CACHED_STATES: '' }).checkCachedStates).toBeUndefined();
  });

  it('refuses what used to pass the check and fail later: a projector mode typo, a snapshot period below 0, a TCP port past 65535 or equal to PORT, an events target port out of range, a public URL with a query or fragment', () => {
    const refused = (env: Record<string, string>) => {
      try {
        loadConfig(env);
      } catch (error) {
        expect(error).toBeInstanceOf(ConfigError);
        return (error as Error).message;
      }
      throw new Error(`accepted ${JSON.stringify(env)}`);
    };
    expect(refused({ ROLLCALL_PROJECTOR: 'extrenal' })).toContain('ROLLCALL_PROJECTOR must be in-process or external');
    expect(refused({ ROLLCALL_SNAPSHOT_EVERY: '-1' })).toContain('ROLLCALL_SNAPSHOT_EVERY');
    expect(refused({ ROLLCALL_SNAPSHOT_EVERY: 'abc' })).toContain('ROLLCALL_SNAPSHOT_EVERY');
    expect(refused({ ROLLCALL_SHUTDOWN_GRACE_MS: '-5' })).toContain('ROLLCALL_SHUTDOWN_GRACE_MS');
    expect(refused({ ROLLCALL_SHUTDOWN_GRACE_MS: '700000' })).toContain('ROLLCALL_SHUTDOWN_GRACE_MS');
    expect(refused({ PORT: '65535' })).toContain('ROLLCALL_TCP_PORT defaults to PORT + 1');
    expect(refused({ PORT: '4000', ROLLCALL_TCP_PORT: '4000' })).toContain('ROLLCALL_TCP_PORT must differ from PORT');
    expect(refused({ ROLLCALL_EVENTS_TCP_TARGET: 'localhost:99999' })).toContain('ROLLCALL_EVENTS_TCP_TARGET');
    expect(refused({ ROLLCALL_NATS_EVENT_SUBJECTS: 'per-org' })).toContain('ROLLCALL_NATS_EVENT_SUBJECTS must be operator, organization, both, got "per-org"');
    expect(loadConfig({}).natsEventSubjects).toBe('operator');
    expect(refused({ ROLLCALL_PUBLIC_URL: 'https://console.acme.test/app/?x=1#frag' })).toContain('without a query or fragment');
    expect(loadConfig({ ROLLCALL_PROJECTOR: 'external', ROLLCALL_SNAPSHOT_EVERY: '0', PORT: '65535', ROLLCALL_TCP_PORT: '65534' })).toMatchObject({
      projectorInProcess: false,
      snapshotEvery: 0,
      tcpPort: 65534,
    });
    // no grace by default: a stop drains at once
    expect(loadConfig({}).shutdownGraceMs).toBe(0);
    expect(loadConfig({ ROLLCALL_SHUTDOWN_GRACE_MS: '5000' }).shutdownGraceMs).toBe(5000);
    // the states point-in-time replays keep (ADR 0027): 300,000 rows unless set; 0 keeps none
    expect(refused({ ROLLCALL_REPLAY_MEMORY_ROWS: '-1' })).toContain('ROLLCALL_REPLAY_MEMORY_ROWS');
    expect(loadConfig({}).replayMemoryRows).toBe(300_000);
    expect(loadConfig({ ROLLCALL_REPLAY_MEMORY_ROWS: '0' }).replayMemoryRows).toBe(0);
    // the decision states cached (probe 108 F1): 1,000,000 rows unless set; 0 keeps only those in use
    expect(refused({ ROLLCALL_STATE_CACHE_ROWS: 'many' })).toContain('ROLLCALL_STATE_CACHE_ROWS');
    expect(loadConfig({}).stateCacheRows).toBe(1_000_000);
    expect(loadConfig({ ROLLCALL_STATE_CACHE_ROWS: '0' }).stateCacheRows).toBe(0);
  });

  it('the in-process projector lingers 1 s while the log is busy and runs at nice 10 by default; both can be set, within bounds', () => {
    expect(loadConfig({})).toMatchObject({ projectorLingerMs: 1000, projectorNice: 10 });
    expect(loadConfig({ ROLLCALL_PROJECTOR_LINGER_MS: '0', ROLLCALL_PROJECTOR_NICE: '0' })).toMatchObject({ projectorLingerMs: 0, projectorNice: 0 });
    expect(loadConfig({ ROLLCALL_PROJECTOR_LINGER_MS: '250', ROLLCALL_PROJECTOR_NICE: '19' })).toMatchObject({ projectorLingerMs: 250, projectorNice: 19 });
    expect(() => loadConfig({ ROLLCALL_PROJECTOR_LINGER_MS: '-1' })).toThrow(/ROLLCALL_PROJECTOR_LINGER_MS must be an integer between 0 and 60000, got "-1"/);
    expect(() => loadConfig({ ROLLCALL_PROJECTOR_NICE: '20' })).toThrow(/ROLLCALL_PROJECTOR_NICE must be an integer between 0 and 19, got "20"/);
  });

  it('rule 12 at rest: deletions share a rewrite of read.sqlite at most once an hour by default; 0 rewrites after each, up to 7 days (ADR 0029)', () => {
    expect(loadConfig({}).erasureRewriteMs).toBe(3_600_000);
    expect(loadConfig({ ROLLCALL_ERASURE_REWRITE_SECONDS: '0' }).erasureRewriteMs).toBe(0);
    expect(loadConfig({ ROLLCALL_ERASURE_REWRITE_SECONDS: '604800' }).erasureRewriteMs).toBe(604_800_000);
    expect(() => loadConfig({ ROLLCALL_ERASURE_REWRITE_SECONDS: '604801' })).toThrow(/ROLLCALL_ERASURE_REWRITE_SECONDS must be an integer between 0 and 604800, got "604801"/);
    expect(() => loadConfig({ ROLLCALL_ERASURE_REWRITE_SECONDS: '1h' })).toThrow(/ROLLCALL_ERASURE_REWRITE_SECONDS/);
  });

  it('heavy reads (downloads, point-in-time answers): 2 at once per organization by default, 1 … 1,000 (probe 59)', () => {
    expect(loadConfig({}).heavyReadsPerOrganization).toBe(2);
    expect(loadConfig({ ROLLCALL_HEAVY_READS_PER_ORGANIZATION: '8' }).heavyReadsPerOrganization).toBe(8);
    expect(loadConfig({}).emailChangesPerHour).toBe(5);
    expect(loadConfig({ ROLLCALL_EMAIL_CHANGES_PER_HOUR: '20' }).emailChangesPerHour).toBe(20);
    expect(() => loadConfig({ ROLLCALL_EMAIL_CHANGES_PER_HOUR: '0' })).toThrow(/ROLLCALL_EMAIL_CHANGES_PER_HOUR must be an integer between 1 and 1000, got "0"/);
    expect(() => loadConfig({ ROLLCALL_HEAVY_READS_PER_ORGANIZATION: '0' })).toThrow(/ROLLCALL_HEAVY_READS_PER_ORGANIZATION must be an integer between 1 and 1000, got "0"/);
  });

  it('quotas: 1,000 workspaces per organization, 1,000 teams per workspace, 100 API keys per organization by default; each 1 … 1,000,000', () => {
    expect(loadConfig({}).quotas).toEqual({ workspacesPerOrganization: 1_000, teamsPerWorkspace: 1_000, apiKeysPerOrganization: 100 });
    const raised = loadConfig({ ROLLCALL_MAX_WORKSPACES_PER_ORGANIZATION: '5000', ROLLCALL_MAX_TEAMS_PER_WORKSPACE: '20', ROLLCALL_MAX_API_KEYS_PER_ORGANIZATION: '3' });
    expect(raised.quotas).toEqual({ workspacesPerOrganization: 5_000, teamsPerWorkspace: 20, apiKeysPerOrganization: 3 });
    expect(() => loadConfig({ ROLLCALL_MAX_TEAMS_PER_WORKSPACE: '0' })).toThrow(/ROLLCALL_MAX_TEAMS_PER_WORKSPACE must be an integer between 1 and 1000000, got "0"/);
  });

  it('ROLLCALL_ERASURE_JOURNAL: a path, resolved; refused inside the data dir, which a restore replaces (ADR 0031)', () => {
    expect(loadConfig({}).erasureJournal).toBeUndefined();
    expect(loadConfig({ ROLLCALL_DATA_DIR: '/srv/rollcall', ROLLCALL_ERASURE_JOURNAL: '/var/lib/rollcall-journal/erasures.jsonl' }).erasureJournal).toBe('/var/lib/rollcall-journal/erasures.jsonl');
    expect(() => loadConfig({ ROLLCALL_DATA_DIR: '/srv/rollcall', ROLLCALL_ERASURE_JOURNAL: '/srv/rollcall/erasures.jsonl' })).toThrow(/ROLLCALL_ERASURE_JOURNAL must be outside the data dir \(\/srv\/rollcall\)/);
    // through a link to the data dir too (probe 63 F7)
    const dir = mkdtempSync(join(tmpdir(), 'rollcall-journal-link-'));
    try {
      mkdirSync(join(dir, 'data'));
      symlinkSync(join(dir, 'data'), join(dir, 'elsewhere'));
      expect(() => loadConfig({ ROLLCALL_DATA_DIR: join(dir, 'data'), ROLLCALL_ERASURE_JOURNAL: join(dir, 'elsewhere', 'erasures.jsonl') })).toThrow(/must be outside the data dir/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the old generation may grow 300 % past what the last full collection kept by default; 0 leaves it to V8, within bounds', () => {
    expect(loadConfig({}).heapGrowingPercent).toBe(300);
    expect(loadConfig({ ROLLCALL_HEAP_GROWING_PERCENT: '0' }).heapGrowingPercent).toBe(0);
    expect(loadConfig({ ROLLCALL_HEAP_GROWING_PERCENT: '150' }).heapGrowingPercent).toBe(150);
    expect(() => loadConfig({ ROLLCALL_HEAP_GROWING_PERCENT: '1001' })).toThrow(/ROLLCALL_HEAP_GROWING_PERCENT must be an integer between 0 and 1000, got "1001"/);
  });

  it('ROLLCALL_BODY_LIMIT is a size (64kb by default) between 1kb and 16mb; a typo is refused at start, not taken for every body (probe 12)', () => {
    expect(loadConfig({}).bodyLimit).toBe(65_536);
    expect(loadConfig({ ROLLCALL_BODY_LIMIT: '1mb' }).bodyLimit).toBe(1_048_576);
    expect(loadConfig({ ROLLCALL_BODY_LIMIT: '2048' }).bodyLimit).toBe(2048);
    expect(loadConfig({ ROLLCALL_BODY_LIMIT: '1.5kb' }).bodyLimit).toBe(1536);
    // what `bytes` alone reads as a number of bytes: "5000k" was 5,000 (review)
    for (const bad of ['64 kilobytes', '-1', '512', '17mb', '1.5', '5000k', '2048 kilobytes', '65536abc', '1024.9'])
      expect(() => loadConfig({ ROLLCALL_BODY_LIMIT: bad })).toThrow(new RegExp(`ROLLCALL_BODY_LIMIT must be a size between 1kb and 16mb \\(such as 64kb\\), got "${bad.replace('.', '\\.')}"`));
  });

  it('a number is decimal digits (blanks around them ignored); empty is the default; blanks only, hex, binary, exponents are refused (probe 32 F6)', () => {
    expect(loadConfig({ PORT: ' 8080 ', ROLLCALL_INVITATION_TTL_SECONDS: '60\r', ROLLCALL_SNAPSHOT_EVERY: '' })).toMatchObject({ port: 8080, tcpPort: 8081, invitationTtlSeconds: 60, snapshotEvery: 10_000 });
    expect(loadConfig({ PORT: '0080' }).port).toBe(80);
    for (const [name, bad] of [['PORT', '0x10'], ['PORT', '0b1'], ['ROLLCALL_INVITATION_TTL_SECONDS', '1e3'], ['ROLLCALL_TCP_PORT', '+5'], ['PORT', '3820.5'], ['PORT', '12abc'], ['ROLLCALL_SNAPSHOT_EVERY', '1_000']])
      expect(() => loadConfig({ [name]: bad })).toThrow(`${name} must be an integer between`);
    // each of these was read as 0: a random port, the mail dispatcher off, snapshots off
    expect(() => loadConfig({ PORT: '  ' })).toThrow('PORT is blank ("  "): set an integer between 0 and 65535, or leave it empty for the default (3000)');
    expect(() => loadConfig({ ROLLCALL_MAIL_RETRY_AFTER_SECONDS: ' ' })).toThrow('ROLLCALL_MAIL_RETRY_AFTER_SECONDS is blank');
    expect(() => loadConfig({ ROLLCALL_SNAPSHOT_EVERY: '\t' })).toThrow('ROLLCALL_SNAPSHOT_EVERY is blank');
    expect(() => loadConfig({ ROLLCALL_TCP_PORT: ' ' })).toThrow('ROLLCALL_TCP_PORT is blank');
  });

  it('SMTP_URL names a host and SMTP_FROM is one address: what failed only at the first send is refused at start (probe 32 F7)', () => {
    expect(loadConfig({ SMTP_URL: 'smtp://mail.acme.test:2525', SMTP_FROM: ' Acme <no-reply@acme.test> ' })).toMatchObject({
      smtpUrl: 'smtp://mail.acme.test:2525',
      smtpFrom: 'Acme <no-reply@acme.test>',
    });
    expect(loadConfig({ SMTP_FROM: 'no-reply@acme.test' }).smtpFrom).toBe('no-reply@acme.test');
    expect(loadConfig({ SMTP_FROM: ' ' }).smtpFrom).toBe('Rollcall <no-reply@rollcall.local>');
    for (const bad of ['smtp://', 'smtps://', 'smtp:', 'smtp:///relay'])
      expect(() => loadConfig({ SMTP_URL: bad })).toThrow(`SMTP_URL must name the mail server's host (smtp://host[:port] or smtps://…), got "${bad}"`);
    for (const bad of ['not an address', 'Acme <no-reply>', 'a@b.test, c@d.test', '@acme.test', 'no-reply@'])
      expect(() => loadConfig({ SMTP_FROM: bad })).toThrow(`SMTP_FROM must be one address, as "Name <name@example.com>" or "name@example.com", got "${bad}"`);
  });

  it('rule 13: ROLLCALL_PRESENCE_TIMEOUT_SECONDS sets the presence timeout (default 60), a whole number of seconds up to a day', () => {
    expect(loadConfig({}).presenceTimeoutSeconds).toBe(60);
    expect(loadConfig({ ROLLCALL_PRESENCE_TIMEOUT_SECONDS: '5' }).presenceTimeoutSeconds).toBe(5);
    for (const bad of ['0', '-1', '1.5', 'soon', '86401'])
      expect(() => loadConfig({ ROLLCALL_PRESENCE_TIMEOUT_SECONDS: bad })).toThrow(/ROLLCALL_PRESENCE_TIMEOUT_SECONDS must be an integer between 1 and 86400/);
  });
});

describe('configuration of the notary (docs/rules.md#verifiable-history)', () => {
  it('signs a checkpoint every second by default, names the log after the public URL, and generates its key when none is set', () => {
    // the name a data dir is given at its first start (AuditLog keeps it in the data dir's audit-origin)
    // every checkpoint of the last 24 hours kept, older ones thinned to one an hour (probe 108 F4)
    expect(loadConfig({}).audit).toEqual({ checkpointMs: 1000, keepEveryCheckpointHours: 24, origin: 'localhost:3000/audit', originConfigured: false, signingKey: undefined });
    expect(loadConfig({ ROLLCALL_AUDIT_KEEP_EVERY_CHECKPOINT_HOURS: '0' }).audit.keepEveryCheckpointHours).toBe(0);
    expect(() => loadConfig({ ROLLCALL_AUDIT_KEEP_EVERY_CHECKPOINT_HOURS: '-1' })).toThrow(/ROLLCALL_AUDIT_KEEP_EVERY_CHECKPOINT_HOURS/);
    expect(loadConfig({ ROLLCALL_PUBLIC_URL: 'https://console.acme.test/rollcall/' }).audit.origin).toBe('console.acme.test/rollcall/audit');
  });

  it('reads ROLLCALL_AUDIT_CHECKPOINT_MS, ROLLCALL_AUDIT_SIGNING_KEY (base64 or hex seed) and ROLLCALL_AUDIT_ORIGIN', () => {
    const seed = Buffer.alloc(32, 9);
    expect(loadConfig({ ROLLCALL_AUDIT_CHECKPOINT_MS: '250', ROLLCALL_AUDIT_SIGNING_KEY: seed.toString('base64'), ROLLCALL_AUDIT_ORIGIN: 'audit.acme.test/log' }).audit).toEqual({
      checkpointMs: 250,
      keepEveryCheckpointHours: 24,
      signingKey: seed.toString('base64'),
      origin: 'audit.acme.test/log',
      originConfigured: true,
    });
    expect(loadConfig({ ROLLCALL_AUDIT_SIGNING_KEY: seed.toString('hex') }).audit.signingKey).toBe(seed.toString('hex'));
  });

  it('refuses a bad period, key or origin, naming each variable', () => {
    expect(() => loadConfig({ ROLLCALL_AUDIT_CHECKPOINT_MS: '0' })).toThrow(/ROLLCALL_AUDIT_CHECKPOINT_MS must be an integer between 50 and 3600000/);
    expect(() => loadConfig({ ROLLCALL_AUDIT_SIGNING_KEY: 'not-a-key' })).toThrow(/ROLLCALL_AUDIT_SIGNING_KEY: .*32 bytes/);
    expect(() => loadConfig({ ROLLCALL_AUDIT_ORIGIN: 'two words' })).toThrow(/ROLLCALL_AUDIT_ORIGIN must be non-empty, without spaces/);
  });

  it('probe 65 F9: without ROLLCALL_PUBLIC_URL the start warns that the mailed links lead to no page; with it, nothing', () => {
    expect(publicUrlWarning(loadConfig({ PORT: '7200' }))).toBe(
      "ROLLCALL_PUBLIC_URL is not set: invitation and email-confirmation links lead to http://localhost:7200/invite and http://localhost:7200/confirm-email, pages this API does not serve (a person opening one gets a 404); set it to the address of the console's pages before real invitations go out",
    );
    expect(publicUrlWarning(loadConfig({ ROLLCALL_PUBLIC_URL: 'https://console.acme.test' }))).toBeUndefined();
  });

  it('probe 108 F6: without SMTP_URL the start warns that mails go to the outbox file, received by nobody; with it, nothing', () => {
    expect(outboxWarning(loadConfig({ ROLLCALL_DATA_DIR: '/srv/rollcall' }))).toBe(
      'SMTP_URL is not set: invitation and email-confirmation mails are appended to /srv/rollcall/outbox.jsonl (a mailer for development), not sent: nobody receives them, and the file keeps every address and link until it is removed; set SMTP_URL before real invitations go out',
    );
    expect(outboxWarning(loadConfig({ SMTP_URL: 'smtp://mail.acme.test:587' }))).toBeUndefined();
  });
});
