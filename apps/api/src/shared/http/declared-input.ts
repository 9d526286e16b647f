import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import { ROUTE_ARGS_METADATA } from '@nestjs/common/constants';
import { RouteParamtypes } from '@nestjs/common/enums/route-paramtypes.enum';
import { ProblemException, problem } from './problem';

/**
 * Refuses input an endpoint does not declare: a JSON body sent to an endpoint that takes none (resend, cancel,
 * delete, team membership…), and query parameters sent to one that takes none (the team list, the invite lookup…).
 * The validation pipe only sees what a handler declares, so `{"email":"…"}` sent to a resend, or `?limit=5` to the
 * team list, would otherwise be ignored while the request runs as if it was not sent. Unknown fields are refused
 * everywhere (docs/rules.md#http-api); an empty object is no body. A guard, after the API key's: a caller without a
 * key learns nothing about the endpoint first.
 */
@Injectable()
export class DeclaredInputGuard implements CanActivate {
  /** handler → the kinds of input it declares (read once from Nest's route metadata) */
  private readonly declared = new WeakMap<object, { body: boolean; query: boolean }>();

  canActivate(context: ExecutionContext): boolean {
    if (context.getType() !== 'http') return true;
    const request = context.switchToHttp().getRequest<{ body?: unknown; query?: Record<string, unknown> }>();
    const body = request.body;
    const hasBody = body !== undefined && !(isPlainObject(body) && Object.keys(body).length === 0);
    const params = Object.keys(request.query ?? {});
    if (!hasBody && params.length === 0) return true;
    const declares = this.declares(context);
    if (hasBody && !declares.body) {
      const fields = isPlainObject(body) ? Object.keys(body) : [];
      throw refused(`This request takes no body${fields.length > 0 ? `: ${listed(fields)}` : '.'}`, fields);
    }
    if (params.length > 0 && !declares.query) throw refused(`This request takes no query parameters: ${listed(params)}`, params);
    return true;
  }

  private declares(context: ExecutionContext): { body: boolean; query: boolean } {
    const handler = context.getHandler();
    let declared = this.declared.get(handler);
    if (declared === undefined) {
      const args: Record<string, unknown> = Reflect.getMetadata(ROUTE_ARGS_METADATA, context.getClass(), handler.name) ?? {};
      const kinds = new Set(Object.keys(args).map((key) => key.split(':')[0]));
      declared = { body: kinds.has(String(RouteParamtypes.BODY)), query: kinds.has(String(RouteParamtypes.QUERY)) };
      this.declared.set(handler, declared);
    }
    return declared;
  }
}

const listed = (names: string[]) => `${names.join(', ')} ${names.length === 1 ? 'is' : 'are'} not allowed.`;

const refused = (detail: string, fields: string[]) =>
  new ProblemException(problem(400, 'VALIDATION_FAILED', detail, fields.map((field) => ({ field, message: 'is not allowed' }))));

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value);
