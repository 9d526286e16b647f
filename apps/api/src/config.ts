import { join, resolve } from 'node:path';
import bytes from 'bytes';
import addressparser from 'nodemailer/lib/addressparser';
import { assertKeyName, originFromPublicUrl, parseSigningKey } from '@rollcall/audit';
import { DEFAULT_QUOTAS, type Quotas } from '@rollcall/domain';
import { isWithin } from './backup/real-path';
import { type LogFormat, type LogLevel, readLogSettings } from './logging';
import { ConfigError, readErasureRewriteMs, readEventstoreUrl, readInt, readMetricsToken, readMongoUrl, readUrl } from './settings';
import { NATS_EVENT_SUBJECTS, type NatsEventSubjects } from './infrastructure/event-subjects';

/** Configuration, read from the environment once at start and validated with a clear message. */
export interface Config {
  port: number;
  dataDir: string;
  /** if unset, one is generated on first start, stored (hashed) in the data dir and printed once */
  systemApiKey?: string;
  publicUrl: string;
  /** false: ROLLCALL_PUBLIC_URL was not set, and the links point at this API, which serves no invite page (start warns) */
  publicUrlGiven: boolean;
  invitationTtlSeconds: number;
  /**
   * ROLLCALL_MAIL_RETRY_AFTER_SECONDS (default 60; 0: off): a link decided this long ago whose mail the log does not
   * record as handed over is mailed by the mail dispatcher (mail/mail-dispatcher.ts)
   */
  mailRetryAfterSeconds: number;
  /** ROLLCALL_MAIL_DISPATCH_EVERY_MS (default 5000; 50 … 600,000): how often the mail dispatcher reads the log */
  mailDispatchEveryMs: number;
  /** ROLLCALL_PRESENCE_TIMEOUT_SECONDS (default 60): a user not heard from for this long is offline (docs/rules.md#rule-13) */
  presenceTimeoutSeconds: number;
  /** ROLLCALL_PRESENCE_REPLAY_SECONDS (default 3600): how far back a presence stream resumed with Last-Event-ID replays transitions (probe 76 F4) */
  presenceReplaySeconds: number;
  /**
   * ROLLCALL_PRESENCE_STREAMS_PER_ORGANIZATION (default 2,000) and ROLLCALL_PRESENCE_STREAMS_MAX (default 10,000): the
   * presence streams one organization, and all of them, may hold open in this process (each a socket held for as long
   * as the client wants: probe 37 F3, one key's streams took every file descriptor, and every tenant was refused)
   */
  presenceStreamsPerOrganization: number;
  /** ROLLCALL_HEAVY_READS_PER_ORGANIZATION (default 2; 1 … 1,000): CSV downloads and point-in-time reads one organization runs at once in this process (shared/reads/heavy-reads.ts) */
  heavyReadsPerOrganization: number;
  /** ROLLCALL_EMAIL_CHANGES_PER_HOUR (default 5; 1 … 1,000): email confirmations mailed for one user in an hour, in this process (users/email-change-limit.ts) */
  emailChangesPerHour: number;
  presenceStreamsMax: number;
  /**
   * ROLLCALL_ERASURE_JOURNAL: a file outside the data dir where deletions, address erasures and key revocations are journaled, and from
   * which a start decides again those a restored log lacks (backup/erasure-journal.ts); unset: none
   */
  erasureJournal?: string;
  /** ROLLCALL_MAX_WORKSPACES_PER_ORGANIZATION, …_TEAMS_PER_WORKSPACE, …_API_KEYS_PER_ORGANIZATION (libs/domain shared/quotas.ts) */
  quotas: Quotas;
  /** HMAC secret of invitation links; generated and stored in the data dir when unset */
  invitationSecret?: string;
  eventstoreUrl?: string;
  mongoUrl?: string;
  natsUrl?: string;
  /** ROLLCALL_NATS_EVENT_SUBJECTS: the subjects the NATS transport publishes integration events on (infrastructure/event-subjects.ts) */
  natsEventSubjects: NatsEventSubjects;
  smtpUrl?: string;
  /** SMTP_FROM: the sender of the mails sent over SMTP_URL (default `Rollcall <no-reply@rollcall.local>`) */
  smtpFrom: string;
  /** TCP port of the microservice transport (message patterns); 0 = random, unset = PORT + 1 */
  tcpPort: number;
  /** where integration events go over TCP (host:port of a consumer), optional */
  eventsTcpTarget?: { host: string; port: number };
  /** 'full' (default) or 'normal' SQLite durability for the embedded event store */
  durability: 'full' | 'normal';
  /** the embedded event store's group commit on a thread of its own (default) or on the event loop (ROLLCALL_COMMIT_THREAD=off) */
  commitThread: boolean;
  /** run the projectors in this process (embedded default) or not (a separate apps/projector) */
  projectorInProcess: boolean;
  /**
   * ROLLCALL_PROJECTOR_LINGER_MS (default 1000; 0: off): while the log is busy, the in-process projector commits
   * at most this often, so that its batches grow (cheaper per event); a read with X-Min-Position cuts the wait
   */
  projectorLingerMs: number;
  /** ROLLCALL_ERASURE_REWRITE_SECONDS in ms (settings.ts readErasureRewriteMs): at most one rewrite of read.sqlite per it */
  erasureRewriteMs: number;
  /**
   * ROLLCALL_HEAP_GROWING_PERCENT (default 300; 0 … 1000, 0: V8's own): how far the old generation grows past what
   * the last full collection kept before the next one (infrastructure/heap-growing.ts). Set by main.ts only.
   */
  heapGrowingPercent: number;
  /** ROLLCALL_PROJECTOR_NICE (default 10; 0 … 19): the in-process projector thread's CPU priority (thread-priority.ts) */
  projectorNice: number;
  /** LOG_LEVEL: debug, info (default), warn, error or silent (the e2e tests) */
  logLevel: LogLevel;
  /** LOG_FORMAT: json (default, one object per line) or pretty (human-readable lines, pino-pretty) */
  logFormat: LogFormat;
  /**
   * ROLLCALL_BODY_LIMIT (default 64kb; 1kb … 16mb, the `bytes` package's syntax): the largest request body in bytes, over
   * HTTP (413) and as a TCP message (413 in reply; a frame over 16× it closes the connection)
   */
  bodyLimit: number;
  /**
   * ROLLCALL_METRICS_TOKEN (at least 16 characters): GET /metrics, on the public port, answers only
   * `Authorization: Bearer <token>` (401 otherwise). Unset: /metrics is off (404 METRICS_DISABLED).
   */
  metricsToken?: string;
  /**
   * ROLLCALL_SHUTDOWN_GRACE_MS (default 0; at most 600,000): after a stop signal, how long the server keeps answering
   * everything while `/health` says SHUTTING_DOWN, before it stops taking connections and drains (health/stopping.ts)
   */
  shutdownGraceMs: number;
  /** ROLLCALL_SNAPSHOT_EVERY (default 10,000): events folded since a stream's last snapshot before the next is written (0: never) */
  snapshotEvery: number;
  /**
   * ROLLCALL_REPLAY_MEMORY_ROWS (default 300,000; 0: none): how many rows (users, workspaces, API keys, members, invitations, teams and their members)
   * the states point-in-time replays reached may hold, kept to continue later replays from (members/replay-checkpoints.ts;
   * ~660 bytes a row measured: ~200 MB at the default)
   */
  replayMemoryRows: number;
  /**
   * ROLLCALL_STATE_CACHE_ROWS (default 1,000,000; 0: only the states in use): how many rows the cached decision states
   * of organizations and workspaces may hold together, the least recently loaded dropped first (command-path/state-rows.ts;
   * ~0.4–0.6 KB a row measured: ~0.4–0.6 GB at the default)
   */
  stateCacheRows: number;
  /** ROLLCALL_CHECK_CACHED_STATES=1: a test diagnostic, each decision state loaded compared with a fold of the log (never for production) */
  checkCachedStates?: boolean;
  /** the notary (docs/rules.md#verifiable-history): checkpoint period, signing key, origin (= key name) */
  audit: AuditConfig;
}

