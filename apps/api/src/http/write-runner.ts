import { Inject, Injectable } from '@nestjs/common';
import type { Response } from 'express';
import { type CommandContext, newCommandContext } from '../infrastructure/command-context';
import { Idempotency } from '../infrastructure/idempotency';
import { sha256 } from '../infrastructure/secrets';
import type { AuthedRequest } from './auth';
import { ProblemException, problem } from './problem';

const KEY = /^[\x21-\x7e]{1,255}$/;

/**
 * Runs a write for a controller: builds the command context (actor, time, correlation), honours
 * `Idempotency-Key` (same key + same request → the first answer, nothing appended; same key + another
 * request → 422), and sets the status and `X-Position` of the answer.
 */
@Injectable()
export class WriteRunner {
  constructor(@Inject(Idempotency) private readonly idempotency: Idempotency) {}

  async run<T extends { position?: string }>(
    req: AuthedRequest,
    res: Response,
    actorId: string,
    status: number,
    exec: (ctx: CommandContext) => Promise<T>,
  ): Promise<T> {
    const header = req.headers['idempotency-key'];
    const given = Array.isArray(header) ? header[0] : header;
    if (given !== undefined && !KEY.test(given))
      throw new ProblemException(
        problem(400, 'VALIDATION_FAILED', 'Idempotency-Key must be 1 to 255 visible ASCII characters.', [
          { field: 'Idempotency-Key', message: 'must be 1-255 visible ASCII characters' },
        ]),
      );
    const p = req.principal;
    const scope = p.kind === 'organization' ? `org:${p.organizationId}` : p.kind;
    const key = given ? `${scope}:${given}` : undefined;
    const correlation = req.headers['x-correlation-id'];
    const ctx = newCommandContext({
      actorId,
      idempotencyKey: key,
      correlationId: typeof correlation === 'string' && correlation.length <= 128 ? correlation : undefined,
    });
    const requestHash = sha256(`${req.method} ${req.originalUrl.split('?')[0]} ${actorId} ${JSON.stringify(req.body ?? null)}`);
    const outcome = await this.idempotency.run(key, requestHash, async () => ({ status, body: await exec(ctx) }));
    if (outcome.replayed) res.setHeader('Idempotency-Replayed', 'true');
    const body = outcome.body as T;
    if (body?.position) res.setHeader('X-Position', body.position);
    res.status(outcome.status);
    return body;
  }
}
