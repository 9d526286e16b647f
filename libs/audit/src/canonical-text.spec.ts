import fc from 'fast-check';
import { canonicalJsonText } from './canonical-text';
import { canonicalJson } from './entry';

// the reference: the `canonicalize` package (RFC 8785, by one of its authors); ESM only, hence the dynamic import
let reference: (value: unknown) => string | undefined;
beforeAll(async () => {
  reference = (await import('canonicalize')).default as typeof reference;
});

/** the canonical text, or the error thrown instead (class and message) */
const attempt = (canonical: () => string): { text: string } | { error: string } => {
  try {
    return { text: canonical() };
  } catch (error) {
    return { error: `${(error as Error).name}: ${(error as Error).message}` };
  }
};

/** JSON texts as a store may hold them: compact, indented, with keys in any order and repeated, numbers in any form */
const jsonTexts = fc.oneof(
  fc.jsonValue().map((v) => JSON.stringify(v)),
  fc.jsonValue().map((v) => JSON.stringify(v, null, 2)),
  fc.json(),
  fc.tuple(fc.constantFrom('a', 'b', '10', '9', '__proto__', 'é', '\u{1F600}'), fc.jsonValue(), fc.jsonValue()).map(([k, v, w]) => `{"${k}":${JSON.stringify(v)},"z":1,"${k}":${JSON.stringify(w)}}`),
  fc.constantFrom('-0', '1.0', '1e2', '1E+2', '0.1', '123456789012345', '1234567890123456', '-1234567890123456', '"\\u0041"', '"a\\/b"', ' 1', '{}', '[]', 'null', 'true', '"\u2028"', '"\u{1F600}"'),
);

describe('verifiable history: the canonical entry straight from a stored text', () => {
  it('is RFC 8785 of what JSON.parse makes of the text, as the reference implementation writes it', () => {
    fc.assert(
      fc.property(jsonTexts, (text) => {
        const canonical = canonicalJsonText(text);
        expect(canonical).toBe(canonicalJson(JSON.parse(text)));
        expect(canonical).toBe(reference(JSON.parse(text)));
      }),
      { numRuns: 3000 },
    );
  });

  it('a text that is not JSON (or holds a number beyond doubles) throws what JSON.parse (or canonicalJson) throws, whatever part of it looks like JSON', () => {
    const broken = fc.oneof(
      fc.string(),
      fc.tuple(fc.json(), fc.integer({ min: 0, max: 40 }), fc.string({ maxLength: 2 })).map(([t, i, s]) => t.slice(0, i) + s + t.slice(i)),
      fc.constantFrom('1e999', '[-1e999]', '00', '[01]', '{"a":1,}', '[1,]', '{"a" :1}', '{"a":1', '"\u0001"', '{"a":01}', 'tru', '{a:1}', '"abc', '[1 2]', '1 2', '{"a":1}}', '-', '1.', '.5', '+1'),
    );
    fc.assert(
      fc.property(broken, (text) => {
        expect(attempt(() => canonicalJsonText(text))).toEqual(attempt(() => canonicalJson(JSON.parse(text))));
      }),
      { numRuns: 3000 },
    );
  });

  it('rewrites only the objects out of order and keeps the rest as written', () => {
    expect(canonicalJsonText('{"userId":"u","access":{"roles":["agent"],"grants":[],"restrictions":{"b":1,"a":2}},"id":7}')).toBe(
      '{"access":{"grants":[],"restrictions":{"a":2,"b":1},"roles":["agent"]},"id":7,"userId":"u"}',
    );
    expect(canonicalJsonText('{"a":[{"y":1,"x":2},3],"b":"x y"}')).toBe('{"a":[{"x":2,"y":1},3],"b":"x y"}');
    // a repeated name: JSON.parse keeps the last value, at the first one's place
    expect(canonicalJsonText('{"b":1,"a":2,"b":3}')).toBe('{"a":2,"b":3}');
    // more members than the insertion sort takes
    const many = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`k${(i * 7) % 40}`, i]));
    expect(canonicalJsonText(JSON.stringify(many))).toBe(reference(many));
  });
});
