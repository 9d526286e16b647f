// The auditor's CLI (docs/rules.md#verifiable-history): `npm run audit -- <command>`, or the `rollcall-audit` bin.
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ApiError, type ApiOptions, accessCommand, historyCommand, proveCommand, rosterCommand } from './api-commands';
import { createOutput } from './output';
import type * as Proofs from './proofs';
import type * as ReadModels from './read-models';
import { DataDirProblem } from '@rollcall/event-store';
import { checkpointCommand, consistencyCommand } from './consistency';
import { readEventstoreUrl } from '../../api/src/settings';
import { UsageError, loadVerifier, readAuditorFile, reportVerify, verifyCommand } from './verify';

const USAGE = `rollcall-audit <command> [options]   (--json: one JSON document on stdout)

  verify --data-dir DIR [--checkpoint FILE]... [--public-key KEY|FILE] [--threads N] [--clock-skew S] [--read-models]
      re-reads the whole log (events.sqlite in DIR, or EventStoreDB with EVENTSTORE_URL), recomputes the Merkle
      tree, checks every signed checkpoint; exit 1 naming the first position that differs, or the first entry dated
      more than S seconds (default 60) before a checkpoint signed before it was appended. The embedded log is
      hashed on N threads (default: the machine's parallelism; 1: on the main thread only). --read-models: once
      the log verified, derives every read model again from it (the permission history, the user list, teams…)
      and compares them with the stored ones (read.sqlite in DIR, or MongoDB with MONGO_URL), naming each
      document that differs; on a data dir at rest (its read models at the log's head)
  check-proof FILE --public-key KEY|FILE
      checks a proof written by 'prove', offline, against the notary key you trust (GET /v1/audit/public-key,
      kept from before): never against the key the file carries, which whoever wrote the file chose
  prove --position P [--tree-size N] [--checkpoint FILE] [--out FILE]
      the inclusion proof of the event at position P in the latest signed tree (or the tree of N leaves), with the
      checkpoint it checks against. --checkpoint: a checkpoint you kept (the checkpoint command writes one): the proof
      is asked at its size and checked against it — the log keeps the checkpoints of the last day, then one an hour
  checkpoint --public-key KEY|FILE [--out FILE]
      the latest signed checkpoint, checked under the notary key you trust; keep it (--out) to check later logs against
  consistency --checkpoint FILE --public-key KEY|FILE [--kept-public-key KEY|FILE] [--clock-skew S] [--out FILE]
      checks that the API's latest signed tree extends the checkpoint you kept (an RFC 9162 consistency proof, checked
      here, between the two signed roots): exit 1 if the log was cut back or forked since, or if the latest was signed
      more than S seconds (default 60) before the kept one (the notary's clock went back). --out: the latest
      checkpoint, written only once it checked, to keep instead. --kept-public-key: the key your kept checkpoint was
      signed with, when the operator moved the notary to a new key (--public-key, which you got from them out of band;
      docs/verifiable-history.md, "A new signing key")
  access --workspace W --user U --at T [--explain]
  roster --workspace W --at T
  history --workspace W [--from T] [--to T] [--user U] [--by A] [--format csv|json]
      --user: the entries about member U; --by: the changes user A made (--actor is who reads, not a filter)

  API commands use --url (ROLLCALL_URL, default http://localhost:3000), --key (ROLLCALL_API_KEY) and
  --actor (ROLLCALL_ACTOR_ID, the user on whose behalf workspace reads are made). A time T is a date
  (YYYY-MM-DD; as --to, through the end of that day, UTC) or an ISO-8601 time with a zone (Z or +hh:mm).
`;

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
      'data-dir': { type: 'string' },
      checkpoint: { type: 'string', multiple: true },
      'public-key': { type: 'string' },
      'kept-public-key': { type: 'string' },
      'read-models': { type: 'boolean', default: false },
      threads: { type: 'string' },
      'clock-skew': { type: 'string' },
      url: { type: 'string' },
      key: { type: 'string' },
      actor: { type: 'string' },
      workspace: { type: 'string' },
      user: { type: 'string' },
      at: { type: 'string' },
      explain: { type: 'boolean', default: false },
      from: { type: 'string' },
      to: { type: 'string' },
      format: { type: 'string' },
      position: { type: 'string' },
      'tree-size': { type: 'string' },
      out: { type: 'string' },
      by: { type: 'string' },
    },
  });
  const out = createOutput({ json: values.json });
  const [command, ...rest] = positionals;
  if (values.help || !command) {
    process.stdout.write(USAGE);
    return command || values.help ? 0 : 2;
  }
  refuseOptionsNotOf(command, values);
  if (values.out !== undefined) outWritable(values.out);
  const api: ApiOptions = {
    url: values.url ?? process.env.ROLLCALL_URL ?? 'http://localhost:3000',
    key: values.key ?? process.env.ROLLCALL_API_KEY,
    actor: values.actor ?? process.env.ROLLCALL_ACTOR_ID,
  };
  switch (command) {
    case 'verify': {
      const threads = values.threads === undefined ? undefined : Number(values.threads);
      if (threads !== undefined && !(Number.isInteger(threads) && threads >= 1)) throw new UsageError(`--threads ${values.threads}: a whole number of at least 1`);
      // checked as the API checks it: a malformed URL is a usage error, not the client's stack trace (probe 33 F7)
      const problems: string[] = [];
      const eventstoreUrl = readEventstoreUrl(process.env, problems);
      if (problems.length > 0) throw new UsageError(problems.join('; '));
      const readModels = values['read-models'];
      if (readModels && !values['data-dir']) throw new UsageError('--read-models needs --data-dir DIR (its keys, and its read.sqlite unless MONGO_URL is set)');
      const result = await verifyCommand(
        {
          dataDir: values['data-dir'],
          eventstoreUrl,
          checkpoints: values.checkpoint ?? [],
          publicKey: values['public-key'] === undefined ? undefined : checkedKey(values['public-key']),
          threads,
          clockSkewMs: clockSkewMs(values['clock-skew']),
        },
        out,
      );
      // the read models are compared with what a verified log derives: not with a log that failed
      if (!readModels || !result.ok) return reportVerify(result, out);
      // loaded for this command only: the projections and the read store (the other commands start without them)
      const { reportReadModels, verifyReadModels } = require('./read-models') as typeof ReadModels;
      const derived = await verifyReadModels({ dataDir: values['data-dir']!, eventstoreUrl, mongoUrl: process.env.MONGO_URL?.trim() || undefined }, out);
      if (out.json) {
        out.result({ ...result, ok: derived.ok, readModels: derived });
        return derived.ok ? 0 : 1;
      }
      return Math.max(reportVerify(result, out), reportReadModels(derived, out));
    }
    case 'check-proof': {
      const file = rest[0];
      if (!file) throw new UsageError('check-proof FILE --public-key KEY|FILE');
      // loaded for the commands that check proofs only: class-validator (~0.4 s to load) checks the file's shape
      const { checkProof } = require('./proofs') as typeof Proofs;
      const check = checkProof(readProofFile(file), trustedKey(values['public-key'], 'check-proof', ' (the one in the file proves nothing: whoever wrote the file chose it)'));
      if (out.json) out.result(check);
      else if (check.ok)
        out.line(`proof OK: position ${check.position} (${check.event?.type} in ${check.event?.stream}) is leaf ${check.leafIndex} of the signed tree of ${check.treeSize} (${check.origin})`);
      else out.line(`proof FAILED: ${check.problems.join('; ')}`);
      return check.ok ? 0 : 1;
    }
    case 'prove': {
      const kept = values.checkpoint ?? [];
      if (kept.length > 1) throw new UsageError('prove takes one --checkpoint FILE');
      const checkpoint = kept[0] === undefined ? undefined : readAuditorFile(kept[0], '--checkpoint');
      const { code, bundle } = await proveCommand(api, { position: values.position, treeSize: values['tree-size'], checkpoint }, out);
      const text = `${JSON.stringify(bundle, null, 2)}\n`;
      // a proof that does not check is kept as no file (probe 115 F2: a script missing the exit code kept it as
      // evidence), as `consistency` writes its checkpoint only once it checked; shown on stdout without --out
      if (values.out && code === 0) {
        writeOut(values.out, text);
        out.line(`wrote the proof of position ${bundle?.proof.position} to ${values.out}`);
      } else if (values.out) out.line(`nothing written to ${values.out}: the proof does not check`);
      else process.stdout.write(text);
      return code;
    }
    case 'checkpoint': {
      const { code, note } = await checkpointCommand(api, trustedKey(values['public-key'], 'checkpoint'), out);
      if (note && values.out) {
        writeOut(values.out, note);
        out.line(`wrote the checkpoint to ${values.out}`);
      } else if (note && !out.json) process.stdout.write(note);
      return code;
    }
    case 'consistency': {
      const kept = values.checkpoint ?? [];
      if (kept.length !== 1) throw new UsageError('consistency needs one --checkpoint FILE: a checkpoint you kept (the checkpoint command writes one)');
      const trusted = trustedKey(values['public-key'], 'consistency');
      // the key the kept checkpoint was signed with, when the operator moved the notary to a new one (a leaked key)
      const keys = values['kept-public-key'] === undefined ? trusted : { kept: checkedKey(values['kept-public-key'], '--kept-public-key'), latest: trusted };
      const { code, latest } = await consistencyCommand(api, readAuditorFile(kept[0]!), keys, out, clockSkewMs(values['clock-skew']));
      if (latest && values.out) {
        writeOut(values.out, latest);
        out.line(`wrote the latest checkpoint to ${values.out}`);
      }
      return code;
    }
    case 'access':
      return accessCommand(api, { workspace: values.workspace, user: values.user, at: values.at, explain: values.explain }, out);
    case 'roster':
      return rosterCommand(api, { workspace: values.workspace, at: values.at }, out);
    case 'history':
      return historyCommand(api, { workspace: values.workspace, from: values.from, to: values.to, format: values.format, user: values.user, by: values.by });
    default:
      throw new UsageError(`unknown command ${command}`);
  }
}