export interface AuditConfig {
  /** ROLLCALL_AUDIT_CHECKPOINT_MS (default 1000): a checkpoint is signed at least this often while the log grows */
  checkpointMs: number;
  /**
   * ROLLCALL_AUDIT_KEEP_EVERY_CHECKPOINT_HOURS (default 24; 0: every checkpoint kept for good): the checkpoints signed
   * in this many last hours are all kept in audit.sqlite, older ones thinned to the first of each hour (probe 108 F4)
   */
  keepEveryCheckpointHours: number;
  /** ROLLCALL_AUDIT_SIGNING_KEY: an Ed25519 seed (base64 or hex) or PRIVATE+KEY note key; unset: generated once into the data dir */
  signingKey?: string;
  /**
   * ROLLCALL_AUDIT_ORIGIN: the log's name in its checkpoints. Unset: the name the data dir was given at its first start
   * (the public URL's host and path + /audit then, kept in `audit-origin`): see AuditLog
   */
  origin: string;
  /** whether ROLLCALL_AUDIT_ORIGIN set `origin` (else it is the default the data dir keeps from its first start) */
  originConfigured: boolean;
}



/** ROLLCALL_TCP_PORT: PORT + 1 by default; it must be a port, and not the HTTP one */
const tcpPort = (env: NodeJS.ProcessEnv, port: number, problems: string[]): number => {
  const given = env.ROLLCALL_TCP_PORT;
  if ((given === undefined || given === '') && port === 65535) {
    problems.push('ROLLCALL_TCP_PORT defaults to PORT + 1, which is past 65535 with PORT=65535: set ROLLCALL_TCP_PORT');
    return 0;
  }
  const tcp = readInt(env, 'ROLLCALL_TCP_PORT', port === 0 ? 0 : port + 1, problems);
  if (tcp !== 0 && tcp === port) problems.push(`ROLLCALL_TCP_PORT must differ from PORT (both ${port})`);
  return tcp;
};

