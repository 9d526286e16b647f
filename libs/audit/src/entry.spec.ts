import fc from 'fast-check';
import { canonicalJson, entryText } from './entry';

// the reference: the `canonicalize` package (RFC 8785, by one of its authors); ESM only, hence the dynamic import
let reference: (value: unknown) => string | undefined;
beforeAll(async () => {
  reference = (await import('canonicalize')).default as typeof reference;
});

describe('verifiable history: the canonical entry (RFC 8785)', () => {
  it('serializes any JSON value exactly as the RFC 8785 reference implementation does', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        expect(canonicalJson(value)).toBe(reference(value));
      }),
      { numRuns: 2000 },
    );
  });

  it('orders keys by UTF-16 code units, integer-like keys included (which JavaScript objects keep first)', () => {
    const value = { b: 1, a: { '10': true, '9': false, Z: null, é: 'x', '\u{1F600}': 1, '\uFFFD': 2 }, '': [3, { y: 1, x: 2 }] };
    expect(canonicalJson(value)).toBe(reference(value));
    expect(canonicalJson(value)).toBe('{"":[3,{"x":2,"y":1}],"a":{"10":true,"9":false,"Z":null,"é":"x","\uFFFD":2,"\u{1F600}":1},"b":1}'.replace('"\uFFFD":2,"\u{1F600}":1', '"\u{1F600}":1,"\uFFFD":2'));
  });

  it('writes numbers as ECMAScript does (RFC 8785 §3.2.2.3) and leaves out undefined members', () => {
    expect(canonicalJson({ n: [1e21, 1e-7, -0, 0.1 + 0.2, 100, 5e-324], u: undefined })).toBe('{"n":[1e+21,1e-7,0,0.30000000000000004,100,5e-324]}');
  });

  it('an entry covers id, stream, revision, type, data and metadata as stored, position and recording time', () => {
    const text = entryText({
      id: 'e-1',
      stream: 'workspace-w',
      revision: 3n,
      position: 12n,
      type: 'AccessLevelChanged',
      data: { userId: 'u', email: 'enc:v1:u:u:abc', after: { roles: ['owner'] } },
      metadata: { schemaVersion: 1, actorId: 'a' },
      created: new Date('2026-01-02T03:04:05.006Z'),
    });
    expect(text).toBe(
      '{"created":"2026-01-02T03:04:05.006Z","data":{"after":{"roles":["owner"]},"email":"enc:v1:u:u:abc","userId":"u"},"id":"e-1","metadata":{"actorId":"a","schemaVersion":1},"position":"12","revision":"3","stream":"workspace-w","type":"AccessLevelChanged"}',
    );
  });
});
