import { UseInterceptors, applyDecorators } from '@nestjs/common';
import { MessagePattern } from '@nestjs/microservices';
import { MessageActivityInterceptor } from '../../activity/activity-recorder';
import { NatsAnswerLimit } from '../../infrastructure/problem-nats-server';

/** what every message pattern runs through, and no HTTP route does */
export const MESSAGE_INTERCEPTORS = [MessageActivityInterceptor, NatsAnswerLimit] as const;

/**
 * `@MessageRoute('pattern')` on every message pattern (TCP and NATS), in place of Nest's `@MessagePattern`: the pattern
 * with the interceptors only messages need — the acting user's activity marked once it succeeded, an answer larger than
 * NATS carries refused as 422. Over HTTP the same is done by http-app.ts's hooks, without an interceptor: any global
 * interceptor put every HTTP request through Nest's RxJS chain (docs/adr/0010, nineteenth pass). message-route.spec.ts
 * checks that every message pattern the app registers carries them.
 */
export const MessageRoute = (pattern: string): MethodDecorator => applyDecorators(MessagePattern(pattern), UseInterceptors(...MESSAGE_INTERCEPTORS));
