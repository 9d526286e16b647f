import type { DomainEvent } from './upcasting';

/**
 * Each domain event type's data, by type: what the AsyncAPI document's schemas of the integration events' `data` are
 * generated from (`npm run asyncapi:event-schemas`, scripts/event-schemas.mjs; probe 38 F8: `data` was any object).
 */
export type { DomainEvent } from './upcasting';
export type EventDataByType = { [E in DomainEvent as E['type']]: E['data'] };