/** The options each command takes besides the shared ones: another one is a usage error, not dropped (probe 33 F4). */
const OPTIONS_OF: Record<string, readonly string[]> = {
  verify: ['data-dir', 'checkpoint', 'public-key', 'threads', 'clock-skew', 'read-models'],
  'check-proof': ['public-key'],
  prove: ['url', 'key', 'position', 'tree-size', 'checkpoint', 'out'],
  checkpoint: ['url', 'key', 'public-key', 'out'],
  consistency: ['url', 'key', 'checkpoint', 'public-key', 'kept-public-key', 'clock-skew', 'out'],
  access: ['url', 'key', 'actor', 'workspace', 'user', 'at', 'explain'],
  roster: ['url', 'key', 'actor', 'workspace', 'at'],
  history: ['url', 'key', 'actor', 'workspace', 'from', 'to', 'user', 'by', 'format'],
};
const SHARED = ['json', 'help'];

function refuseOptionsNotOf(command: string, values: Record<string, unknown>): void {
  const takes = OPTIONS_OF[command];
  if (!takes) return; // an unknown command: the switch says so
  const given = Object.entries(values).filter(([name, value]) => !SHARED.includes(name) && value !== undefined && value !== false);
  const foreign = given.map(([name]) => name).filter((name) => !takes.includes(name));
  if (foreign.length > 0) throw new UsageError(`${foreign.map((f) => `--${f}`).join(', ')} ${foreign.length > 1 ? 'do' : 'does'} not apply to ${command}`);
}

