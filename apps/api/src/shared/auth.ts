import { type CanActivate, type ExecutionContext, Inject, Injectable, Optional, SetMetadata, createParamDecorator } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import type { EventStore } from '@rollcall/event-store';
import { SYSTEM_ACTOR } from '@rollcall/domain';
import { StreamStates } from './command-path/stream-states';
import { parseOrgKey, safeEqual, sha256 } from '../shared/secrets';
import { EVENT_STORE, LOCAL_SECRETS } from '../shared/tokens';
import { ProblemException, problem } from './http/problem';
import { timesSent } from './http/headers';
import { foldIdCase } from './http/dtos';
import { ID_PATTERN } from './http/id-pattern';
import { CALLER } from './caller';

export type Principal = { kind: 'system' } | { kind: 'organization'; organizationId: string; keyId: string } | { kind: 'anonymous' };

export const PUBLIC = 'rollcall:public';
export const SYSTEM_ONLY = 'rollcall:system-only';
/** No API key: authenticated otherwise (the invitation token) or not at all (health, docs). */
export const Public = () => SetMetadata(PUBLIC, true);
/** Needs the system key. */
export const SystemOnly = () => SetMetadata(SYSTEM_ONLY, true);
export const SYSTEM_OR_ORGANIZATION = 'rollcall:system-or-organization';
/** an operation of an organization the system key may do too (the operator issuing a key to an organization that lost its own) */
export const SystemOrOrganization = () => SetMetadata(SYSTEM_OR_ORGANIZATION, true);

export type AuthedRequest = FastifyRequest & { principal: Principal };

const unauthorized = (detail: string) => new ProblemException(problem(401, 'UNAUTHENTICATED', detail));

/**
 * The API key of `Authorization: Bearer <key>`, or undefined without one. Two Authorization headers are refused
 * (401): Node keeps the first, so a proxy in front that checks the last (or both) would authorize another tenant
 * than the one the API acts for (probe 36 F3).
 */
export function bearerKey(req: Pick<FastifyRequest, 'headers' | 'raw'>): string | undefined {
  const sent = timesSent(req.raw.rawHeaders, 'authorization');
  if (sent > 1) throw unauthorized(`Send one Authorization header with your API key: this request has ${sent}.`);
  const header = req.headers.authorization;
  return header ? /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1] : undefined;
}

/** how many identified keys an Authenticator remembers (a key is ~110 bytes: ~2 MB at most) */
const MAX_KNOWN_KEYS = 10_000;

/**
 * API keys: the system key is compared by hash; an organization key names its organization and key id, and
 * its secret's SHA-256 is checked against the organization's stream.
 */
@Injectable()
export class Authenticator {
  constructor(
    @Inject(StreamStates) private readonly repo: StreamStates,
    @Inject(LOCAL_SECRETS) private readonly secrets: { systemKeyHash: string },
    @Optional() @Inject(EVENT_STORE) private readonly store?: Pick<EventStore, 'othersEpoch'>,
  ) {}

  /**
   * Keys identified before, and whom they identify: one that matched matches until it is revoked (`forget`: the
   * revoking process at once, every other when its log subscription hears the ApiKeyRevoked), and a request with it
   * needs neither of its two SHA-256s (~4 % of the main thread per heartbeat at bench:presence's saturation, session
   * 31). Only keys that matched are kept; past MAX_KNOWN_KEYS the oldest goes. With `epoch`, the store's
   * `othersEpoch` when it was last checked: once another process has committed since, the key is checked against the
   * organization again before it is taken (probe 40b F1: a key revoked on another replica read for ~0.1 s there).
   */
  private readonly known = new Map<string, { principal: Principal; secretHash?: string; epoch?: number }>();

  /** a revoked key: identified again (and refused) at its next use */
  forget(organizationId: string, keyId: string): void {
    for (const [key, { principal }] of this.known)
      if (principal.kind === 'organization' && principal.organizationId === organizationId && principal.keyId === keyId) this.known.delete(key);
  }

