/**
 * The settings the API (config.ts), the projector process (apps/projector/src/config.ts) and the audit CLI read
 * alike, and how a bad one is reported. Nothing here imports the API's framework: the CLI and the projector process
 * load this module without loading NestJS (the audit CLI took ~2.5 s to print its usage when it came through
 * config.ts; session 47).
 */

/**
 * The sentence for a port this process could not listen on (EADDRINUSE, EACCES), naming its setting as a bad value
 * is named (ConfigError's form); undefined for any other failure. The API's and the projector's entry points use it.
 */
export function portProblem(setting: string, port: number, error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  if (code !== 'EADDRINUSE' && code !== 'EACCES') return undefined;
  const why = code === 'EADDRINUSE' ? 'is in use by another process (EADDRINUSE)' : 'may not be listened on by this user (EACCES)';
  return `Invalid configuration:\n  - ${setting} ${port} ${why}: stop that process, or choose another port`;
}

export class ConfigError extends Error {
  constructor(problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

/**
 * A whole-number setting, as the API and the projector (apps/projector/src/config.ts) both read one: decimal digits,
 * blanks around them ignored (an env file's trailing space or CR); unset or empty, the default. A value of blanks only
 * is refused: Number() read it as 0 (a random port, the mail dispatcher or snapshots off, silently), and took 0x10,
 * 0b1 or 1e3 as numbers (probe 32 F6).
 */
export const readInt = (env: NodeJS.ProcessEnv, name: string, fallback: number, problems: string[], min = 0, max = 65535): number => {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const text = raw.trim();
  const value = /^\d{1,16}$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    problems.push(
      text === ''
        ? `${name} is blank ("${raw}"): set an integer between ${min} and ${max}, or leave it empty for the default (${fallback})`
        : `${name} must be an integer between ${min} and ${max}, got "${raw}"`,
    );
    return fallback;
  }
  return value;
};

/**
 * ROLLCALL_ERASURE_REWRITE_SECONDS (default 3600; 0 … 7 days; 0: after every deletion), as the API and the projector
 * read it: at most one rewrite of read.sqlite for deletions per this many seconds (rule 12 at rest; docs/adr/0029).
 * In ms, as ProjectorOptions.erasureRewriteMinIntervalMs takes it.
 */
export const readErasureRewriteMs = (env: NodeJS.ProcessEnv, problems: string[]): number =>
  readInt(env, 'ROLLCALL_ERASURE_REWRITE_SECONDS', 3600, problems, 0, 7 * 86_400) * 1000;

/** A URL setting: unset or blank, undefined; else it must parse and start with one of `schemes` */
export const readUrl = (env: NodeJS.ProcessEnv, name: string, schemes: string[], problems: string[]): string | undefined => {
  const raw = env[name]?.trim();
  if (!raw) return undefined;
  try {
    const parsed = new URL(raw);
    if (!schemes.includes(parsed.protocol.replace(/:$/, '')))
      problems.push(`${name} must start with ${schemes.map((s) => `${s}://`).join(' or ')}, got "${raw}"`);
  } catch {
    problems.push(`${name} is not a valid URL: "${raw}"`);
  }
  return raw;
};

/** EVENTSTORE_URL, checked as the API and the projector (apps/projector/src/config.ts) both read it */
export const readEventstoreUrl = (env: NodeJS.ProcessEnv, problems: string[]): string | undefined =>
  readUrl(env, 'EVENTSTORE_URL', ['esdb', 'esdb+discover', 'kurrentdb', 'kurrentdb+discover', 'kurrent', 'kurrent+discover'], problems);

/** MONGO_URL, checked as the API and the projector (apps/projector/src/config.ts) both read it */
export const readMongoUrl = (env: NodeJS.ProcessEnv, problems: string[]): string | undefined => readUrl(env, 'MONGO_URL', ['mongodb', 'mongodb+srv'], problems);

/** ROLLCALL_METRICS_TOKEN as both processes read it: a problem for the configuration when it is too short */
export function readMetricsToken(env: NodeJS.ProcessEnv, problems: string[]): string | undefined {
  const token = env.ROLLCALL_METRICS_TOKEN?.trim() || undefined;
  if (token !== undefined && token.length < 16) problems.push('ROLLCALL_METRICS_TOKEN must be at least 16 characters (or unset, to turn /metrics off)');
  return token;
}
