// The workload of bench/append.ts: `writers` concurrent writers over `streams` streams, one event per
// append. Writer w owns the streams s with s % writers === w (so writers never conflict, and each one
// can append with the exact expected revision, as a command handler does) and cycles through them.
import { randomUUID } from 'node:crypto';
import { type NewEvent, newEventId } from '@rollcall/event-store';

export interface Workload {
  readonly events: number;
  readonly writers: number;
  readonly streams: number;
  /** per writer, its appends in order */
  readonly plan: { stream: string; event: NewEvent }[][];
  /** runs every writer concurrently; a writer stops early when `append` returns false */
  run(append: (stream: string, event: NewEvent) => Promise<boolean>): Promise<void>;
  /** every append, writers interleaved round-robin (the order group commits see them in) */
  interleaved(): { stream: string; event: NewEvent }[];
  /** the same appends cut into `parts` consecutive slices (each writer's list cut alike) */
  split(parts: number): Workload[];
}

export function makeWorkload(events: number, writers: number, streams: number): Workload {
  const plan = Array.from({ length: writers }, (_, w) => {
    const owned: string[] = [];
    for (let s = w; s < streams; s += writers) owned.push(`user-${s.toString().padStart(4, '0')}`);
    const count = Math.floor(events / writers) + (w < events % writers ? 1 : 0);
    return Array.from({ length: count }, (_, k) => ({
      stream: owned[k % owned.length]!,
      event: makeEvent(w, k),
    }));
  });
  return fromPlan(plan, streams);
}

function fromPlan(plan: { stream: string; event: NewEvent }[][], streams: number): Workload {
  return {
    events: plan.reduce((sum, mine) => sum + mine.length, 0),
    writers: plan.length,
    streams,
    plan,
    async run(append) {
      await Promise.all(
        plan.map(async (mine) => {
          for (const { stream, event } of mine) if (!(await append(stream, event))) return;
        }),
      );
    },
    interleaved() {
      const out: { stream: string; event: NewEvent }[] = [];
      for (let k = 0; k < plan[0]!.length; k++)
        for (const mine of plan) if (k < mine.length) out.push(mine[k]!);
      return out;
    },
    split(parts) {
      return Array.from({ length: parts }, (_, i) =>
        fromPlan(
          plan.map((mine) =>
            mine.slice(Math.floor((i * mine.length) / parts), Math.floor(((i + 1) * mine.length) / parts)),
          ),
          streams,
        ),
      );
    },
  };
}

/** an event of the size and shape of Rollcall's (≈ 300 bytes of JSON with its metadata) */
function makeEvent(writer: number, k: number): NewEvent {
  return {
    // the ids the API draws (time-ordered): the store's id index as the command path fills it
    id: newEventId(),
    type: 'UserInvited',
    data: {
      workspaceId: `ws-${writer}`,
      organizationId: 'org-1',
      invitationId: `inv-${writer}-${k}`,
      email: `user${writer}.${k}@example.com`,
      access: { level: 'agent', roles: ['support'], restrictions: [] },
      invitedAt: '2026-11-22T06:00:00.000Z',
      expiresAt: '2026-11-24T06:00:00.000Z',
    },
    metadata: { correlationId: randomUUID(), actor: 'user-admin', commandId: `cmd-${writer}-${k}` },
  };
}
