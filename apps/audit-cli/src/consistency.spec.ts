import { checkpointText, consistencyProof, generateSeed, leafHash, rootOfLeafHashes, signedAtLine, signerFromSeed } from '@rollcall/audit';
import { type ConsistencyAnswer, checkConsistency } from './consistency';

// `consistency` over trees built here from leaves, signed by a key made here: what the auditor's check accepts and
// what it refuses (a log cut back, forked, an altered prefix, a proof for other sizes, a checkpoint of another key).
const ORIGIN = 'rollcall.test/audit';
const notary = signerFromSeed(ORIGIN, generateSeed());
const publicKey = notary.verifier.text;

const leaves = (n: number, tag = 'entry') => Array.from({ length: n }, (_, i) => leafHash(`${tag} ${i}`));
const signed = (tree: Buffer[], signer = notary) => signer.sign(checkpointText({ origin: ORIGIN, size: tree.length, root: rootOfLeafHashes(tree) }));
/** the API's proofs over `tree`: what an honest server answers */
const prover =
  (tree: Buffer[]) =>
  async (from: number, to: number): Promise<ConsistencyAnswer> => {
    const node = (level: number, index: number) => rootOfLeafHashes(tree.slice(index * 2 ** level, (index + 1) * 2 ** level));
    return { from, to, hashes: consistencyProof(node, from, to).map((h) => h.toString('base64')) };
  };
const noProof = async (): Promise<ConsistencyAnswer> => {
  throw new Error('no proof should be asked for');
};