/** the default of ROLLCALL_SNAPSHOT_EVERY */
export const DEFAULT_SNAPSHOT_EVERY = 10_000;


const DEFAULT_BODY_LIMIT = 64 * 1024;
/** ROLLCALL_BODY_LIMIT: a size as `bytes` reads it (64kb, 1mb, 65536); a typo was taken silently and refused every body */
const bodyLimit = (env: NodeJS.ProcessEnv, problems: string[]): number => {
  const raw = env.ROLLCALL_BODY_LIMIT?.trim();
  if (!raw) return DEFAULT_BODY_LIMIT;
  // the syntax first: `bytes.parse` reads what it does not know as a number ("5000k" as 5,000 bytes)
  const value = /^\d+(?:(?:\.\d+)?\s*(?:b|kb|mb))?$/i.test(raw) ? bytes.parse(raw) : null;
  if (value === null || !Number.isInteger(value) || value < 1024 || value > 16 * 1024 * 1024) {
    problems.push(`ROLLCALL_BODY_LIMIT must be a size between 1kb and 16mb (such as 64kb), got "${raw}"`);
    return DEFAULT_BODY_LIMIT;
  }
  return value;
};

/** ROLLCALL_PROJECTOR: in-process (the default) or external; anything else (a typo of external) is refused */
const projectorMode = (env: NodeJS.ProcessEnv, problems: string[]): 'in-process' | 'external' => {
  const mode = env.ROLLCALL_PROJECTOR?.trim() || 'in-process';
  if (mode === 'in-process' || mode === 'external') return mode;
  problems.push(`ROLLCALL_PROJECTOR must be in-process or external, got "${mode}"`);
  return 'external';
};


/**
 * SMTP_URL and SMTP_FROM: checked at start, as every setting is. A URL without a host (`smtp://`) made nodemailer
 * connect to 127.0.0.1:587, and a sender that is no address was refused by the server: both showed only at the first
 * send, as a logged error and retries, while the invitation was answered 201 (probe 32 F7).
 */
const smtpUrl = (env: NodeJS.ProcessEnv, problems: string[]): string | undefined => {
  const problemsBefore = problems.length;
  const raw = readUrl(env, 'SMTP_URL', ['smtp', 'smtps'], problems);
  if (raw !== undefined && problems.length === problemsBefore && new URL(raw).hostname === '')
    problems.push(`SMTP_URL must name the mail server's host (smtp://host[:port] or smtps://…), got "${raw}"`);
  return raw;
};

