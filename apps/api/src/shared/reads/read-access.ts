import { ACTOR_ID_SCHEMA, POSITION_HEADER_SCHEMA } from '../http/headers';
import { Inject, Injectable } from '@nestjs/common';
import { type ReadScope, type WorkspaceContext, activeMember, checkRead, isOrgAdmin, notAMember, organizationClosed } from '@rollcall/domain';
import type { EventStore } from '@rollcall/event-store';
import { InvalidQueryError } from '@rollcall/read-store';
import { READ_SIDE, type ReadSide } from '../../infrastructure/read-side';
import { type AuthedRequest, type Principal, actorIdOf } from '../auth';
import { messageActor, ownOrganization } from '../http/messages';
import { ProblemException, problem } from '../http/problem';
import { DomainException } from '../command-path/stream-handler';
import { StreamStates } from '../command-path/stream-states';
import { EVENT_STORE } from '../tokens';
import { type WorkspaceRef, loadWorkspace, resolveWorkspace } from '../command-path/targets';

export const READ_ACTOR_HEADER = { name: 'X-Actor-Id', required: true, description: 'the user on whose behalf the console reads', schema: ACTOR_ID_SCHEMA };
/**
 * Optional. @Headers() takes the same name (Nest reads it case-insensitively), so OpenAPI merges the parameter
 * with this description instead of listing a second, required `x-min-position`.
 */
/** X-Actor-Id on the reads the system key may make too */
export const OPERATOR_READ_ACTOR_HEADER = { ...READ_ACTOR_HEADER, required: false, description: "the org admin reading, with the organization's key; not with the system key" };

/** the organization read and by whom: the system key (the operator) reads any organization, as no one (no actor) */
export interface Reader {
  organizationId: string;
  actorId: string | undefined;
}
export const readerOf = (req: AuthedRequest, org: string): Reader =>
  req.principal.kind === 'system' ? { organizationId: org, actorId: undefined } : { organizationId: ownOrganization(req.principal, org), actorId: actorIdOf(req) };
/** the same for a message: its `organizationId` and envelope `actorId` */
export const messageReaderOf = (principal: Principal, m: { organizationId: string; actorId?: string | null }): Reader =>
  principal.kind === 'system' ? { organizationId: m.organizationId, actorId: undefined } : { organizationId: ownOrganization(principal, m.organizationId), actorId: messageActor(m.actorId ?? undefined) };

export const MIN_POSITION_HEADER = {
  name: 'X-Min-Position',
  required: false,
  schema: POSITION_HEADER_SCHEMA,
  description:
    'the `position` of an earlier write: the read waits (up to 5 s) until the read models include it, then answers 503 `READ_MODEL_BEHIND`; a position past the end of the log (no write answered it yet) is 400 `VALIDATION_FAILED` at once',
};
export const WAIT_MS = 5000;

/** A read model refused the query (bad cursor, bad range): a 400, never a 500. */
export const badQuery = (error: unknown): never => {
  if (error instanceof InvalidQueryError) {
    if (error.field === 'cursor')
      throw new ProblemException(
        problem(400, 'VALIDATION_FAILED', `The cursor is not one this list gave out for this query (${error.message}); start again without it.`, [
          { field: 'cursor', message: error.message },
        ]),
      );
    const field = error.field ?? 'query';
    throw new ProblemException(problem(400, 'VALIDATION_FAILED', `The request is not valid: ${error.message}.`, [{ field, message: error.message }]));
  }
  throw error;
};

/** The position a read waits for: the `X-Min-Position` header's value, or a message's `minPosition` field. */
export type MinPosition = string | { position: string; field: 'minPosition' };

/**
 * A position asked for (`X-Min-Position`, a message's `minPosition`) is a position a write answered: refused with 400
 * otherwise, also by the reads that answer from the decision states and need not wait for it (probe 39c F4: they took
 * any header). The problem names what the caller sent: the header over HTTP, the message's field over a transport.
 */
export function checkMinPosition(minPosition: MinPosition): [position: string, field: string] {
  const [position, field] = typeof minPosition === 'string' ? [minPosition, MIN_POSITION_HEADER.name] : [minPosition.position, minPosition.field];
  // more digits than any log position has: past the end of every log, said as such (probe 92 F6: told it was malformed)
  if (/^\d{20,}$/.test(position)) throw beyondTheLog(field);
  if (!/^\d{1,19}$/.test(position))
    throw new ProblemException(problem(400, 'VALIDATION_FAILED', `${field} must be a position returned by a write.`, [{ field, message: 'must be a non-negative integer' }]));
  return [position, field];
}

const beyondTheLog = (field: string) =>
  new ProblemException(
    problem(400, 'VALIDATION_FAILED', `${field} is beyond the end of the event log; send the position a write answered.`, [{ field, message: 'is beyond the end of the event log' }]),
  );

