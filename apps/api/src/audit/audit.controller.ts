import { Controller, Get, Header, Inject, Query, Req } from '@nestjs/common';
import { ApiBearerAuth, ApiHeader, ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import { ProofUnavailableError, leafHash } from '@rollcall/audit';
import { domainError, isOrgAdmin, mailStream, presenceStream } from '@rollcall/domain';
import { type AuthedRequest, Authenticator, Public, type Principal, actorIdFromHeader, bearerKey } from '../shared/auth';
import { ApiProblems, NO_BODY_PROBLEMS, PublicOperation, SYSTEM_KEY_SCHEME } from '../shared/http/openapi';
import { ACTOR_ID_SCHEMA } from '../shared/http/headers';
import { ProblemException, problem } from '../shared/http/problem';
import { DomainException } from '../shared/command-path/stream-handler';
import { StreamStates, organizationStream, workspaceStream } from '../shared/command-path/stream-states';
import { erasuresStream } from '../infrastructure/erasure';
import { AuditLog } from './audit-log';
import { ConsistencyProof, ConsistencyQuery, InclusionProof, InclusionQuery } from './dtos';

const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');
const notFound = (position: string) =>
  new DomainException(domainError('AUDIT_ENTRY_NOT_FOUND', `There is no log entry at position ${position} that this key may see.`));
const altered = (position: string, how: 'lost' | 'changed') =>
  new DomainException(
    domainError(
      'AUDIT_LOG_ALTERED',
      how === 'lost'
        ? `The notary's tree holds an entry at position ${position}, but the event log no longer has it: the log was altered after it was notarized. The operator should run \`rollcall-audit verify\` on the data dir and restore it from a backup.`
        : `The event log's entry at position ${position} does not hash to the leaf the notary recorded for it: the log was altered after it was notarized. The operator should run \`rollcall-audit verify\` on the data dir and restore it from a backup.`,
    ),
  );
const unavailable = (error: unknown): never => {
  if (error instanceof ProofUnavailableError) throw new DomainException(domainError('AUDIT_TREE_SIZE', error.message));
  throw error;
};

/** The notary's key, checkpoints and proofs (docs/rules.md#verifiable-history). */
@ApiTags('audit')
@Controller('v1/audit')
export class AuditController {
  constructor(
    @Inject(AuditLog) private readonly audit: AuditLog,
    @Inject(Authenticator) private readonly auth: Authenticator,
    @Inject(StreamStates) private readonly states: StreamStates,
  ) {}

  @Get('public-key')
  @PublicOperation()
  @Header('Content-Type', 'text/plain; charset=utf-8')
  @ApiOperation({
    summary:
      "The notary's note verifier key (C2SP signed-note): `<name>+<key id, 8 hex digits>+<base64 of 0x01 (Ed25519) followed by the 32-byte public key>`. Split at the first two `+` only (base64 may hold `+`).",
  })
  @ApiProduces('text/plain')
  @ApiOkResponse({ description: 'the verifier key, one line', schema: { type: 'string', example: 'localhost:3000/audit+4b3f1e2a+AZ3t…' } })
  // its only 4xx: a body is parsed on every route, and one that is not JSON is refused before the route runs
  @ApiProblems(...NO_BODY_PROBLEMS)
  publicKey(): string {
    return `${this.audit.verifierKey}\n`;
  }

  @Get('checkpoint')
  // authenticated here: the system key, or any organization's key (probe 33 O2: a customer's auditor could keep
  // checkpoints from inclusion proofs but not check that a later log extends them). Checkpoints and consistency proofs
  // show the whole log's size and hashes of its subtrees, what an organization's inclusion proofs show already (their
  // checkpoint and audit paths): no entry, and no hash of one that could be guessed (each entry holds its event's
  // random id) (docs/adr/0007 point 5)
  @Public()
  @ApiBearerAuth()
  @ApiBearerAuth(SYSTEM_KEY_SCHEME)
  @Header('Content-Type', 'text/plain; charset=utf-8')
  @ApiOperation({
    summary:
      'The latest signed checkpoint: a C2SP tlog-checkpoint (origin, tree size, base64 root) in a signed note. The system key, or any organization: keep it, and later ask for a consistency proof from its size.',
  })
  @ApiProduces('text/plain')
  @ApiOkResponse({ description: 'the signed note', schema: { type: 'string' } })
  @ApiProblems('UNAUTHENTICATED', 'AUDIT_BEHIND', ...NO_BODY_PROBLEMS)
  async checkpoint(@Req() req: AuthedRequest): Promise<string> {
    await this.identify(req);
    const latest = this.audit.latestCheckpoint();
    if (!latest) throw this.behind('The notary has not signed a checkpoint yet.');
    return latest.note;
  }

  @Get('proofs/inclusion')
  @Public() // authenticated here: the system key, or the key of the organization that owns the event's stream
  @ApiBearerAuth()
  @ApiBearerAuth(SYSTEM_KEY_SCHEME)
  @ApiOperation({
    summary:
      "That the event at a log position is in the signed tree: its entry's bytes and audit path. System key, or the organization owning the event's stream: its key alone (no X-Actor-Id), or an org admin named by X-Actor-Id (another user is 403: an entry may be any workspace's event).",
  })
  @ApiHeader({ name: 'X-Actor-Id', required: false, description: 'with an organization key: an org admin, or leave it out (the key\'s holder asks)', schema: ACTOR_ID_SCHEMA })
  @ApiOkResponse({ type: InclusionProof })
  @ApiProblems('UNAUTHENTICATED', 'VALIDATION_FAILED', 'INSUFFICIENT_AUTHORITY', 'AUDIT_ENTRY_NOT_FOUND', 'AUDIT_TREE_SIZE', 'AUDIT_BEHIND', 'AUDIT_LOG_ALTERED', ...NO_BODY_PROBLEMS)
  async inclusion(@Req() req: AuthedRequest, @Query() query: InclusionQuery): Promise<InclusionProof> {
    const principal = await this.identify(req);
    await this.actorMayProve(principal, req.headers['x-actor-id']);
    const position = BigInt(query.position);
    const record = await this.audit.recordAt(position);
    // a leaf without its event: the log lost an entry it had when it was notarized. Said as such, whoever asks: as
    // "not found" an organization's auditor could not tell it from another organization's entry (probe 60 F1)
    const notarized = this.audit.leafAt(position);
    if (!record && notarized) {
      this.audit.noteAltered(query.position, 'lost');
      throw altered(query.position, 'lost');
    }
    // an entry unlike its leaf is refused as a lost one is, whoever asks (probe 115 F1: answered 200, the entry not
    // hashing to the `leafHash` beside it; probe 118 F2: one moved into another organization's stream read as "not
    // found" to its owner): one hash of what would be served, before who may read it is asked of the altered row
    const entry = record && this.audit.entryOf(record);
    if (entry && notarized && !leafHash(entry).equals(notarized.hash)) {
      this.audit.noteAltered(query.position, 'changed');
      throw altered(query.position, 'changed');
    }
    if (!record || !entry || !(await this.mayRead(principal, record.stream))) throw notFound(query.position);
    const latest = this.audit.latestCheckpoint();
    const treeSize = query.treeSize ?? latest?.size ?? 0;
    if (!notarized) throw this.behind(`The notary has not reached position ${query.position} yet.`);
    if (query.treeSize === undefined && notarized.index >= treeSize) throw this.behind(`No signed checkpoint covers position ${query.position} yet.`);
    let proof;
    try {
      proof = this.audit.inclusion(position, treeSize);
    } catch (error) {
      return unavailable(error);
    }
    const checkpoint = this.audit.checkpointOfSize(treeSize)?.note;
    return {
      leafIndex: proof.leaf.index,
      treeSize,
      position: query.position,
      leafHash: b64(proof.leaf.hash),
      entry: b64(entry),
      hashes: proof.hashes.map(b64),
      rootHash: b64(proof.root),
      ...(checkpoint && { checkpoint }),
    };
  }

  @Get('proofs/consistency')
  @Public() // authenticated here, as the checkpoint
  @ApiBearerAuth()
  @ApiBearerAuth(SYSTEM_KEY_SCHEME)
  @ApiOperation({
    summary: 'That the tree of `from` leaves is a prefix of the tree of `to` leaves (RFC 9162 §2.1.4). The system key, or any organization (`npm run audit -- consistency` checks it).',
  })
  @ApiOkResponse({ type: ConsistencyProof })
  @ApiProblems('UNAUTHENTICATED', 'VALIDATION_FAILED', 'AUDIT_TREE_SIZE', 'AUDIT_BEHIND', ...NO_BODY_PROBLEMS)
  async consistency(@Req() req: AuthedRequest, @Query() query: ConsistencyQuery): Promise<ConsistencyProof> {
    await this.identify(req);
    const to = query.to ?? this.audit.latestCheckpoint()?.size;
    if (to === undefined) throw this.behind('The notary has not signed a checkpoint yet.');
    // probe 33 O2: an auditor's kept checkpoint larger than the latest signed tree was told "from must not exceed to"
    if (query.to === undefined && query.from > to)
      throw new DomainException(
        domainError(
          'AUDIT_TREE_SIZE',
          `The latest signed tree has ${to} leaves, fewer than from (${query.from}): if this notary signed a checkpoint of ${query.from} leaves, its log is now shorter than it was.`,
        ),
      );
    let proof;
    try {
      proof = this.audit.consistency(query.from, to);
    } catch (error) {
      return unavailable(error);
    }
    const checkpoint = this.audit.checkpointOfSize(to)?.note;
    return { from: query.from, to, hashes: proof.hashes.map(b64), fromRoot: b64(proof.fromRoot), toRoot: b64(proof.toRoot), ...(checkpoint && { checkpoint }) };
  }

  private async identify(req: AuthedRequest): Promise<Principal> {
    const key = bearerKey(req);
    if (!key) throw new ProblemException(problem(401, 'UNAUTHENTICATED', 'Send your API key as `Authorization: Bearer <api key>`.'));
    return this.auth.identify(key);
  }

  /**
   * An entry is one of the organization's events, of any of its workspaces: the key's own to read (its holder, the
   * customer's backend or auditor, asks with no X-Actor-Id), or an org admin's when the request names who it acts for.
   * A console that forwards its users' requests with their X-Actor-Id, as on every other route, so does not open the
   * log to an agent, a revoked or deleted user, or an id naming nobody (probe 83 F7: each read every entry).
   */
  private async actorMayProve(principal: Principal, header: string | string[] | undefined): Promise<void> {
    if (principal.kind !== 'organization' || header === undefined) return;
    const actorId = actorIdFromHeader(header);
    if (!isOrgAdmin((await this.states.organization(principal.organizationId)).state, actorId))
      throw new DomainException(
        domainError(
          'INSUFFICIENT_AUTHORITY',
          "An inclusion proof shows one of the organization's events, of any of its workspaces: with X-Actor-Id, only an org admin may ask for one (or ask with the organization's key alone, without X-Actor-Id).",
        ),
      );
  }

  /**
   * The system key sees every entry; an organization, the entries of its own streams (the organization's, its
   * erasures' record, its mail ledger's) and its workspaces' streams (each workspace's, its members' presence streams).
   * Session 22's probe: the erasures' record was refused (404); probe 29b: the mail ledger's.
   */
  private async mayRead(principal: Principal, stream: string): Promise<boolean> {
    if (principal.kind === 'system') return true;
    if (principal.kind !== 'organization') return false;
    const { organizationId } = principal;
    if (stream === organizationStream(organizationId) || stream === erasuresStream(organizationId) || stream === mailStream(organizationId)) return true;
    const ofWorkspace = (workspaces: ReadonlyMap<string, unknown>): boolean =>
      stream.startsWith(workspaceStream(''))
        ? workspaces.has(stream.slice(workspaceStream('').length))
        : [...workspaces.keys()].some((workspaceId) => stream.startsWith(presenceStream(workspaceId, '')));
    return ofWorkspace((await this.states.organizationCached(organizationId)).workspaces) || ofWorkspace((await this.states.organization(organizationId)).state.workspaces);
  }

  /**
   * 503 AUDIT_BEHIND: retry in a second, the notary is catching up; or, while its writes fail (the data dir's disk:
   * /health's `audit`), retry once it notarizes again (probe 54 F7: "in a second" while it could not for minutes)
   */
  private behind(detail: string): DomainException {
    const failing = this.audit.progress().error !== undefined;
    return new DomainException(
      domainError('AUDIT_BEHIND', failing ? `${detail} The notary cannot write to its data dir now (/health's audit says failing): retry once it notarizes again.` : `${detail} Retry in a second.`),
    );
  }
}
