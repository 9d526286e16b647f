import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import { ROUTE_ARGS_METADATA } from '@nestjs/common/constants';
import { RouteParamtypes } from '@nestjs/common/enums/route-paramtypes.enum';
import { ProblemException, problem } from './problem';

/**
 * Refuses a JSON body sent to an endpoint that takes none (resend, cancel, delete, team membership…): the validation
 * pipe only sees bodies that a handler declares, so `{"email":"…"}` sent to a resend would otherwise be ignored
 * while the action runs. Unknown fields are refused everywhere (docs/rules.md#http-api); an empty object is no body.
 * A guard, after the API key's: a caller without a key learns nothing about the endpoint's body first.
 */
@Injectable()
export class NoBodyGuard implements CanActivate {
  /** handler → whether it declares a body (read once from Nest's route metadata) */
  private readonly takesBody = new WeakMap<object, boolean>();

  canActivate(context: ExecutionContext): boolean {
    if (context.getType() !== 'http') return true;
    const body: unknown = context.switchToHttp().getRequest<{ body?: unknown }>().body;
    if (body === undefined || (isPlainObject(body) && Object.keys(body).length === 0)) return true;
    if (this.declaresBody(context)) return true;
    const fields = isPlainObject(body) ? Object.keys(body) : [];
    throw new ProblemException(
      problem(
        400,
        'VALIDATION_FAILED',
        fields.length > 0
          ? `This request takes no body: ${fields.join(', ')} ${fields.length === 1 ? 'is' : 'are'} not allowed.`
          : 'This request takes no body.',
        fields.map((field) => ({ field, message: 'is not allowed' })),
      ),
    );
  }

  private declaresBody(context: ExecutionContext): boolean {
    const handler = context.getHandler();
    let declared = this.takesBody.get(handler);
    if (declared === undefined) {
      const args: Record<string, unknown> = Reflect.getMetadata(ROUTE_ARGS_METADATA, context.getClass(), handler.name) ?? {};
      declared = Object.keys(args).some((key) => key.split(':')[0] === String(RouteParamtypes.BODY));
      this.takesBody.set(handler, declared);
    }
    return declared;
  }
}

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value);