/**
 * checkMinPosition, and a position past the end of the log refused too: no write answered it, and waiting for it could
 * only end in a 503. The reads that wait and those that answer from the decision states alike (probe 45 F4: these
 * took a position past the end).
 */
export async function checkMinPositionInLog(minPosition: MinPosition, events: Pick<EventStore, 'headPosition'>): Promise<[position: string, field: string]> {
  const [position, field] = checkMinPosition(minPosition);
  if (BigInt(position) > (await events.headPosition())) throw beyondTheLog(field);
  return [position, field];
}

/** 503 READ_MODEL_BEHIND: the read models did not reach `position` within WAIT_MS; where they are, when known (probe 95 F3) */
export const readModelBehind = (position: string, at: bigint | undefined): ProblemException =>
  new ProblemException(
    problem(
      503,
      'READ_MODEL_BEHIND',
      at !== undefined && at >= 0n
        ? `The read models have not reached position ${position} yet (they are at ${at}); retry shortly.`
        : // none built since a reset: retrying helps only once a projector or a rebuild has run (probe 96 F4)
          `The read models have not reached position ${position}: one of them has no checkpoint (not built since a reset: a rebuild runs, or no projector does; /health names them); retry once it is built.`,
    ),
  );

/** A message's `minPosition`, named as such in the problems it earns. */
export const messageMinPosition = (position: string | undefined): MinPosition | undefined =>
  position === undefined ? undefined : { position, field: 'minPosition' };

/**
 * Before every read: the workspace within the caller's organization, the actor's authority to read it (from the
 * decision state, not a read model: docs/rules.md#rule-18), and read-your-writes (`X-Min-Position`).
 */
@Injectable()
export class ReadAccess {
  constructor(
    @Inject(StreamStates) private readonly states: StreamStates,
    @Inject(READ_SIDE) private readonly readSide: ReadSide,
    @Inject(EVENT_STORE) private readonly events: EventStore,
  ) {}

  async prepare(principal: Principal, ws: string, actorId: string, scope: ReadScope, minPosition?: MinPosition, target?: string): Promise<WorkspaceRef> {
    return (await this.prepareAs(principal, ws, actorId, scope, minPosition, target)).ref;
  }

  /**
   * prepare, and whether the reader is an org admin, to whom the organization's users are known (rule 5, ADR 0023): who
   * an invitation still pending is bound to is theirs to read, not a member manager's (probe 84 F2: a manager learned
   * from the user list which addresses are the organization's users, and their ids, by inviting them). From the states
   * the check loaded: no second load.
   */
  async prepareAs(principal: Principal, ws: string, actorId: string, scope: ReadScope, minPosition?: MinPosition, target?: string): Promise<{ ref: WorkspaceRef; orgAdmin: boolean; context: WorkspaceContext }> {
    const ref = await resolveWorkspace(this.states, principal, ws);
    const { context } = await loadWorkspace(this.states, ref);
    // a closed organization's keys are revoked; a stream ticket taken before is refused as what it is (probe 77 F8)
    if (context.org.closingSince !== undefined) throw new DomainException(organizationClosed(context.org));
    const refused = checkRead(context, actorId, scope, target);
    if (refused) throw new DomainException(refused);
    if (minPosition !== undefined) await this.caughtUp(minPosition);
    return { ref, orgAdmin: isOrgAdmin(context.org, actorId), context };
  }

  /** a position asked of a read answered from the decision states: checked (400 when malformed or past the log's end), not waited for */
  async checkedOnly(minPosition: MinPosition | undefined): Promise<void> {
    if (minPosition !== undefined) await checkMinPositionInLog(minPosition, this.events);
  }

  /**
   * read-your-writes for a read of the read models: waits (5 s at most) until they include `minPosition`. An HTTP
   * read's header (a string) was waited for by ReadPositionGuard before the read's own checks: checked at once here.
   */
  async caughtUp(minPosition: MinPosition): Promise<void> {
    const [position] = await checkMinPositionInLog(minPosition, this.events);
    if (!(await this.readSide.waitFor(BigInt(position), typeof minPosition === 'string' ? 0 : WAIT_MS))) throw readModelBehind(position, await this.readSide.position());
  }

  /**
   * Whether `userId` is an active member of the workspace as its decision state says now: a member the read models do
   * not show is one they have not caught up with (lagging, or being rebuilt by another process), which is a 503, not
   * "not a member" (probe 30: 486 of ~1,450 reads of one member during rebuilds answered 404 NOT_A_MEMBER).
   */
  async activeMemberNow(ref: WorkspaceRef, userId: string): Promise<boolean> {
    const { context } = await loadWorkspace(this.states, ref);
    return activeMember(context, userId) !== undefined;
  }

  /** why `userId` is no member here now, in the decision states' words (deleted, an invitation's id…: probe 97 F3) */
  async whyNotAMember(ref: WorkspaceRef, userId: string): Promise<DomainException> {
    const { context } = await loadWorkspace(this.states, ref);
    return new DomainException(notAMember(context, userId));
  }

}