const DEFAULT_SMTP_FROM = 'Rollcall <no-reply@rollcall.local>';
const smtpFrom = (env: NodeJS.ProcessEnv, problems: string[]): string => {
  const raw = env.SMTP_FROM?.trim();
  if (!raw) return DEFAULT_SMTP_FROM;
  const parsed = addressparser(raw, { flatten: true });
  if (parsed.length !== 1 || !/^[^\s@<>]+@[^\s@<>.][^\s@<>]*$/.test(parsed[0]!.address))
    problems.push(`SMTP_FROM must be one address, as "Name <name@example.com>" or "name@example.com", got "${raw}"`);
  return raw;
};

/** ROLLCALL_NATS_EVENT_SUBJECTS: operator (default), organization or both */
function natsEventSubjects(env: NodeJS.ProcessEnv, problems: string[]): NatsEventSubjects {
  const raw = env.ROLLCALL_NATS_EVENT_SUBJECTS?.trim() || 'operator';
  if ((NATS_EVENT_SUBJECTS as readonly string[]).includes(raw)) return raw as NatsEventSubjects;
  problems.push(`ROLLCALL_NATS_EVENT_SUBJECTS must be ${NATS_EVENT_SUBJECTS.join(', ')}, got "${raw}"`);
  return 'operator';
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const problems: string[] = [];
  const port = readInt(env, 'PORT', 3000, problems);
  const publicUrl = (readUrl(env, 'ROLLCALL_PUBLIC_URL', ['http', 'https'], problems) ?? `http://localhost:${port}`).replace(/\/+$/, '');
  // links are `${publicUrl}/invite?token=…`: a query or a fragment in it would carry the token off (into the fragment)
  if (/[?#]/.test(publicUrl)) problems.push(`ROLLCALL_PUBLIC_URL must be a base URL without a query or fragment, got "${publicUrl}"`);
  // an empty value is the default, as for every setting (probe 116 F3: `ROLLCALL_DURABILITY=` was refused)
  const durability = env.ROLLCALL_DURABILITY?.trim() || 'full';
  const commitThread = env.ROLLCALL_COMMIT_THREAD?.trim() || 'on';
  if (commitThread !== 'on' && commitThread !== 'off') problems.push(`ROLLCALL_COMMIT_THREAD must be on or off, got "${commitThread}"`);
  if (durability !== 'full' && durability !== 'normal') problems.push(`ROLLCALL_DURABILITY must be full or normal, got "${durability}"`);
  const log = readLogSettings(env, problems);
  const systemApiKey = env.ROLLCALL_SYSTEM_API_KEY?.trim() || undefined;
  if (systemApiKey !== undefined && systemApiKey.length < 24)
    problems.push('ROLLCALL_SYSTEM_API_KEY must be at least 24 characters (or unset, to have one generated)');
  const invitationSecret = env.ROLLCALL_INVITATION_SECRET?.trim() || undefined;
  if (invitationSecret !== undefined && invitationSecret.length < 32)
    problems.push('ROLLCALL_INVITATION_SECRET must be at least 32 characters (or unset, to have one generated)');
  const metricsToken = readMetricsToken(env, problems);
  let eventsTcpTarget: Config['eventsTcpTarget'];
  const target = env.ROLLCALL_EVENTS_TCP_TARGET?.trim();
  if (target) {
    const m = /^([\w.-]+):(\d{1,5})$/.exec(target);
    if (m && Number(m[2]) >= 1 && Number(m[2]) <= 65535) eventsTcpTarget = { host: m[1]!, port: Number(m[2]) };
    else problems.push(`ROLLCALL_EVENTS_TCP_TARGET must be host:port (a port from 1 to 65535), got "${target}"`);
  }
  const config: Config = {
    port,
    dataDir: resolve(env.ROLLCALL_DATA_DIR?.trim() || './data'),
    systemApiKey,
    publicUrl,
    publicUrlGiven: Boolean(env.ROLLCALL_PUBLIC_URL?.trim()),
    invitationTtlSeconds: readInt(env, 'ROLLCALL_INVITATION_TTL_SECONDS', 172_800, problems, 1, 365 * 24 * 3600),
    presenceTimeoutSeconds: readInt(env, 'ROLLCALL_PRESENCE_TIMEOUT_SECONDS', 60, problems, 1, 24 * 3600),
    presenceReplaySeconds: readInt(env, 'ROLLCALL_PRESENCE_REPLAY_SECONDS', 3600, problems, 0, 7 * 24 * 3600),
    presenceStreamsPerOrganization: readInt(env, 'ROLLCALL_PRESENCE_STREAMS_PER_ORGANIZATION', 2_000, problems, 1, 1_000_000),
    heavyReadsPerOrganization: readInt(env, 'ROLLCALL_HEAVY_READS_PER_ORGANIZATION', 2, problems, 1, 1000),
    emailChangesPerHour: readInt(env, 'ROLLCALL_EMAIL_CHANGES_PER_HOUR', 5, problems, 1, 1000),
    presenceStreamsMax: readInt(env, 'ROLLCALL_PRESENCE_STREAMS_MAX', 10_000, problems, 1, 1_000_000),
    quotas: readQuotas(env, problems),
    erasureJournal: erasureJournal(env, problems),
    mailRetryAfterSeconds: readInt(env, 'ROLLCALL_MAIL_RETRY_AFTER_SECONDS', 60, problems, 0, 7 * 24 * 3600),
    mailDispatchEveryMs: readInt(env, 'ROLLCALL_MAIL_DISPATCH_EVERY_MS', 5000, problems, 50, 600_000),
    invitationSecret,
    eventstoreUrl: readEventstoreUrl(env, problems),
    mongoUrl: readMongoUrl(env, problems),
    natsUrl: readUrl(env, 'NATS_URL', ['nats', 'tls', 'ws', 'wss'], problems),
    natsEventSubjects: natsEventSubjects(env, problems),
    smtpUrl: smtpUrl(env, problems),
    smtpFrom: smtpFrom(env, problems),
    tcpPort: tcpPort(env, port, problems),
    eventsTcpTarget,
    durability: durability as Config['durability'],
    commitThread: commitThread === 'on',
    projectorInProcess: projectorMode(env, problems) === 'in-process',
    projectorLingerMs: readInt(env, 'ROLLCALL_PROJECTOR_LINGER_MS', 1000, problems, 0, 60_000),
    erasureRewriteMs: readErasureRewriteMs(env, problems),
    projectorNice: readInt(env, 'ROLLCALL_PROJECTOR_NICE', 10, problems, 0, 19),
    heapGrowingPercent: readInt(env, 'ROLLCALL_HEAP_GROWING_PERCENT', 300, problems, 0, 1000),
    logLevel: log.level,
    logFormat: log.format,
    bodyLimit: bodyLimit(env, problems),
    metricsToken,
    shutdownGraceMs: readInt(env, 'ROLLCALL_SHUTDOWN_GRACE_MS', 0, problems, 0, 600_000),
    snapshotEvery: readInt(env, 'ROLLCALL_SNAPSHOT_EVERY', DEFAULT_SNAPSHOT_EVERY, problems, 0, Number.MAX_SAFE_INTEGER),
    replayMemoryRows: readInt(env, 'ROLLCALL_REPLAY_MEMORY_ROWS', 300_000, problems, 0, 1_000_000_000),
    stateCacheRows: readInt(env, 'ROLLCALL_STATE_CACHE_ROWS', 1_000_000, problems, 0, 1_000_000_000),
    audit: auditConfig(env, publicUrl, problems),
  };
  // read once, here, as every setting (probe 38b F15: app.module read the raw value, and " 1 " started with it off)
  const checkStates = env.ROLLCALL_CHECK_CACHED_STATES?.trim();
  if (checkStates && checkStates !== '1') problems.push(`ROLLCALL_CHECK_CACHED_STATES must be 1 (or unset), got "${checkStates}"`);
  if (checkStates === '1') config.checkCachedStates = true;
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

/** ROLLCALL_ERASURE_JOURNAL: a path, resolved; not inside the data dir, which a restore replaces (ADR 0031) */
function erasureJournal(env: NodeJS.ProcessEnv, problems: string[]): string | undefined {
  const raw = env.ROLLCALL_ERASURE_JOURNAL?.trim();
  if (!raw) return undefined;
  const file = resolve(raw);
  const dataDir = resolve(env.ROLLCALL_DATA_DIR?.trim() || './data');
  if (isWithin(file, dataDir))
    problems.push(`ROLLCALL_ERASURE_JOURNAL must be outside the data dir (${dataDir}): a restore of the data dir would bring back an old journal with it, got "${raw}"`);
  return file;
}

/** The quotas (libs/domain shared/quotas.ts): each at least 1; the defaults are the domain's */
const readQuotas = (env: NodeJS.ProcessEnv, problems: string[]): Quotas => ({
  workspacesPerOrganization: readInt(env, 'ROLLCALL_MAX_WORKSPACES_PER_ORGANIZATION', DEFAULT_QUOTAS.workspacesPerOrganization, problems, 1, 1_000_000),
  teamsPerWorkspace: readInt(env, 'ROLLCALL_MAX_TEAMS_PER_WORKSPACE', DEFAULT_QUOTAS.teamsPerWorkspace, problems, 1, 1_000_000),
  apiKeysPerOrganization: readInt(env, 'ROLLCALL_MAX_API_KEYS_PER_ORGANIZATION', DEFAULT_QUOTAS.apiKeysPerOrganization, problems, 1, 1_000_000),
});

function auditConfig(env: NodeJS.ProcessEnv, publicUrl: string, problems: string[]): AuditConfig {
  const signingKey = env.ROLLCALL_AUDIT_SIGNING_KEY?.trim() || undefined;
  if (signingKey !== undefined)
    try {
      parseSigningKey(signingKey);
    } catch (error) {
      problems.push(`ROLLCALL_AUDIT_SIGNING_KEY: ${(error as Error).message}`);
    }
  let origin = env.ROLLCALL_AUDIT_ORIGIN?.trim() || '';
  const originConfigured = origin !== '';
  if (!origin)
    try {
      origin = originFromPublicUrl(publicUrl);
    } catch {
      origin = 'localhost/audit'; // ROLLCALL_PUBLIC_URL is invalid: already reported
    }
  try {
    assertKeyName(origin);
  } catch {
    problems.push(`ROLLCALL_AUDIT_ORIGIN must be non-empty, without spaces or '+', got "${origin}"`);
  }
  return {
    checkpointMs: readInt(env, 'ROLLCALL_AUDIT_CHECKPOINT_MS', 1000, problems, 50, 3_600_000),
    keepEveryCheckpointHours: readInt(env, 'ROLLCALL_AUDIT_KEEP_EVERY_CHECKPOINT_HOURS', 24, problems, 0, 876_000),
    signingKey,
    origin,
    originConfigured,
  };
}

/**
 * The start's warning when the mailed links lead nowhere (probe 65 F9: a person opening an invitation got the API's
 * developer 404, and nothing had said so before real invitations went out).
 */
export const publicUrlWarning = (config: Pick<Config, 'publicUrl' | 'publicUrlGiven'>): string | undefined =>
  config.publicUrlGiven
    ? undefined
    : // (no "token=" in it: the log's redaction would take the sentence for a link and cut it: probe 66 F8)
      `ROLLCALL_PUBLIC_URL is not set: invitation and email-confirmation links lead to ${config.publicUrl}/invite and ${config.publicUrl}/confirm-email, pages this API does not serve (a person opening one gets a 404); set it to the address of the console's pages before real invitations go out`;

/**
 * The start's warning when mails go nowhere but a file (probe 108 F6): without `SMTP_URL` every invitation and
 * email-confirmation mail is appended to the development outbox in the data dir, which nobody receives and nothing
 * trims (a deployment that forgot it answered `mail: "handed_over"` while its disk filled with addresses and live links).
 */
export const outboxWarning = (config: Pick<Config, 'smtpUrl' | 'dataDir'>): string | undefined =>
  config.smtpUrl
    ? undefined
    : `SMTP_URL is not set: invitation and email-confirmation mails are appended to ${join(config.dataDir, 'outbox.jsonl')} (a mailer for development), not sent: nobody receives them, and the file keeps every address and link until it is removed; set SMTP_URL before real invitations go out`;
