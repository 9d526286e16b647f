import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { LogPositionDigits, WholeNumber, WithinLogPositions } from '../shared/http/dtos';
import { IsInt, IsOptional, Matches, Max, Min } from 'class-validator';

const MAX_SIZE = Number.MAX_SAFE_INTEGER;

export class InclusionQuery {
  @ApiProperty({ description: 'the global log position of the event (a permission-history entry carries it as `position`)', example: '1042' })
  @LogPositionDigits()
  @Matches(/^[1-9]\d*$/, { message: 'must be a log position (a positive integer)' })
  @WithinLogPositions()
  position!: string;

  @ApiPropertyOptional({ description: 'the tree size to prove against; default: the latest signed checkpoint', minimum: 1 })
  @IsOptional()
  @WholeNumber()
  @IsInt()
  @Min(1)
  @Max(MAX_SIZE)
  treeSize?: number;
}

export class ConsistencyQuery {
  @ApiProperty({ description: 'the earlier tree size (a checkpoint the auditor kept)', minimum: 1 })
  @WholeNumber()
  @IsInt()
  @Min(1)
  @Max(MAX_SIZE)
  from!: number;

  @ApiPropertyOptional({ description: 'the later tree size; default: the latest signed checkpoint', minimum: 1 })
  @IsOptional()
  @WholeNumber()
  @IsInt()
  @Min(1)
  @Max(MAX_SIZE)
  to?: number;
}

/** An RFC 9162 inclusion proof for one log entry. Hashes and bytes are base64. */
export class InclusionProof {
  @ApiProperty({ description: '0-based index of the entry in the tree (its place in the log)', example: 41 })
  leafIndex!: number;
  @ApiProperty({ description: 'the tree size the proof is for', example: 1200 })
  treeSize!: number;
  @ApiProperty({ description: 'the log position of the event', example: '1042' })
  position!: string;
  @ApiProperty({ description: 'base64 SHA-256(0x00 || entry)' })
  leafHash!: string;
  @ApiProperty({ description: "base64 of the entry's canonical bytes (RFC 8785 JSON of the stored record, personal fields encrypted): recompute leafHash from it" })
  entry!: string;
  @ApiProperty({ type: [String], description: 'the audit path (RFC 9162 §2.1.3.1), base64, leaf side first' })
  hashes!: string[];
  @ApiProperty({ description: 'base64 root hash of the tree of treeSize leaves' })
  rootHash!: string;
  @ApiPropertyOptional({ description: 'the signed checkpoint (C2SP signed note) of treeSize, when one was signed at that size' })
  checkpoint?: string;
}

/** An RFC 9162 consistency proof between two tree sizes. */
export class ConsistencyProof {
  @ApiProperty({ example: 1000 }) from!: number;
  @ApiProperty({ example: 1200 }) to!: number;
  @ApiProperty({ type: [String], description: 'the consistency path (RFC 9162 §2.1.4.1), base64' })
  hashes!: string[];
  @ApiProperty({ description: 'base64 root of the tree of `from` leaves (check it against your checkpoint)' })
  fromRoot!: string;
  @ApiProperty({ description: 'base64 root of the tree of `to` leaves' })
  toRoot!: string;
  @ApiPropertyOptional({ description: 'the signed checkpoint of `to`, when one was signed at that size' })
  checkpoint?: string;
}
