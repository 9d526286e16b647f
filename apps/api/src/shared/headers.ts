/** OpenAPI descriptions of the headers every write shares. */
export const ACTOR_HEADER = { name: 'X-Actor-Id', required: true, description: 'the user on whose behalf the console acts' };
export const IDEMPOTENCY_HEADER = {
  name: 'Idempotency-Key',
  required: false,
  description: 'retrying with the same key returns the first answer and appends nothing; every id the write creates derives from it',
};
