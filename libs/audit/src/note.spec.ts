import { checkpointText, generateSeed, keyId, openCheckpoint, openNote, parseCheckpointText, parseVerifier, signerFromSeed } from './note';

describe('verifiable history: C2SP signed notes and tlog checkpoints', () => {
  it('opens a note signed by another implementation (the example of the signed-note format, Go x/mod/sumdb/note)', () => {
    const verifier = parseVerifier('example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k');
    const note =
      'This is an example message.\n\n\u2014 example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n';
    expect(openNote(note, [verifier])).toEqual({ text: 'This is an example message.\n', verifiedBy: ['example.com/foo'] });
    expect(() => openNote(note.replace('example message', 'exemplary message'), [verifier])).toThrow(/does not verify/);
  });

  it('reads verifier keys whose base64 holds a +', () => {
    for (let i = 0; i < 64; i++) {
      const v = signerFromSeed('rollcall.test/audit', generateSeed()).verifier;
      expect(parseVerifier(v.text).rawPublicKey).toEqual(v.rawPublicKey);
    }
  });

  it('derives the key ID as SHA-256(name || 0x0A || 0x01 || key)[0:4] and writes the verifier key as name+id+base64', () => {
    const signer = signerFromSeed('rollcall.test/audit', Buffer.alloc(32, 7));
    const v = signer.verifier;
    expect(v.text).toBe(`rollcall.test/audit+${keyId('rollcall.test/audit', v.rawPublicKey).toString('hex')}+${Buffer.concat([Buffer.from([1]), v.rawPublicKey]).toString('base64')}`);
    expect(parseVerifier(v.text).rawPublicKey).toEqual(v.rawPublicKey);
    expect(() => parseVerifier(v.text.replace(/\+[0-9a-f]{8}\+/, '+00000000+'))).toThrow(/key ID/);
  });

  it('signs a checkpoint (origin, size, base64 root) that opens under its key, and refuses one whose size or root was changed', () => {
    const signer = signerFromSeed('rollcall.test/audit', generateSeed());
    const root = Buffer.alloc(32, 0xab);
    const note = signer.sign(checkpointText({ origin: 'rollcall.test/audit', size: 42, root }));
    expect(note.startsWith(`rollcall.test/audit\n42\n${root.toString('base64')}\n\n\u2014 rollcall.test/audit `)).toBe(true);
    expect(openCheckpoint(note, signer.verifier)).toEqual({ origin: 'rollcall.test/audit', size: 42, root, extensions: [] });
    expect(() => openCheckpoint(note.replace('\n42\n', '\n43\n'), signer.verifier)).toThrow(/does not verify/);
    const otherRoot = Buffer.alloc(32, 0xac).toString('base64');
    expect(() => openCheckpoint(note.replace(root.toString('base64'), otherRoot), signer.verifier)).toThrow(/does not verify/);
    const stranger = signerFromSeed('rollcall.test/audit', generateSeed());
    // which key signed it and which is trusted, by key id: a re-keyed log reads as such (probe 44 F2)
    expect(() => openCheckpoint(note, stranger.verifier)).toThrow(
      `The note is not signed by a known key: it is signed by rollcall.test/audit (key id ${signer.verifier.keyId.toString('hex')}), the key trusted is rollcall.test/audit (key id ${stranger.verifier.keyId.toString('hex')})`,
    );
  });

  it('parses checkpoint bodies strictly', () => {
    const root = Buffer.alloc(32, 1).toString('base64');
    expect(parseCheckpointText(`o\n0\n${root}\n`).size).toBe(0);
    expect(() => parseCheckpointText(`o\n01\n${root}\n`)).toThrow(/size/);
    expect(() => parseCheckpointText(`o\n1\n${root}`)).toThrow();
    expect(() => parseCheckpointText(`o\n1\nAAAA\n`)).toThrow(/root/);
  });
});