/** a proof file as JSON; one that cannot be parsed is a usage error too */
function readProofFile(file: string): unknown {
  const text = readAuditorFile(file);
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new UsageError(`${file} is not JSON: a proof is the file 'prove' writes`);
  }
}

/** --clock-skew S: seconds an entry may be dated before a checkpoint signed before it (@rollcall/audit dating.ts) */
function clockSkewMs(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const seconds = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value) || !Number.isFinite(seconds)) throw new UsageError(`--clock-skew ${value}: a number of seconds, 0 or more`);
  return seconds * 1000;
}

/** --public-key, required by the commands that check signatures: the notary key the auditor trusts */
function trustedKey(value: string | undefined, command: string, why = ''): string {
  if (!value) throw new UsageError(`${command} needs --public-key: the notary key you trust (GET /v1/audit/public-key, kept from before)${why}`);
  return checkedKey(value);
}

/**
 * `--out`, before the API is asked (probe 117 F3: a path in no directory, or a directory, was a stack after the check
 * had passed, `consistency` saying "consistent" first): a file in a directory that exists, else a usage error.
 */
function outWritable(file: string): void {
  // (probe 118 F4: an empty one, an unset variable's, was taken as none: the output went to stdout, exit 0)
  if (file.trim() === '') throw new UsageError('--out needs a file to write (it was given empty)');
  if (existsSync(file) && statSync(file).isDirectory()) throw new UsageError(`--out ${file} is a directory: name a file`);
  const dir = dirname(resolve(file));
  if (!existsSync(dir)) throw new UsageError(`--out ${file}: there is no directory ${dir}`);
  if (!statSync(dir).isDirectory()) throw new UsageError(`--out ${file}: ${dir} is not a directory`);
}

