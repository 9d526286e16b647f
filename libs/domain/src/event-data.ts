/**
 * The file the AsyncAPI document's schemas of the integration events' `data` are generated from: the union of every
 * domain event type (`npm run asyncapi:event-schemas`, scripts/event-schemas.mjs reads `DomainEvent` here; probe 38
 * F8: `data` was any object).
 */
export type { DomainEvent } from './upcasting';