describe('audit CLI: consistency of a kept checkpoint with the latest signed tree', () => {
  it.each([1, 2, 3, 7, 8, 13])('a log that grew from %i leaves extends the kept checkpoint', async (keptSize) => {
    const log = leaves(21);
    const check = await checkConsistency(signed(log.slice(0, keptSize)), signed(log), publicKey, prover(log));
    expect(check).toMatchObject({ ok: true, problems: [], origin: ORIGIN, kept: { size: keptSize }, latest: { size: 21 } });
  });

  it('after the notary moved to a new key (a leaked one), a checkpoint kept under the old key is checked against the tree the new key signs; under one key alone it does not open', async () => {
    const log = leaves(21);
    const renewed = signerFromSeed(ORIGIN, generateSeed());
    const kept = signed(log.slice(0, 8));
    const latest = signed(log, renewed);
    const check = await checkConsistency(kept, latest, { kept: publicKey, latest: renewed.verifier.text }, prover(log));
    expect(check).toMatchObject({ ok: true, problems: [], kept: { size: 8 }, latest: { size: 21 } });
    expect((await checkConsistency(kept, latest, publicKey, prover(log))).problems).toEqual([expect.stringMatching(/^the API's latest checkpoint does not verify under the key you trust/)]);
    // a new key of another log is not this one: the names differ
    const other = signerFromSeed('elsewhere.test/audit', generateSeed());
    const foreign = other.sign(checkpointText({ origin: 'elsewhere.test/audit', size: 21, root: rootOfLeafHashes(log) }));
    expect((await checkConsistency(kept, foreign, { kept: publicKey, latest: other.verifier.text }, prover(log))).problems).toEqual([
      'the latest checkpoint names the log "elsewhere.test/audit", your kept one "rollcall.test/audit": another log',
    ]);
  });

  it('the same tree as the kept one is consistent without a proof', async () => {
    const log = leaves(5);
    expect(await checkConsistency(signed(log), signed(log), publicKey, noProof)).toMatchObject({ ok: true, latest: { size: 5 } });
  });

  it('a log cut back below the kept checkpoint fails, naming both sizes', async () => {
    const log = leaves(9);
    const check = await checkConsistency(signed(log), signed(log.slice(0, 6)), publicKey, noProof);
    expect(check.ok).toBe(false);
    expect(check.problems).toEqual(['the latest signed tree has 6 leaves, fewer than the 9 of your kept checkpoint: the log was cut back since']);
  });

  it('a fork at the kept size fails', async () => {
    const check = await checkConsistency(signed(leaves(4)), signed(leaves(4, 'forged')), publicKey, noProof);
    expect(check.problems).toEqual(["the latest signed tree has your kept checkpoint's 4 leaves and another root: the log was forked"]);
  });

  it('a later tree whose first entries changed fails, even with an honest proof of its own tree', async () => {
    const kept = leaves(6);
    const rewritten = [...leaves(6, 'rewritten'), ...leaves(4, 'later')];
    const check = await checkConsistency(signed(kept), signed(rewritten), publicKey, prover(rewritten));
    expect(check.ok).toBe(false);
    expect(check.problems[0]).toMatch(/^the signed tree of 10 leaves does not extend your kept checkpoint of 6/);
  });

  it("the roots checked are the signed ones: a proof from the API's own tree for a forged later root fails", async () => {
    const log = leaves(12);
    const forgedLatest = [...log.slice(0, 11), leafHash('swapped')];
    const check = await checkConsistency(signed(log.slice(0, 5)), signed(forgedLatest), publicKey, prover(log));
    expect(check.ok).toBe(false);
  });

  it('a proof for other sizes than asked fails', async () => {
    const log = leaves(10);
    const check = await checkConsistency(signed(log.slice(0, 4)), signed(log), publicKey, async () => prover(log)(3, 10));
    expect(check.problems).toEqual(['the API proved 3 → 10 leaves when asked for 4 → 10']);
  });

  it('a checkpoint signed by another key fails on either side, before any proof is asked for', async () => {
    const stranger = signerFromSeed(ORIGIN, generateSeed());
    const log = leaves(8);
    const keptByStranger = await checkConsistency(signed(log.slice(0, 3), stranger), signed(log), publicKey, noProof);
    expect(keptByStranger.problems[0]).toMatch(/^your kept checkpoint does not verify under the key you trust/);
    const latestByStranger = await checkConsistency(signed(log.slice(0, 3)), signed(log, stranger), publicKey, noProof);
    expect(latestByStranger.problems[0]).toMatch(/^the API's latest checkpoint does not verify under the key you trust/);
  });

  it('a truncated kept checkpoint fails as unverifiable', async () => {
    const note = signed(leaves(3));
    const check = await checkConsistency(note.slice(0, note.length - 10), signed(leaves(3)), publicKey, noProof);
    expect(check.ok).toBe(false);
    expect(check.problems[0]).toMatch(/^your kept checkpoint does not verify/);
  });

  it('a later tree signed before the kept one fails beyond the clock skew (the notary\'s clock went back: probe 44 F1); within it, or unsaid, it holds', async () => {
    const log = leaves(10);
    const at = (tree: Buffer[], time: string) => notary.sign(checkpointText({ origin: ORIGIN, size: tree.length, root: rootOfLeafHashes(tree), extensions: [signedAtLine(new Date(time))] }));
    const kept = at(log.slice(0, 6), '2026-12-05T09:56:21.000Z');
    const back = await checkConsistency(kept, at(log, '2026-12-05T09:46:13.000Z'), publicKey, prover(log));
    expect(back.ok).toBe(false);
    expect(back.problems).toEqual([
      'the signed tree of 10 leaves was signed at 2026-12-05T09:46:13.000Z, before your kept checkpoint of 6 (signed at 2026-12-05T09:56:21.000Z): the server\'s clock went back, and the entries since may be dated before your checkpoint',
    ]);
    expect((await checkConsistency(kept, at(log, '2026-12-05T09:55:30.000Z'), publicKey, prover(log))).ok).toBe(true);
    expect((await checkConsistency(kept, at(log, '2026-12-05T09:55:30.000Z'), publicKey, prover(log), 10_000)).ok).toBe(false);
    expect((await checkConsistency(kept, signed(log), publicKey, prover(log))).ok).toBe(true);
  });
});
