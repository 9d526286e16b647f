import { randomUUID } from 'node:crypto';

/** Who asks, and the request's identity: becomes each appended event's metadata. */
export interface CommandContext {
  actorId: string;
  /** scoped by the caller's key, so two tenants' equal keys never collide */
  idempotencyKey: string;
  correlationId: string;
  /** ISO time of the request: the only clock read on the command path */
  now: string;
}

export const newCommandContext = (over: Partial<CommandContext> & { actorId: string }): CommandContext => {
  const id = randomUUID();
  return {
    idempotencyKey: over.idempotencyKey ?? id,
    correlationId: over.correlationId ?? id,
    now: over.now ?? new Date().toISOString(),
    actorId: over.actorId,
  };
};
