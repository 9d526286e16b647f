// `checkpoint` and `consistency`: an auditor with an API key keeps signed checkpoints and later checks that the log
// still extends them (docs/rules.md#verifiable-history, "Proofs"; probe 33 O2). Nothing here trusts the API: every
// checkpoint is opened under the key the auditor trusts (--public-key) and the proof is checked here.
import { type Checkpoint, DEFAULT_CLOCK_SKEW_MS, openCheckpoint, signedAtOf, verifyConsistency } from '@rollcall/audit';
import { type ApiOptions, getJson, getText } from './api-commands';
import type { Output } from './output';
import { keptCheckpointText, loadVerifier } from './verify';

/** What `GET /v1/audit/proofs/consistency` answers (base64 hashes). */
export interface ConsistencyAnswer {
  from: number;
  to: number;
  hashes: string[];
}

export interface ConsistencyCheck {
  ok: boolean;
  problems: string[];
  origin?: string;
  kept?: { size: number; root: string };
  latest?: { size: number; root: string };
}

const summary = (c: Checkpoint) => ({ size: c.size, root: c.root.toString('base64') });

/** a signed checkpoint opened under the trusted key, or the sentence that says why it is not one */
function opened(note: string, publicKey: string, whose: string): Checkpoint | string {
  try {
    return openCheckpoint(note, loadVerifier(publicKey));
  } catch (error) {
    return `${whose} does not verify under the key you trust: ${(error as Error).message}`;
  }
}

/**
 * Whether the tree of the `latest` checkpoint extends the tree of the `kept` one: both signed under `publicKey` (or, after
 * the operator moved the notary to a new key — a leaked one —, the kept one under `kept` and the latest under `latest`:
 * the tree is a function of the log, so the new key's tree has the old one's roots at every size), and
 * (when the latest is larger) the consistency proof leading from the kept root to the latest root (RFC 9162
 * §2.1.4.2). The roots are the signed ones, never the proof's `fromRoot`/`toRoot`, which whoever answered chose.
 * `proof` is asked for only when the sizes differ.
 */
export async function checkConsistency(
  keptNote: string,
  latestNote: string,
  publicKey: string | { kept: string; latest: string },
  proof: (from: number, to: number) => Promise<ConsistencyAnswer>,
  clockSkewMs = DEFAULT_CLOCK_SKEW_MS,
): Promise<ConsistencyCheck> {
  const keys = typeof publicKey === 'string' ? { kept: publicKey, latest: publicKey } : publicKey;
  const kept = opened(keptNote, keys.kept, 'your kept checkpoint');
  if (typeof kept === 'string') return { ok: false, problems: [kept] };
  const latest = opened(latestNote, keys.latest, "the API's latest checkpoint");
  if (typeof latest === 'string') return { ok: false, problems: [latest], origin: kept.origin, kept: summary(kept) };
  const result = { origin: kept.origin, kept: summary(kept), latest: summary(latest) };
  const failed = (problem: string): ConsistencyCheck => ({ ok: false, problems: [problem], ...result });
  // one key signs one log (its origin is the key's name, openCheckpoint checks it): two origins cannot both open; a new
  // key of the same log keeps its name
  if (latest.origin !== kept.origin) return failed(`the latest checkpoint names the log "${latest.origin}", your kept one "${kept.origin}": another log`);
  if (latest.size < kept.size)
    return failed(`the latest signed tree has ${latest.size} leaves, fewer than the ${kept.size} of your kept checkpoint: the log was cut back since`);
  if (latest.size === kept.size)
    return latest.root.equals(kept.root)
      ? { ok: true, problems: [], ...result }
      : failed(`the latest signed tree has your kept checkpoint's ${kept.size} leaves and another root: the log was forked`);
  const answer = await proof(kept.size, latest.size);
  if (answer.from !== kept.size || answer.to !== latest.size)
    return failed(`the API proved ${answer.from} → ${answer.to} leaves when asked for ${kept.size} → ${latest.size}`);
  const hashes = answer.hashes.map((h) => Buffer.from(h, 'base64'));
  if (!verifyConsistency(kept.size, latest.size, hashes, kept.root, latest.root))
    return failed(`the signed tree of ${latest.size} leaves does not extend your kept checkpoint of ${kept.size}: the log's first ${kept.size} entries are not those it signed then`);
  // a later tree signed earlier: the notary's clock went back, and the entries since may be dated before your checkpoint
  // (probe 44 F1: rule 17's answers about the past changed); `verify` names them where the log can be read whole
  const [keptAt, latestAt] = [signedAtOf(kept), signedAtOf(latest)];
  if (keptAt !== undefined && latestAt !== undefined && latestAt < keptAt - clockSkewMs)
    return failed(
      `the signed tree of ${latest.size} leaves was signed at ${new Date(latestAt).toISOString()}, before your kept checkpoint of ${kept.size} (signed at ${new Date(keptAt).toISOString()}): the server's clock went back, and the entries since may be dated before your checkpoint`,
    );
  return { ok: true, problems: [], ...result };
}

/** `checkpoint`: the API's latest signed checkpoint, opened under the trusted key, to keep. */
export async function checkpointCommand(api: ApiOptions, publicKey: string, out: Output): Promise<{ code: number; note?: string }> {
  const note = await latestCheckpoint(api);
  const checkpoint = opened(note, publicKey, "the API's latest checkpoint");
  if (typeof checkpoint === 'string') {
    if (out.json) out.result({ ok: false, problems: [checkpoint] });
    else out.error(`checkpoint FAILED: ${checkpoint}`);
    return { code: 1 };
  }
  if (out.json) out.result({ ok: true, problems: [], origin: checkpoint.origin, ...summary(checkpoint), note });
  return { code: 0, note };
}

/** `consistency`: the API's latest signed tree checked to extend the checkpoint the auditor kept. */
export async function consistencyCommand(api: ApiOptions, keptText: string, publicKey: string | { kept: string; latest: string }, out: Output, clockSkewMs?: number): Promise<{ code: number; latest?: string }> {
  const latest = await latestCheckpoint(api);
  const check = await checkConsistency(
    keptCheckpointText(keptText),
    latest,
    publicKey,
    (from, to) => getJson<ConsistencyAnswer>(api, `/v1/audit/proofs/consistency?from=${from}&to=${to}`),
    clockSkewMs,
  );
  if (out.json) out.result(check);
  else if (check.ok)
    out.line(
      check.latest!.size === check.kept!.size
        ? `consistent: the latest signed tree is your kept checkpoint (${check.kept!.size} leaves, ${check.origin}); no entry since`
        : `consistent: the signed tree of ${check.latest!.size} leaves extends your kept checkpoint of ${check.kept!.size} (${check.origin})`,
    );
  else out.line(`consistency FAILED: ${check.problems.join('; ')}`);
  return { code: check.ok ? 0 : 1, latest: check.ok ? latest : undefined };
}

const latestCheckpoint = (api: ApiOptions): Promise<string> => getText(api, '/v1/audit/checkpoint', 'text/plain');
