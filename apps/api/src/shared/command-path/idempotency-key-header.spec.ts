import { IDEMPOTENCY_HEADER, IDEMPOTENCY_KEY_PATTERN } from '../http/headers';

describe('the Idempotency-Key header as documented is the one the server takes (probe 49 F5)', () => {
  const documented = (key: string) => {
    const { minLength, maxLength, pattern } = IDEMPOTENCY_HEADER.schema;
    return key.length >= minLength && key.length <= maxLength && new RegExp(pattern).test(key);
  };
  it.each(['inv-1', 'b'.repeat(255), 'org:7c9e6679/ws:1/user:42', '!~'])('takes %s', (key) => {
    expect([IDEMPOTENCY_KEY_PATTERN.test(key), documented(key)]).toEqual([true, true]);
  });
  it.each(['', 'b'.repeat(256), 'inv jane 1', 'inv-josé', 'tab\tkey', 'new\nline'])('refuses %j', (key) => {
    expect([IDEMPOTENCY_KEY_PATTERN.test(key), documented(key)]).toEqual([false, false]);
  });
});
