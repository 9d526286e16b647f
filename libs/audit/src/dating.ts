/**
 * Times an auditor can bound (docs/rules.md#verifiable-history, "Times"; probe 44 F1). Every time in the log — an
 * event's `created` (when the store recorded it) and `metadata.occurredAt` (when it was decided; what rule 17's
 * replays go by) — is the operator's word: an operator who sets the server's clock back can append events dated
 * before checkpoints that auditors already hold, and change what "access at T" answers for a T in the past. Since
 * session 44 the notary signs the time of each checkpoint into it (the extension line `signed-at <ISO time>`); an
 * event appended after a signed checkpoint cannot be dated before that checkpoint was signed. `verify` checks it for
 * every checkpoint stored and kept, within a tolerance for clocks and for requests that waited (`--clock-skew`,
 * default 60 s); `consistency` checks that the latest checkpoint was not signed before the kept one.
 */
import type { AuditProblem } from './verify-log';
import type { Checkpoint } from './note';

/** the extension line of a checkpoint that says when the notary signed it */
export const SIGNED_AT = 'signed-at';
/** how far an entry may be dated before a checkpoint signed before it was appended, by default */
export const DEFAULT_CLOCK_SKEW_MS = 60_000;

export const signedAtLine = (at: Date): string => `${SIGNED_AT} ${at.toISOString()}`;

/** When the notary signed the checkpoint (its `signed-at` line), in ms; undefined for checkpoints signed before session 44. */
export function signedAtOf(checkpoint: Pick<Checkpoint, 'extensions'>): number | undefined {
  for (const line of checkpoint.extensions) {
    const time = line.startsWith(`${SIGNED_AT} `) ? line.slice(SIGNED_AT.length + 1) : '';
    if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z$/.test(time)) continue;
    const at = Date.parse(time);
    if (!Number.isNaN(at)) return at;
  }
  return undefined;
}

/** A signed checkpoint's size and time: no entry past `size` leaves may be dated before `at`. */
export interface SignedBound {
  size: number;
  at: number;
  label: string;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** What a DatingCheck found over the entries it was fed: how many, and the first (a verifier thread sends it back). */
export interface Dated {
  count: number;
  first?: { position: string; field: 'recorded' | 'decided'; time: number; bound: SignedBound };
}

/** an event's decision time (`metadata.occurredAt`) from its stored metadata text, in ms; undefined when it has none */
export function occurredAtInText(metadata: unknown): number | undefined {
  if (typeof metadata !== 'string') return undefined;
  const m = /"occurredAt"\s*:\s*"([^"]+)"/.exec(metadata);
  return m ? Date.parse(m[1]!) : undefined;
}

/**
 * Fed the log's entries in order (leaf index, position, `created`, `occurredAt`) — from any leaf on: a verifier thread
 * feeds its range — reports those dated, recorded or decided, more than `skewMs` before a checkpoint that was signed
 * before they were appended. The first one is named, with how many there are.
 */
export class DatingCheck {
  private readonly bounds: SignedBound[];
  private next = 0;
  private bound: SignedBound | undefined;
  private first: Dated['first'];
  private count = 0;

  constructor(bounds: readonly SignedBound[], private readonly skewMs = DEFAULT_CLOCK_SKEW_MS) {
    this.bounds = [...bounds].sort((a, b) => a.size - b.size);
  }

  /** whether the entry at this leaf index comes after a signed checkpoint (else its times need not be read) */
  wants(index: number): boolean {
    return this.bounds.length > 0 && this.bounds[0]!.size <= index;
  }

  add(index: number, position: bigint | string, created: number | undefined, occurredAt: number | undefined): void {
    // the latest-signed checkpoint among those this entry came after (a later, larger checkpoint signed earlier: a clock
    // that went back, reported by the entries it lets through no more than by the earlier bound)
    while (this.next < this.bounds.length && this.bounds[this.next]!.size <= index) {
      const b = this.bounds[this.next++]!;
      if (!this.bound || b.at > this.bound.at) this.bound = b;
    }
    if (!this.bound) return;
    const limit = this.bound.at - this.skewMs;
    for (const [field, time] of [['recorded', created], ['decided', occurredAt]] as const) {
      if (time === undefined || Number.isNaN(time) || time >= limit) continue;
      this.count++;
      this.first ??= { position: String(position), field, time, bound: this.bound };
      return;
    }
  }

  /** what was found so far */
  result(): Dated {
    return { count: this.count, ...(this.first && { first: this.first }) };
  }

  /** what a verifier thread found in a range that comes next in log order */
  absorb(dated: Dated | undefined): void {
    if (!dated || dated.count === 0) return;
    this.count += dated.count;
    this.first ??= dated.first;
  }

  problems(): AuditProblem[] {
    if (!this.first) return [];
    const { position, field, time, bound } = this.first;
    const more = this.count > 1 ? ` (${this.count} entries so, the first named)` : '';
    return [
      {
        code: 'ENTRY_BACKDATED',
        message: `the entry at position ${position} is ${field} at ${iso(time)}, before ${bound.label} was signed at ${iso(bound.at)}, yet it came after that checkpoint's ${bound.size} entries: the server's clock was set back when it was written${more}`,
        size: bound.size,
      },
    ];
  }
}