  async identify(key: string): Promise<Principal> {
    const epoch = this.store?.othersEpoch?.();
    const known = this.known.get(key);
    if (known && (known.principal.kind !== 'organization' || epoch === undefined || epoch === known.epoch)) return known.principal;
    if (known?.principal.kind === 'organization') {
      // another process wrote since: this one may not have heard of a revocation yet (its log subscription polls)
      if (!(await this.onFile(known.principal.organizationId, known.principal.keyId, known.secretHash!))) {
        this.known.delete(key);
        throw unauthorized('The API key is not valid.');
      }
      known.epoch = epoch;
      return known.principal;
    }
    const identified = await this.identifyByHash(key);
    this.known.set(key, { ...identified, epoch });
    if (this.known.size > MAX_KNOWN_KEYS) this.known.delete(this.known.keys().next().value!);
    return identified.principal;
  }

  private async identifyByHash(key: string): Promise<{ principal: Principal; secretHash?: string }> {
    if (safeEqual(sha256(key), this.secrets.systemKeyHash)) return { principal: { kind: 'system' } };
    const parsed = parseOrgKey(key);
    if (parsed) {
      const secretHash = sha256(parsed.secret);
      if (await this.onFile(parsed.organizationId, parsed.keyId, secretHash))
        return { principal: { kind: 'organization', organizationId: parsed.organizationId, keyId: parsed.keyId }, secretHash };
    }
    throw unauthorized('The API key is not valid.');
  }

  /**
   * whether the organization, as the log has it, holds the key (a key may have been revoked since this process last
   * loaded it; a stream that has not moved is answered from memory)
   */
  private async onFile(organizationId: string, keyId: string, secretHash: string): Promise<boolean> {
    const onFile = (await this.repo.organization(organizationId)).state.apiKeys.get(keyId);
    return onFile !== undefined && safeEqual(onFile.secretHash, secretHash);
  }
}

/** A route's marks: public (no key), the system key only, or the system key and an organization's alike. */
interface Marks {
  isPublic: boolean;
  systemOnly: boolean;
  either: boolean;
}

/** `Authorization: Bearer <api key>` on every route but the public ones; system-only routes need the system key. */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  /**
   * Each route's PUBLIC and SYSTEM_ONLY marks, by handler and controller: decorators set them when the classes are
   * defined, so they are read once per route, not twice per request through the reflector (Reflect.getMetadata walks).
   */
  private readonly marks = new WeakMap<object, WeakMap<object, Marks>>();

  constructor(
    @Inject(Reflector) private readonly reflector: Reflector,
    @Inject(Authenticator) private readonly auth: Authenticator,
    @Inject(EVENT_STORE) private readonly store: EventStore,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    // every request and message passes here first: its reads see what other replicas answered before it came (a key
    // or an invitation another replica just made; EventStore.requestBegins), public routes' too (an invitation's link)
    this.store.requestBegins?.();
    const marks = this.marksOf(context.getHandler(), context.getClass());
    const { isPublic } = marks;
    if (context.getType() !== 'http') {
      // A message's key travels in its payload: it is checked here, before the fields are validated, as an HTTP
      // request's is (a wrong key is 401, the system key on an organization's operation 403, and an organization key
      // on a system operation 403, whatever else is wrong with the message: probe 13 found 400 for a bad field
      // first). The gateway (messages.ts) identifies the key again for the principal it runs with. A payload that is
      // no object is named by the payload guard (json-body.ts): it could not have carried a key.
      if (isPublic) return true;
      const payload = context.switchToRpc().getData<unknown>();
      if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) return true;
      const key = (payload as { apiKey?: unknown }).apiKey;
      // no key, or something that cannot be one (a number, an array): 401 before any field is named to the caller, as
      // over HTTP (probe 14: `apiKey: 123` answered 400 listing the message's invalid fields)
      if (!key || typeof key !== 'string') throw unauthorized("Send your API key in the message's `apiKey` field.");
      const principal = await this.auth.identify(key);
      // for the message's log line (logging-messages.ts), as an HTTP request's principal is left for its line below
      (payload as Record<symbol, unknown>)[CALLER] = principal;
      this.checkKind(principal, marks);
      return true;
    }
    const req = context.switchToHttp().getRequest<AuthedRequest>();
    if (isPublic) {
      req.principal = { kind: 'anonymous' };
      return true;
    }
    const key = bearerKey(req);
    if (!key) throw unauthorized('Send your API key as `Authorization: Bearer <api key>`.');
    req.principal = await this.auth.identify(key);
    // on Node's request too: the request's log line names who made it (shared/caller.ts callerFields; probe 69 F9)
    if (req.raw) (req.raw as typeof req.raw & { principal?: Principal }).principal = req.principal;
    this.checkKind(req.principal, marks);
    return true;
  }

  /** the system key for a system operation, an organization's key for everything else (403 otherwise) */
  private checkKind(principal: Principal, { systemOnly, either }: Marks): void {
    if (either) return;
    if (systemOnly && principal.kind !== 'system')
      throw new ProblemException(problem(403, 'INSUFFICIENT_AUTHORITY', 'This operation needs the system API key.'));
    if (!systemOnly && principal.kind === 'system') throw systemKeyRefused();
  }

  private marksOf(handler: object, controller: object): Marks {
    const byController = this.marks.get(handler) ?? this.marks.set(handler, new WeakMap()).get(handler)!;
    let marks = byController.get(controller);
    if (!marks) {
      const targets = [handler, controller] as Parameters<Reflector['getAllAndOverride']>[1];
      const mark = (key: string) => !!this.reflector.getAllAndOverride<boolean>(key, targets);
      marks = { isPublic: mark(PUBLIC), systemOnly: mark(SYSTEM_ONLY), either: mark(SYSTEM_OR_ORGANIZATION) };
      byController.set(controller, marks);
    }
    return marks;
  }
}

