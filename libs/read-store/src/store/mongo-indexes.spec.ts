/**
 * Which indexes the MongoDB read store drops at `init` (mongo-indexes.ts), decided from listIndexes' answer: the
 * specifications below are written as MongoDB documents them (not read from a server). The commands themselves,
 * through the real driver: mongo-read-store.wire.spec.ts.
 */
import { type DeclaredIndex, indexesToDrop, sameDefinition } from './mongo-indexes';
import { buildIndexes } from './mongo-queries';

const declared: DeclaredIndex[] = buildIndexes(['userId'], [['workspaceId', 'seenOrder']]);
const listed = (extra: object[] = []) => [
  { v: 2, key: { _id: 1 }, name: '_id_' },
  { v: 2, key: { userId: 1, _id: 1 }, name: 'rs_userId' },
  { v: 2, key: { workspaceId: 1, seenOrder: 1, _id: 1 }, name: 'rs_workspaceId+seenOrder' },
  ...extra,
];

describe('indexesToDrop', () => {
  it('nothing when the collection holds what is declared (and _id_)', () => {
    expect(indexesToDrop(listed(), declared)).toEqual([]);
  });

  it("the store's (rs_) indexes no declaration names; never _id_ nor an index it did not create", () => {
    const stale = indexesToDrop(
      listed([
        { v: 2, key: { workspaceId: 1, lastSeenAt: 1, _id: 1 }, name: 'rs_workspaceId+lastSeenAt' },
        { v: 2, key: { workspaceId: 1, lastSeenAt: 1 }, name: 'workspaceId_1_lastSeenAt_1' },
        { v: 2, key: { email: 1 }, name: 'by_email', unique: true },
      ]),
      declared,
    );
    expect(stale).toEqual([{ name: 'rs_workspaceId+lastSeenAt', reason: 'no longer declared (key {"workspaceId":1,"lastSeenAt":1,"_id":1})' }]);
  });

  it('every rs_ index of a collection that declares none any more', () => {
    expect(indexesToDrop(listed(), []).map((s) => s.name)).toEqual(['rs_userId', 'rs_workspaceId+seenOrder']);
  });

  it('a declared name whose index stands otherwise, said as such', () => {
    const [stale] = indexesToDrop([{ v: 2, key: { userId: 1 }, name: 'rs_userId' }], declared);
    expect(stale).toEqual({ name: 'rs_userId', reason: 'declared otherwise: {"key":{"userId":1}} is now {"key":{"userId":1,"_id":1}}, created again' });
  });
});

describe('sameDefinition', () => {
  const [userId] = declared as [DeclaredIndex];
  const as = (options: object) => ({ v: 2, key: { userId: 1, _id: 1 }, name: 'rs_userId', ...options });

  it('the key by its fields in order and directions by value (1 and 1.0 alike); v, ns and background set aside', () => {
    expect(sameDefinition(as({ ns: 'rs.members', background: true }), userId)).toBe(true);
    expect(sameDefinition({ v: 2, key: { userId: 1.0, _id: 1.0 }, name: 'rs_userId' }, userId)).toBe(true);
    expect(sameDefinition({ v: 2, key: { _id: 1, userId: 1 }, name: 'rs_userId' }, userId)).toBe(false);
    expect(sameDefinition({ v: 2, key: { userId: -1, _id: 1 }, name: 'rs_userId' }, userId)).toBe(false);
    expect(sameDefinition({ v: 2, name: 'rs_userId' }, userId)).toBe(false);
  });

  it("an option only the server lists, which this code does not know (a later server's bookkeeping), is no difference: nothing dropped and built again at each start", () => {
    expect(sameDefinition(as({ buildUUID: 'b7c1', someFutureFlag: true }), userId)).toBe(true);
    expect(indexesToDrop(listed().map((index) => ({ ...index, someFutureFlag: 1 })), declared)).toEqual([]);
  });

  it('unique and sparse as the server reads them: absent is false', () => {
    expect(sameDefinition(as({ unique: false, sparse: false }), userId)).toBe(true);
    expect(sameDefinition(as({ unique: true }), userId)).toBe(false);
    expect(sameDefinition(as({ sparse: true }), userId)).toBe(false);
    expect(sameDefinition(as({ unique: true }), { ...userId, unique: true })).toBe(true);
  });

  it('a partial filter, a TTL, a hidden index: not the declared one', () => {
    expect(sameDefinition(as({ partialFilterExpression: { _deleted: { $ne: true } } }), userId)).toBe(false);
    expect(sameDefinition(as({ expireAfterSeconds: 3600 }), userId)).toBe(false);
    expect(sameDefinition(as({ hidden: true }), userId)).toBe(false);
    const partial = { ...userId, partialFilterExpression: { userId: { $exists: true } } };
    expect(sameDefinition(as({ partialFilterExpression: { userId: { $exists: true } } }), partial)).toBe(true);
    expect(sameDefinition(as({}), partial)).toBe(false);
  });

  it('a collation: none declared takes none or simple; one declared, by the fields it gives (the server lists them all)', () => {
    expect(sameDefinition(as({ collation: { locale: 'simple' } }), userId)).toBe(true);
    const listedFr = { locale: 'fr', caseLevel: false, caseFirst: 'off', strength: 3, numericOrdering: false, alternate: 'non-ignorable', maxVariable: 'punct', normalization: false, backwards: false, version: '57.1' };
    expect(sameDefinition(as({ collation: listedFr }), userId)).toBe(false);
    expect(sameDefinition(as({ collation: listedFr }), { ...userId, collation: { locale: 'fr' } })).toBe(true);
    expect(sameDefinition(as({ collation: listedFr }), { ...userId, collation: { locale: 'fr', strength: 2 } })).toBe(false);
    expect(sameDefinition(as({}), { ...userId, collation: { locale: 'fr' } })).toBe(false);
  });
});
