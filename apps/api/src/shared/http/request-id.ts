/**
 * Which request ids a client may choose (`X-Request-Id` over HTTP, a message's `correlationId`): 1 to 128 visible
 * ASCII characters without `@`. The id is echoed, written on the request's log line and stored as the
 * `correlationId` of every event the request appends — in the log, where an erasure never reaches (rule 12,
 * docs/rules.md#rule-12). An `@` is what an email address, the personal data this service holds most, cannot do
 * without (probe 32: `X-Request-Id: leaky.person@secret.test` stayed in the log for good); such an id is replaced by a
 * new UUID, as an id too long or not visible ASCII always was. Other personal data a client puts there is theirs to
 * keep out (docs/security.md).
 */
export const SANE_REQUEST_ID = /^[\x21-\x3f\x41-\x7e]{1,128}$/;

export const isSaneRequestId = (given: unknown): given is string => typeof given === 'string' && SANE_REQUEST_ID.test(given);
