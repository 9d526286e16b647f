import { ApiProperty } from '@nestjs/swagger';

/**
 * How much of a quota is used (docs/rules.md "Quotas"; ADR 0030), beside the list it bounds: a console can say "998 of
 * 1,000 workspaces" before the next creation is refused with QUOTA_EXCEEDED.
 */
export class QuotaUse {
  @ApiProperty({ type: 'integer', description: 'how many the organization (workspaces, API keys) or the workspace (teams) holds now, as its decision state says: current at once', example: 12 })
  used!: number;
  @ApiProperty({ type: 'integer', description: "the most it may hold: the operator's setting", example: 1000 })
  limit!: number;
}