/** 403 to the system key on an operation of an organization (HTTP routes, presence streams, message patterns alike). */
export const systemKeyRefused = (): ProblemException =>
  new ProblemException(problem(403, 'INSUFFICIENT_AUTHORITY', "The system key manages organizations; use the organization's API key here."));

export const CurrentPrincipal = createParamDecorator((_: unknown, ctx: ExecutionContext) => ctx.switchToHttp().getRequest<AuthedRequest>().principal);

const ACTOR_ID = ID_PATTERN;

/**
 * `system` is the operator's name (SYSTEM_ACTOR: the system key, and the erasure journal's replays): an organization's
 * key acts as one of its users, never as it (probe 81 F1: `X-Actor-Id: system` with an organization's key granted org
 * admin, issued keys past the quota, deleted the last org admin and erased addresses, each recorded as the operator's).
 * Refused wherever an actor is named: the header, a message's `actorId`.
 */
export function refuseOperatorName(actor: string, field: string): void {
  if (actor === SYSTEM_ACTOR)
    throw new ProblemException(
      problem(400, 'VALIDATION_FAILED', `${field} names a user of the organization; "${SYSTEM_ACTOR}" is the operator's name, which only the system key acts as.`, [
        { field, message: `is reserved: "${SYSTEM_ACTOR}" is the operator` },
      ]),
    );
}

/**
 * The acting user named by an `X-Actor-Id` header, required with organization keys: 400 VALIDATION_FAILED when it is
 * missing, or holds something that is no user id (a header sent but malformed was told "name the acting user", as if
 * missing: probe 34 F4).
 */
export function actorIdFromHeader(raw: string | string[] | undefined): string {
  const actor = Array.isArray(raw) ? raw[0] : raw;
  if (!actor)
    throw new ProblemException(
      problem(400, 'VALIDATION_FAILED', 'Name the acting user in the X-Actor-Id header.', [{ field: 'X-Actor-Id', message: 'is required (a user id)' }]),
    );
  if (!ACTOR_ID.test(actor))
    throw new ProblemException(
      problem(400, 'VALIDATION_FAILED', 'The X-Actor-Id header is not a user id (1 to 128 letters, digits or the characters . _ : @ -).', [
        { field: 'X-Actor-Id', message: 'is not a user id' },
      ]),
    );
  refuseOperatorName(actor, 'X-Actor-Id');
  // a user id pasted in upper case is the one this service wrote (probe 80 F11: 403 "not an active member")
  return foldIdCase(actor);
}

/** The acting user (`X-Actor-Id`) of an HTTP request: see actorIdFromHeader. */
export const actorIdOf = (req: AuthedRequest): string => actorIdFromHeader(req.headers['x-actor-id']);

/** `@ActorId() actorId: string`: see actorIdOf. */
export const ActorId = createParamDecorator((_: unknown, ctx: ExecutionContext): string => actorIdOf(ctx.switchToHttp().getRequest<AuthedRequest>()));

/** The organization of an organization key (never the system key on these routes). */
export const organizationOf = (principal: Principal): string => {
  if (principal.kind !== 'organization') throw unauthorized('This operation needs an organization API key.');
  return principal.organizationId;
};
