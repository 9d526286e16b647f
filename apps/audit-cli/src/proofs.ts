// class-transformer's @Type reads the property types Nest's apps get from reflect-metadata: this CLI loads no Nest
import 'reflect-metadata';
import { leafHash, openCheckpoint, parseEntry, verifyInclusion } from '@rollcall/audit';
import { Type, plainToInstance } from 'class-transformer';
import { IsArray, IsBase64, IsIn, IsInt, IsString, Matches, Min, ValidateNested, validateSync } from 'class-validator';
import { fieldErrors } from '../../api/src/shared/http/field-errors';
import { loadVerifier } from './verify';

/** What `prove` writes and `check-proof` reads: an inclusion proof with the checkpoint it is checked against. */
export interface ProofBundle {
  format: 'rollcall-inclusion-proof/v1';
  /**
   * the notary's verifier key as the API gave it: for the reader's information only. `check-proof` checks against the
   * key the auditor trusts (--public-key): whoever wrote the file could sign a checkpoint of their own under a key of
   * their own and put that key here.
   */
  verifierKey: string;
  /** the signed checkpoint of proof.treeSize */
  checkpoint: string;
  proof: { leafIndex: number; treeSize: number; position: string; leafHash: string; entry: string; hashes: string[] };
}

// The file's shape, checked before anything is computed from it: a hand-edited or truncated proof fails the check
// naming the field, never with a stack trace (docs/adr/0007 point 6).
class InclusionProofShape {
  @IsInt() @Min(0) leafIndex!: number;
  @IsInt() @Min(1) treeSize!: number;
  @IsString() @Matches(/^\d{1,19}$/, { message: 'position must be a position as text, e.g. "42"' }) position!: string;
  @IsBase64() leafHash!: string;
  @IsBase64() entry!: string;
  @IsArray() @IsBase64({}, { each: true }) hashes!: string[];
}

class ProofBundleShape {
  @IsIn(['rollcall-inclusion-proof/v1']) format!: string;
  @IsString() checkpoint!: string;
  @ValidateNested() @Type(() => InclusionProofShape) proof!: InclusionProofShape;
}


export interface ProofCheck {
  ok: boolean;
  problems: string[];
  position?: string;
  leafIndex?: number;
  treeSize?: number;
  origin?: string;
  event?: { id: string; stream: string; type: string; revision: string; created: string };
}

/**
 * Checks a proof bundle offline: the checkpoint's signature under `publicKey` (the key the auditor trusts, never the
 * file's own), the entry's leaf hash, the audit path to the root.
 */
export function checkProof(file: unknown, publicKey: string): ProofCheck {
  const problems: string[] = [];
  if ((file as ProofBundle | null)?.format !== 'rollcall-inclusion-proof/v1') return { ok: false, problems: ['not a rollcall-inclusion-proof/v1 file'] };
  const broken = fieldErrors(validateSync(plainToInstance(ProofBundleShape, file), { forbidUnknownValues: false }));
  if (broken.length > 0) return { ok: false, problems: broken.map((p) => `not a proof as 'prove' writes it: ${p.field}: ${p.message}`) };
  const bundle = file as ProofBundle;
  const { proof } = bundle;
  let checkpoint;
  try {
    checkpoint = openCheckpoint(bundle.checkpoint, loadVerifier(publicKey));
  } catch (error) {
    return { ok: false, problems: [`the checkpoint does not verify: ${(error as Error).message}`] };
  }
  const entry = Buffer.from(proof.entry, 'base64');
  const leaf = leafHash(entry);
  if (checkpoint.size !== proof.treeSize) problems.push(`the proof is for a tree of ${proof.treeSize}, the checkpoint is of ${checkpoint.size}`);
  const hashes = proof.hashes.map((h) => Buffer.from(h, 'base64'));
  const leads = (from: Buffer) => verifyInclusion(proof.leafIndex, checkpoint.size, from, hashes, checkpoint.root);
  if (leaf.toString('base64') !== proof.leafHash)
    // which of the two is off (probe 115 F2: "the audit path does not lead to the root" pointed away from an altered
    // entry): the path from the leaf hash given reaching the signed root means the tree is sound and the entry is not it
    problems.push(
      leads(Buffer.from(proof.leafHash, 'base64'))
        ? 'the entry does not hash to the leaf hash, whose audit path does lead to the checkpoint\'s root: the entry is not the one notarized (altered after it was notarized)'
        : 'the entry does not hash to the leaf hash',
    );
  if (!leads(leaf)) problems.push("the audit path does not lead to the checkpoint's root from the entry's hash");
  let event: ProofCheck['event'];
  try {
    const parsed = parseEntry(entry);
    event = { id: parsed.id, stream: parsed.stream, type: parsed.type, revision: parsed.revision, created: parsed.created };
    if (parsed.position !== proof.position) problems.push(`the entry is at position ${parsed.position}, not ${proof.position}`);
  } catch {
    problems.push('the entry is not a canonical JSON record');
  }
  return { ok: problems.length === 0, problems, position: proof.position, leafIndex: proof.leafIndex, treeSize: proof.treeSize, origin: checkpoint.origin, event };
}