/** what `--out` receives; a write that fails all the same (permissions, a full disk) is said in one sentence */
function writeOut(file: string, text: string): void {
  try {
    writeFileSync(file, text);
  } catch (error) {
    throw new UsageError(`--out ${file} cannot be written (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
}

/** a verifier key option (`option`) as given, once it parses as a verifier key (a key that does not parse is a usage error) */
export function checkedKey(value: string, option = '--public-key'): string {
  try {
    loadVerifier(value);
  } catch (error) {
    // a key inline always holds `+`; without one it was meant as a file: a mistyped path is said so, not read as a
    // damaged key (probe 116 F6)
    const why = (error as Error).message;
    const reason = existsSync(value) ? `the file ${value} holds no verifier key: ${why}` : value.includes('+') ? why : `no file ${value} (nor is it a verifier key given inline: ${why})`;
    // the kept key is the one the kept checkpoint was signed with, which the API no longer serves (probe 118 F5)
    throw new UsageError(`${option}: ${reason} (${option === '--kept-public-key' ? 'the key your kept checkpoint was signed with, kept beside it' : 'GET /v1/audit/public-key gives it'})`);
  }
  return value;
}

/**
 * The CLI as a process, for `npm run audit` (below) and the `rollcall-audit` bin (bin/rollcall-audit.cjs) alike: the
 * exit code is 0 checked, 1 a check failed or the API refused, 2 a usage error (then the usage is printed too).
 */
export function run(argv: string[]): Promise<void> {
  // a reader that stopped reading (`… | head`) ends the output, not the process with an EPIPE stack (probe 8)
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    process.exit(process.exitCode ?? 0);
  });
  // --json: "one JSON document on stdout", a refusal's too (probe 33 F7: scripts parsing stdout got nothing)
  const json = argv.includes('--json');
  const refused = (code: 'USAGE' | 'FAILED', message: string) => {
    if (json) process.stdout.write(`${JSON.stringify({ ok: false, problems: [{ code, message }] }, null, 2)}\n`);
  };
  return main(argv).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      const usage = error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') === true;
      refused(usage ? 'USAGE' : 'FAILED', error instanceof Error ? error.message : String(error));
      if (usage) {
        process.stderr.write(`${(error as Error).message}\n\n${USAGE}`);
        process.exitCode = 2;
      } else if (error instanceof ApiError || error instanceof DataDirProblem) {
        process.stderr.write(`${error.message}\n`);
        process.exitCode = 1;
      } else {
        process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
        process.exitCode = 1;
      }
    },
  );
}

if (require.main === module) void run(process.argv.slice(2));
